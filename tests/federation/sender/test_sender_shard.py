"""A federation sender that owns a shard of the destinations (a
``federation_sender`` worker, docs/scaling.md): it queues and sends only to
its own, hands EDUs for the others to their sender through its relay, and
keeps its own position."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from homeserver.federation.sender.shard import SenderShard
from homeserver.storage.stores.federation_outbox import FederationOutboxStore
from homeserver.types import JsonDict
from tests.federation.sending_helpers import (
    RecordingTransport,
    delivered_bodies,
    install_transport,
    public_room,
    remote_join,
    say,
)
from tests.support.server import TestServer


class RecordingRelay:
    """The relay port as the sender sees it: what it handed over."""

    def __init__(self) -> None:
        self.edus: list[tuple[list[str], str, JsonDict]] = []
        self.woken: list[list[str]] = []
        self.relayed: list[tuple[str, str]] = []
        self.alive_told: list[list[str]] = []

    def send_edu(
        self, destinations: Collection[str], edu_type: str, content: JsonDict
    ) -> None:
        self.edus.append((list(destinations), edu_type, content))

    def wake(self, destinations: Collection[str]) -> None:
        self.woken.append(list(destinations))

    def relay_event(self, event_id: str, origin: str) -> None:
        self.relayed.append((event_id, origin))

    def alive(self, destinations: Collection[str]) -> None:
        self.alive_told.append(list(destinations))


def _sharded(server: TestServer) -> tuple[RecordingTransport, RecordingRelay]:
    transport = install_transport(server)
    relay = RecordingRelay()
    server.hs.federation.sender.shard = SenderShard(
        owns=lambda d: d == "remote.one", relay=relay
    )
    return transport, relay


def _room(server: TestServer) -> tuple[str, str]:
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    remote_join(server, room_id, "@carol:remote.two")
    return token, room_id


def _pending_pdus(server: TestServer, destination: str) -> Any:
    return server.get_success(
        server.hs.federation.outbox.get_pending(destination, 50, 50)
    )[0]


def test_events_go_only_to_the_shards_destinations(server: TestServer) -> None:
    transport, _ = _sharded(server)
    transport.behaviour["remote.one"] = "down"
    token, room_id = _room(server)
    say(server, token, room_id, "hello")
    server.advance(0)
    assert [p for p in _pending_pdus(server, "remote.one")]
    # remote.two's sender queues its own rows: none are written here.
    assert _pending_pdus(server, "remote.two") == []
    transport.behaviour["remote.one"] = "ok"
    server.advance(60)
    assert delivered_bodies(transport, "remote.one") == ["hello"]
    assert transport.transactions("remote.two") == []


def test_edus_for_other_shards_are_handed_to_their_sender(server: TestServer) -> None:
    transport, relay = _sharded(server)
    token, room_id = _room(server)
    path = f"/_matrix/client/v3/rooms/{room_id}/typing/@alice:test"
    assert server.request("PUT", path, {"typing": True}, token).code == 200
    server.advance(0)
    typing = {"room_id": room_id, "user_id": "@alice:test", "typing": True}
    assert transport.edus("remote.one", "m.typing") == [typing]
    assert (["remote.two"], "m.typing", typing) in relay.edus
    assert transport.edus("remote.two", "m.typing") == []


def test_persistent_edus_are_stored_for_all_and_other_senders_woken(
    server: TestServer,
) -> None:
    transport, relay = _sharded(server)
    token, _ = _room(server)
    body = {
        "messages": {
            "@bob:remote.one": {"B": {"n": 1}},
            "@carol:remote.two": {"C": {"n": 2}},
        }
    }
    path = "/_matrix/client/v3/sendToDevice/m.test/txn1"
    assert server.request("PUT", path, body, token).code == 200
    server.advance(0)
    assert len(transport.edus("remote.one", "m.direct_to_device")) == 1
    assert ["remote.two"] in relay.woken
    # Stored for remote.two: its sender reads it from the database.
    edus = server.get_success(
        server.hs.federation.outbox.get_pending("remote.two", 50, 50)
    )[1]
    assert [e.edu_type for e in edus] == ["m.direct_to_device"]


def test_each_shard_keeps_its_own_position(server: TestServer, tmp_path: Path) -> None:
    outbox = server.hs.federation.outbox
    single = server.get_success(outbox.get_position())
    assert single is not None
    shard = FederationOutboxStore(server.db, outbox.edu_ids, position_key="events@s1")
    # No row of its own yet: it starts where the single sender was.
    assert server.get_success(shard.get_position()) == single
    server.get_success(shard.queue_pdus([], single + 5))
    assert server.get_success(shard.get_position()) == single + 5
    assert server.get_success(outbox.get_position()) == single


def test_a_remote_join_persisted_elsewhere_is_seen_from_the_batch(
    server: TestServer,
) -> None:
    """An event persister worker persists the remote join: this sender never
    hears ``event_persisted`` and learns of the remote member from the
    events it reads."""
    transport = install_transport(server)
    sender = server.hs.federation.sender
    _, token = server.register("alice")
    room_id = public_room(server, token)
    say(server, token, room_id, "alone")
    server.advance(0)
    assert room_id in sender._local_rooms
    server.hs.core.signals.event_persisted.disconnect(sender.on_persisted)
    remote_join(server, room_id, "@bob:remote.one")
    say(server, token, room_id, "company")
    # What replication does when the events position moves.
    sender.notify_new_events()
    server.advance(0)
    assert delivered_bodies(transport, "remote.one") == ["company"]


def test_another_shards_destination_talking_to_us_is_told_once_a_minute(
    server: TestServer,
) -> None:
    _, relay = _sharded(server)
    sender = server.hs.federation.sender
    for _ in range(3):
        sender.destination_is_alive("remote.two")
    server.advance(61)
    sender.destination_is_alive("remote.two")
    assert relay.alive_told == [["remote.two"], ["remote.two"]]
    sender.destination_is_alive("remote.one")  # ours: handled here
    assert "remote.one" not in sender.queues
