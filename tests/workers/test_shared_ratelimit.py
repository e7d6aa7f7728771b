"""One rate-limit bucket per user for the whole deployment: messages a user
sends through two client readers (and main) count into one bucket in Redis
(homeserver/workers/redis_ratelimit.py), so the user gets the configured
burst once, not once per process.

A real deployment (tests/support/deployment.py: main and two client readers
over PostgreSQL) on a Redis of its own (tests/support/private_redis.py),
with ``rate_limiting.message`` at a burst of 4 and almost no refill.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.interop.client import Client, HttpError
from tests.support.deployment import Deployment, running_deployment
from tests.support.private_redis import PrivateRedis

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("deployment")]

BURST = 4
# One token every 1,000 s: nothing refills during the test.
MESSAGE_LIMIT = {"per_second": 0.001, "burst_count": BURST}
READERS = (("reader1", "client_reader"), ("reader2", "client_reader"))


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: PrivateRedis,
) -> Iterator[Deployment]:
    base = tmp_path_factory.mktemp("workers-ratelimit")
    with running_deployment(
        request,
        base,
        redis_url=redis_server.url,
        instances=READERS,
        rate_limiting={"enabled": True, "message": MESSAGE_LIMIT},
    ) as running:
        yield running


def test_one_bucket_across_readers(
    deployment: Deployment, redis_server: PrivateRedis
) -> None:
    alice = deployment.register("alice", via="main")
    room = alice.create_room()
    # The same user (alice) through each reader, once each has the room.
    via = {
        name: Client(deployment.url(name), alice.user_id, alice.token, alice.device_id)
        for name in ("reader1", "reader2")
    }
    for client in via.values():
        client.wait_for_membership(room, alice.user_id, "join")
    # The burst, split over the readers: each reader alone is under it, so
    # per-process buckets would allow 2 * BURST here.
    for i in range(BURST):
        via["reader1" if i % 2 == 0 else "reader2"].send(room, f"message {i}")
    for name, client in (*via.items(), ("main", alice)):
        with pytest.raises(HttpError) as refused:
            client.send(room, f"one too many through {name}")
        assert refused.value.status == 429, name
        assert refused.value.errcode == "M_LIMIT_EXCEEDED"
        # The next token is about 1,000 s away.
        assert refused.value.body["retry_after_ms"] > 900_000, name
    # Another user has a bucket of their own.
    bob = deployment.register("bob", via="main")
    bob.send(bob.create_room(), "not limited")
    # The bucket lives in Redis under the deployment's prefix, and expires
    # when it would have drained (BURST actions at 0.001/s: 4,000 s).
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        key = f"{deployment.redis_prefix}:rl:message:{alice.user_id}"
        assert float(client.hget(key, "level") or 0) == pytest.approx(BURST, abs=0.01)
        assert 3_900_000 < client.pttl(key) <= 4_000_000
    finally:
        client.close()
