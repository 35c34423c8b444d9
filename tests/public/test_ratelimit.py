"""The public rate limit: per client address, 429 with Retry-After, in memory or shared through Redis."""

import asyncio
import os
import uuid

import pytest

from app import ratelimit
from app.kit.ratelimit import MemoryLimiter, RedisLimiter

REDIS_URL = os.environ.get("REGISTRY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def limit_of_three():
    ratelimit.use_limiter(MemoryLimiter(limit=3, window=60))
    yield
    ratelimit.use_limiter(None)


PUBLIC_PATHS = [
    "/v1/public/search?q=星辰科技",
    "/v1/public/subjects/91110000000000001H",
    "/",
    "/progress",
]


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_past_the_limit_answers_429_with_retry_after(http, limit_of_three, path):
    for _ in range(3):
        assert http.get(path).status_code != 429
    refused = http.get(path)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    if path.startswith("/v1/"):
        assert refused.json()["error"] == "rate_limited"
    else:
        assert "访问过于频繁" in refused.text


def test_each_address_has_its_own_budget():
    clock = [1000.0]
    limiter = MemoryLimiter(limit=2, window=60, clock=lambda: clock[0])
    assert [limiter.hit_now("a") for _ in range(3)] == [None, None, 20]
    assert limiter.hit_now("b") is None
    clock[0] = 1020.0  # the next window
    assert limiter.hit_now("a") is None


def test_closed_routes_are_not_counted(http, limit_of_three, police):
    for _ in range(5):
        assert http.get("/v1/domains").status_code == 200


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable under CI")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable")


def test_redis_shares_one_budget_between_processes():
    _redis_or_skip()
    key = f"test-{uuid.uuid4()}"

    async def scenario() -> list[int | None]:
        # Two limiters stand for two API processes: the third request overall is refused.
        first, second = RedisLimiter(REDIS_URL, 2, 60), RedisLimiter(REDIS_URL, 2, 60)
        return [await first.hit(key), await second.hit(key), await first.hit(key)]

    outcome = asyncio.run(scenario())
    assert outcome[:2] == [None, None]
    assert outcome[2] is not None and 1 <= outcome[2] <= 61


def test_redis_limit_through_the_api(http):
    _redis_or_skip()
    # A key space of its own: another test run may share the Redis server.
    ratelimit.use_limiter(RedisLimiter(REDIS_URL, 2, 60, prefix=f"test:{uuid.uuid4()}"))
    try:
        answers = [http.get("/v1/public/search?q=星辰科技").status_code for _ in range(3)]
        assert answers[:2] == [200, 200] and answers[2] == 429
    finally:
        ratelimit.use_limiter(None)


def test_redis_down_falls_back_to_counting_in_the_process():
    limiter = RedisLimiter("redis://127.0.0.1:1/0", 1, 60)

    async def scenario() -> list[int | None]:
        return [await limiter.hit("x"), await limiter.hit("x")]

    first, second = asyncio.run(scenario())
    assert first is None and second is not None


def test_the_public_case_routes_share_the_budget(http, limit_of_three):
    for _ in range(3):
        assert http.get("/v1/public/repairs/AAAA-BBBB-CCCC-DDDD").status_code == 404
    refused = http.post("/v1/public/objections", json={})
    assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
