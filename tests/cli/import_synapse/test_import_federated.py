"""``synctl import-synapse`` of a room Synapse joined over federation: its
state and auth chain came from another server (outliers), its events carry
that server's signatures; after the import the history is all there."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.import_synapse.test_import_e2e import synctl
from tests.interop.chatly import Chatly
from tests.interop.client import Client, register
from tests.interop.rooms import is_message, messages, room_joined_across
from tests.interop.synapse import Synapse, ensure_synapse
from tests.ports import free_port
from tests.support.installs import installed_or_skip

pytestmark = pytest.mark.integration


@pytest.fixture
def stopped() -> Iterator[list[object]]:
    """Servers to stop whatever happens."""
    servers: list[object] = []
    try:
        yield servers
    finally:
        for server in reversed(servers):
            with contextlib.suppress(Exception):
                server.stop()  # type: ignore[attr-defined]


def test_a_room_joined_over_federation(tmp_path: Path, stopped: list[object]) -> None:
    python = installed_or_skip("Synapse", ensure_synapse)
    synapse = Synapse(python, tmp_path / "synapse", free_port(), free_port())
    peer = Chatly(tmp_path / "peer", free_port(), free_port())
    stopped += [synapse, peer]
    synapse.start()
    peer.start()
    alice = register(synapse.client_url, synapse.shared_secret, "alice")
    dave = register(peer.client_url, peer.shared_secret, "dave")
    room_id = room_joined_across(dave, peer.server_name, alice, name="Elsewhere")
    dave.send(room_id, "hello from the peer")
    alice.wait_for_event(room_id, is_message("hello from the peer"), "dave's message")
    alice.send(room_id, "hello from synapse")
    dave.wait_for_event(room_id, is_message("hello from synapse"), "alice's message")
    before = [e["event_id"] for e in messages(alice, room_id)]
    synapse.stop()

    data = tmp_path / "chatly"
    port = free_port()
    init = synctl(
        "init",
        "--data-dir",
        str(data),
        "--server-name",
        synapse.server_name,
        "--http-port",
        str(port),
    )
    assert init.returncode == 0, init.stderr
    result = synctl(
        "import-synapse",
        "--data-dir",
        str(data),
        "--from-sqlite",
        str(synapse.data / "db"),
        "--signing-key",
        str(synapse.data / "signing.key"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-check passed" in result.stdout
    start = synctl("start", "--data-dir", str(data))
    stopped.append(_Stop(data))
    assert start.returncode == 0, start.stdout + start.stderr
    moved = Client(
        f"http://127.0.0.1:{port}", alice.user_id, alice.token, alice.device_id
    )
    moved.sync_once()
    assert room_id in moved.seen.joined
    assert [e["event_id"] for e in messages(moved, room_id)] == before
    state = moved.call("GET", f"/rooms/{room_id}/state/m.room.name")
    assert state == {"name": "Elsewhere"}


class _Stop:
    def __init__(self, data: Path) -> None:
        self.data = data

    def stop(self) -> None:
        synctl("stop", "--data-dir", str(self.data), "--timeout", "10")
