"""Failed client authentications at POST /v1/auth/token, throttled per client_id and per address.

Past FAILURES_PER_CLIENT wrong secrets for one client_id, or FAILURES_PER_ADDRESS failed attempts
from one address, within a window of WINDOW_SECONDS, every further attempt of that client or from
that address is answered 429 with Retry-After — the right secret too, so that guessing on is useless
— until the window ends. Only failures count: a client that authenticates correctly is never slowed
down, and a lock lasts at most one window after the failures stop. Tokens already issued keep working.

Failures are counted with the public rate limit's limiters (app.kit.ratelimit): in Redis when
REGISTRY_REDIS_URL is set, so that every process shares the count, else in each process. Each process
remembers the locks it has seen; another process learns of a lock at its next failure.
"""

import math
import threading
import time
from collections.abc import Callable
from functools import lru_cache

from app.config import get_settings
from app.errors import RateLimited
from app.kit.ratelimit import Limiter, MemoryLimiter, RedisLimiter

FAILURES_PER_CLIENT = 10
FAILURES_PER_ADDRESS = 20
WINDOW_SECONDS = 60
_LOCKS_MAX = 100_000


class FailureThrottle:
    def __init__(
        self, by_client: Limiter, by_address: Limiter, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limiters = {"client": by_client, "address": by_address}
        self.clock = clock
        self._locked: dict[str, float] = {}  # "client:<id>" / "address:<host>" -> when the lock ends
        self._lock = threading.Lock()

    def check(self, client_id: str, address: str) -> None:
        """Raises RateLimited while the client or the address is locked."""
        now = self.clock()
        with self._lock:
            ends = [self._locked.get(key, 0.0) for key in _keys(client_id, address).values()]
        wait = max(ends) - now
        if wait > 0:
            raise _refusal(math.ceil(wait))

    async def failed(self, client_id: str, address: str) -> None:
        """Count a failed attempt; raises RateLimited when it crosses a limit."""
        waits = []
        for kind, key in _keys(client_id, address).items():
            wait = await self.limiters[kind].hit(key)
            if wait is not None:
                waits.append(wait)
                with self._lock:
                    if len(self._locked) >= _LOCKS_MAX:
                        now = self.clock()
                        self._locked = {k: end for k, end in self._locked.items() if end > now}
                    self._locked[key] = self.clock() + wait
        if waits:
            raise _refusal(max(waits))


def _keys(client_id: str, address: str) -> dict[str, str]:
    return {"client": f"client:{client_id}", "address": f"address:{address}"}


def _refusal(wait: int) -> RateLimited:
    return RateLimited(
        f"too many failed authentications for this client or from this address; try again in {wait} seconds",
        retry_after=wait,
    )


_override: FailureThrottle | None = None


def use_throttle(throttle: FailureThrottle | None) -> None:
    """Replace the throttle (tests); None goes back to the one the settings describe."""
    global _override
    _override = throttle


@lru_cache
def _configured() -> FailureThrottle:
    settings = get_settings()
    if settings.redis_url:
        prefix = "registry:auth-failures"
        return FailureThrottle(
            RedisLimiter(settings.redis_url, FAILURES_PER_CLIENT, WINDOW_SECONDS, prefix=prefix),
            RedisLimiter(settings.redis_url, FAILURES_PER_ADDRESS, WINDOW_SECONDS, prefix=prefix),
        )
    return FailureThrottle(
        MemoryLimiter(FAILURES_PER_CLIENT, WINDOW_SECONDS),
        MemoryLimiter(FAILURES_PER_ADDRESS, WINDOW_SECONDS),
    )


def throttle() -> FailureThrottle:
    return _override or _configured()


def forget() -> None:
    """Start counting afresh (tests: one test's failures do not throttle the next)."""
    _configured.cache_clear()
