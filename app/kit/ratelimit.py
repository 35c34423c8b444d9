"""A rate limit per client address on the public query and pages, so that nobody scrapes the registry.

Fixed windows: at most `limit` hits per key per `window` seconds; past it the seconds until the
window ends. Counted in the process, or in Redis so that every API process shares one budget; if
Redis stops answering, each process falls back to its own count rather than refusing the public.
The public routes' dependency, configured from the settings, is app.ratelimit.
"""

import asyncio
import logging
import math
import threading
import time
import weakref
from typing import Any, Protocol

log = logging.getLogger("registry.ratelimit")


class Limiter(Protocol):
    async def hit(self, key: str) -> int | None:
        """Count one request; None when allowed, else the seconds to wait."""
        ...


class MemoryLimiter:
    def __init__(self, limit: int, window: int, clock: Any = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (window number, count)
        self._lock = threading.Lock()
        self._last_purge = 0

    async def hit(self, key: str) -> int | None:
        return self.hit_now(key)

    def hit_now(self, key: str) -> int | None:
        now = self.clock()
        current = int(now // self.window)
        with self._lock:
            if current != self._last_purge:  # forget finished windows once per window
                self._counts = {k: v for k, v in self._counts.items() if v[0] == current}
                self._last_purge = current
            window, count = self._counts.get(key, (current, 0))
            if window != current:
                count = 0
            count += 1
            self._counts[key] = (current, count)
        if count <= self.limit:
            return None
        return max(1, math.ceil((current + 1) * self.window - now))


class RedisLimiter:
    def __init__(self, url: str, limit: int, window: int, prefix: str = "registry:ratelimit") -> None:
        self.url, self.limit, self.window, self.prefix = url, limit, window, prefix
        self.fallback = MemoryLimiter(limit, window)
        # redis.asyncio clients belong to the event loop that made them.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    def _client(self) -> Any:
        import redis.asyncio as redis

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = redis.Redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5)
            self._clients[loop] = client
        return client

    async def hit(self, key: str) -> int | None:
        window = int(time.time() // self.window)
        redis_key = f"{self.prefix}:{window}:{key}"
        try:
            pipe = self._client().pipeline(transaction=False)
            pipe.incr(redis_key)
            pipe.expire(redis_key, self.window + 1, nx=True)
            pipe.ttl(redis_key)
            count, _, ttl = await pipe.execute()
        except Exception as exc:  # Redis down: count in this process instead of failing the request
            log.warning("rate limit: Redis unavailable (%s); counting in this process", type(exc).__name__)
            return await self.fallback.hit(key)
        if int(count) <= self.limit:
            return None
        return max(1, int(ttl) if int(ttl) > 0 else self.window)
