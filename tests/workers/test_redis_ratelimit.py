"""RedisRatelimiter (homeserver/workers/redis_ratelimit.py) against a real
redis-server of the test's own (tests/support/private_redis.py): the same
token bucket as the in-memory one, shared by every limiter on the same
prefix, on Redis's clock; buckets expire once drained; checks fail open
while Redis is down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from prometheus_client import REGISTRY
from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure

from homeserver.config.model import RateLimit
from homeserver.errors import LimitExceeded
from homeserver.storage.database import inline_runner
from homeserver.util.clock import Clock
from homeserver.util.ratelimit import MemoryRatelimiter, Ratelimiter
from homeserver.workers.redis_ratelimit import RETRY_AFTER, RedisRatelimiter
from tests.support.private_redis import PrivateRedis, running_private_redis

PREFIX = "rltest"
SLOW = RateLimit(per_second=0.001, burst_count=3)
"""Refills 1 token in 1,000 s: nothing drains during a test."""


@pytest.fixture
def client(redis_server: PrivateRedis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()  # the test's own server: nothing else lives there
    yield client
    client.close()


def limiter(server: PrivateRedis, reactor: Any = None) -> RedisRatelimiter:
    return RedisRatelimiter(
        url=server.url,
        prefix=PREFIX,
        runner=inline_runner,
        clock=Clock(reactor or MemoryReactorClock()),
        client_name="rltest",
    )


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that completes at once (the inline runner)."""
    results: list[Any] = []
    defer.ensureDeferred(coro).addBoth(results.append)
    assert results, "did not complete"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


def refused_after(
    rl: Ratelimiter, action: str, key: str, rate: RateLimit
) -> tuple[int, int]:
    """How many checks pass before the first 429, and its retry_after_ms."""
    for passed in range(100):
        try:
            run(rl.check(action, key, rate))
        except LimitExceeded as exc:
            assert exc.code == 429 and exc.errcode == "M_LIMIT_EXCEEDED"
            return passed, int(exc.additional["retry_after_ms"])
    raise AssertionError("never refused")


def test_burst_then_429_with_retry_after(
    redis_server: PrivateRedis, client: redis.Redis
) -> None:
    passed, retry_ms = refused_after(limiter(redis_server), "message", "@a:hs", SLOW)
    assert passed == SLOW.burst_count
    # One more action needs one token: 1,000 s at 0.001/s (less the few
    # milliseconds the test took), rounded up past the instant.
    assert 999_000 < retry_ms <= 1_000_001
    # The in-memory limiter gives the same answer.
    reactor = MemoryReactorClock()
    memory = MemoryRatelimiter(Clock(reactor))
    assert refused_after(memory, "m", "k", SLOW) == (SLOW.burst_count, 1_000_001)


def test_keys_are_separate_and_cost_counts(
    redis_server: PrivateRedis, client: redis.Redis
) -> None:
    rl = limiter(redis_server)
    run(rl.check("message", "@a:hs", SLOW, cost=3))
    with pytest.raises(LimitExceeded):
        run(rl.check("message", "@a:hs", SLOW))
    # Another user, another action: buckets of their own.
    run(rl.check("message", "@b:hs", SLOW, cost=3))
    run(rl.check("joins_local", "@a:hs", SLOW))
    # A cost past what is left is refused and not counted.
    with pytest.raises(LimitExceeded):
        run(rl.check("joins_local", "@a:hs", SLOW, cost=3))
    run(rl.check("joins_local", "@a:hs", SLOW, cost=2))


def test_one_bucket_for_every_process(
    redis_server: PrivateRedis, client: redis.Redis
) -> None:
    """Two limiters (two processes) on one prefix count into one bucket."""
    first, second = limiter(redis_server), limiter(redis_server)
    run(first.check("message", "@a:hs", SLOW))
    run(second.check("message", "@a:hs", SLOW))
    run(first.check("message", "@a:hs", SLOW))
    with pytest.raises(LimitExceeded):
        run(second.check("message", "@a:hs", SLOW))
    assert client.keys("*") == [f"{PREFIX}:rl:message:@a:hs"]


def test_refills_over_time(redis_server: PrivateRedis, client: redis.Redis) -> None:
    """On Redis's clock: 20 actions a second, so one token every 50 ms."""
    rl, rate = limiter(redis_server), RateLimit(per_second=20, burst_count=2)
    run(rl.check("message", "@a:hs", rate))
    run(rl.check("message", "@a:hs", rate))
    with pytest.raises(LimitExceeded) as refused:
        run(rl.check("message", "@a:hs", rate))
    assert 1 <= refused.value.additional["retry_after_ms"] <= 51
    time.sleep(0.06)
    run(rl.check("message", "@a:hs", rate))
    with pytest.raises(LimitExceeded):
        run(rl.check("message", "@a:hs", rate))
    time.sleep(0.11)  # two tokens back
    run(rl.check("message", "@a:hs", rate))
    run(rl.check("message", "@a:hs", rate))


def test_ask_does_not_count_and_record_never_refuses(
    redis_server: PrivateRedis, client: redis.Redis
) -> None:
    rl = limiter(redis_server)
    for _ in range(5):
        run(rl.check("login_failed", "@a:hs", SLOW, update=False))
    assert client.keys("*") == []
    for _ in range(4):
        run(rl.record("login_failed", "@a:hs", SLOW))  # past the burst
    with pytest.raises(LimitExceeded) as refused:
        run(rl.check("login_failed", "@a:hs", SLOW, update=False))
    # Four counted, the burst is three: two tokens to wait for.
    assert 1_999_000 < refused.value.additional["retry_after_ms"] <= 2_000_001


def test_buckets_expire_when_drained(
    redis_server: PrivateRedis, client: redis.Redis
) -> None:
    rl = limiter(redis_server)
    run(rl.check("message", "@a:hs", SLOW, cost=2))
    key = f"{PREFIX}:rl:message:@a:hs"
    # Two actions at 0.001/s drain in 2,000 s.
    assert 1_999_000 < client.pttl(key) <= 2_000_000
    fast = RateLimit(per_second=20, burst_count=5)
    run(rl.check("message", "@b:hs", fast, cost=2))
    assert 0 < client.pttl(f"{PREFIX}:rl:message:@b:hs") <= 100
    time.sleep(0.15)
    assert client.keys("*") == [key]


def test_script_reloaded_after_flush(
    redis_server: PrivateRedis, client: redis.Redis
) -> None:
    """EVALSHA answered NOSCRIPT (a Redis restart, SCRIPT FLUSH): loaded again."""
    rl = limiter(redis_server)
    run(rl.check("message", "@a:hs", SLOW))
    client.script_flush()
    run(rl.check("message", "@a:hs", SLOW))
    run(rl.check("message", "@a:hs", SLOW))
    with pytest.raises(LimitExceeded):
        run(rl.check("message", "@a:hs", SLOW))


def unchecked() -> float:
    return REGISTRY.get_sample_value("homeserver_ratelimit_unchecked_total") or 0.0


def test_fails_open_while_redis_is_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running_private_redis(tmp_path / "redis") as server:
        reactor = MemoryReactorClock()
        rl = limiter(server, reactor)
        run(rl.check("message", "@a:hs", SLOW, cost=3))  # the bucket is full
        server.stop()
        before = unchecked()
        with caplog.at_level(logging.WARNING, "homeserver.workers.redis_ratelimit"):
            for _ in range(10):
                run(rl.check("message", "@a:hs", SLOW))  # allowed
                run(rl.record("login_failed", "@a:hs", SLOW))
                reactor.advance(RETRY_AFTER)  # Redis is asked again each time
        assert unchecked() - before == 20
        warnings = [r for r in caplog.records if "Redis cannot be reached" in r.message]
        assert len(warnings) == 1  # once a minute, not per request
        # Back (empty: no persistence): limiting resumes once the pause
        # after the last failure is over.
        server.start()
        reactor.advance(RETRY_AFTER)
        run(rl.check("message", "@a:hs", SLOW, cost=3))
        with pytest.raises(LimitExceeded):
            run(rl.check("message", "@a:hs", SLOW))


def test_disabled_never_asks_redis() -> None:
    rl = RedisRatelimiter(
        url="redis://127.0.0.1:1/0",
        prefix=PREFIX,
        runner=inline_runner,
        clock=Clock(MemoryReactorClock()),
        client_name="rltest",
        enabled=False,
    )
    before = unchecked()
    for _ in range(10):
        run(rl.check("message", "@a:hs", SLOW))
    assert unchecked() == before
