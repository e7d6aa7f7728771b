"""Federation with a real Synapse through a worker deployment.

The deployment (tests/support/deployment.py) adds a federation reader to
main, two client readers, an event persister and a federation sender, and
serves federation through nginx over TLS (its server name is
``127.0.0.1:<nginx's TLS port>``). Synapse (tests/interop/synapse.py, from
PyPI) talks to it over loopback. Messages cross both ways; inbound
transactions must have reached the federation reader (its log) and outbound
ones must have left from the federation sender (its transaction counter),
never from main.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.client import Client, register
from tests.interop.rooms import room_joined_across
from tests.interop.synapse import Synapse, ensure_synapse
from tests.ports import free_port
from tests.support.deployment import (
    DEFAULT_INSTANCES,
    Deployment,
    request_text,
    running_deployment,
)
from tests.support.installs import installed_or_skip

pytestmark = [
    pytest.mark.integration,
    pytest.mark.interop,
    pytest.mark.xdist_group("deployment"),
    pytest.mark.timeout(900),
]

SENT = "homeserver_federation_transactions_total"
INBOUND_SEND = r"PUT /_matrix/federation/v1/send/"


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    python = installed_or_skip("Synapse", ensure_synapse)
    base = tmp_path_factory.mktemp("synapse")
    server = Synapse(Path(python), base / "synapse", free_port(), free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    synapse: Synapse,
) -> Iterator[Deployment]:
    instances = (*DEFAULT_INSTANCES, ("fedreader1", "federation_reader"))
    with running_deployment(
        request,
        tmp_path_factory.mktemp("workers-fed"),
        instances=instances,
        federation=True,
    ) as running:
        yield running


def _sent_by(deployment: Deployment, name: str) -> float:
    """Transactions process ``name`` sent successfully."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in _metric_lines(deployment, name)
        if 'outcome="sent"' in line
    )


def _metric_lines(deployment: Deployment, name: str) -> list[str]:
    text = request_text(deployment.url(name) + "/metrics")
    return [line for line in text.splitlines() if line.startswith(SENT + "{")]


def test_messages_cross_both_ways_through_sender_and_reader(
    deployment: Deployment, synapse: Synapse
) -> None:
    ours: Client = deployment.register("alice")
    theirs = register(synapse.client_url, synapse.shared_secret, "bob")
    room_id = room_joined_across(theirs, synapse.server_name, ours, name="Mixed")

    from_theirs = theirs.send(room_id, "hello from Synapse")
    seen = ours.wait_for_event_id(room_id, from_theirs)
    assert seen["content"]["body"] == "hello from Synapse"
    from_ours = ours.send(room_id, "hello from the workers")
    seen = theirs.wait_for_event_id(room_id, from_ours)
    assert seen["content"]["body"] == "hello from the workers"

    # Inbound transactions went to the federation reader, not to main.
    assert re.search(INBOUND_SEND, deployment.log_of("fedreader1"))
    assert not re.search(INBOUND_SEND, deployment.log_of("main"))
    # Outbound transactions left from the federation sender, not from main.
    assert _sent_by(deployment, "fedsender1") > 0
    assert _sent_by(deployment, "main") == 0
