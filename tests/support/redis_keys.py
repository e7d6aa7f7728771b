"""The machine's Redis for tests: required in CI, skipped otherwise when
missing; each test gets key prefix of its own, and its keys are deleted.

``HS_TEST_REDIS`` names the server (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

REDIS_URL = os.environ.get("HS_TEST_REDIS", "redis://127.0.0.1:6379/0")


def require_redis() -> redis.Redis:
    """A client of the test Redis; fails the test in CI if it cannot be
    reached, skips it otherwise."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis at {REDIS_URL} cannot be reached: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return client


def unique_prefix() -> str:
    """A key prefix no other test uses."""
    return f"chatly-test-{uuid.uuid4().hex[:10]}"


def delete_prefixed(client: redis.Redis, prefix: str) -> None:
    """Delete every key under ``prefix``."""
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def redis_prefix() -> Iterator[tuple[redis.Redis, str]]:
    """(client, prefix): the test's Redis keys, deleted afterwards."""
    client = require_redis()
    prefix = unique_prefix()
    yield client, prefix
    delete_prefixed(client, prefix)
    client.close()
