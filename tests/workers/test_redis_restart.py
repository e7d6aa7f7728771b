"""Redis restarted under load: every process reconnects, resynchronises from
PostgreSQL what the lost streams held, and clients on every reader see every
acknowledged message exactly once.

The deployment (tests/support/deployment.py) runs on a Redis of its own
(tests/support/private_redis.py, no persistence: the restart loses every
stream entry), never the machine's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.support.deployment import Deployment, running_deployment
from tests.support.private_redis import PrivateRedis
from tests.workers.nio_kit import count_under_fault

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("deployment")]

LOAD = 150


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: PrivateRedis,
) -> Iterator[Deployment]:
    base = tmp_path_factory.mktemp("workers-redis")
    with running_deployment(request, base, redis_url=redis_server.url) as running:
        yield running


def test_redis_restart_loses_nothing(
    deployment: Deployment, redis_server: PrivateRedis
) -> None:
    def restart_redis() -> None:
        redis_server.restart(down_for=2.0)

    counts, sender = asyncio.run(count_under_fault(deployment, restart_redis, LOAD))
    print("redis restart:", counts, "sender retries", sender.retries)
    assert sender.failures == [] and len(sender.acked) == LOAD
    for name, count in counts.items():
        assert (name, count.lost, count.duplicated) == (name, 0, 0)
    # Every process is connected again and caught up.
    main = deployment.replication_status("main")
    for name, _ in deployment.instances:
        status = deployment.replication_status(name)
        assert status["redis"] == "connected", (name, status)
        assert status["positions"]["events"] == main["positions"]["events"]
