"""The public rate limit: a dependency of every public route and page, counted per client address
(app.kit.ratelimit's limiters, configured from the settings): past the budget, 429 with Retry-After.

With REGISTRY_REDIS_URL set, every API process shares one budget through Redis.
"""

from functools import lru_cache

from fastapi import Request

from app.config import get_settings
from app.errors import RateLimited
from app.kit.ratelimit import Limiter, MemoryLimiter, RedisLimiter

_override: Limiter | None = None


def use_limiter(limiter: Limiter | None) -> None:
    """Replace the limiter (tests); None goes back to the one the settings describe."""
    global _override
    _override = limiter


@lru_cache
def _configured() -> Limiter:
    settings = get_settings()
    if settings.redis_url:
        return RedisLimiter(
            settings.redis_url, settings.public_rate_limit, settings.public_rate_window_seconds
        )
    return MemoryLimiter(settings.public_rate_limit, settings.public_rate_window_seconds)


def limiter() -> Limiter:
    return _override or _configured()


async def rate_limited(request: Request) -> None:
    """Dependency of every public route: one request counted against the client's address."""
    address = request.client.host if request.client else "unknown"
    wait = await limiter().hit(address)
    if wait is not None:
        raise RateLimited(
            f"too many requests from this address; try again in {wait} seconds", retry_after=wait
        )
