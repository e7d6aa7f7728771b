"""Rejected events are never served as room state: GET /state,
/state/{type}/{key} and /members leave them out, however they were stored
(issue 11, item 12: "GET /rooms/{roomId}/state serves rejected events")."""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.events.model import EventTypes
from tests.federation.receiving_helpers import join_remote_room, receiving, use_remote
from tests.federation.remote_room import REMOTE, RemoteRoom
from tests.support import User
from tests.support.server import TEST_SIGNING_KEY, TestServer

ALICE = f"@alice:{REMOTE}"
CAROL = f"@carol:{REMOTE}"
DAVE = f"@dave:{REMOTE}"


@pytest.fixture
def room(server: TestServer) -> RemoteRoom:
    remote_room = RemoteRoom({"test": TEST_SIGNING_KEY})
    use_remote(server, remote_room)
    return remote_room


def _receive(server: TestServer, pdu: dict) -> None:  # type: ignore[type-arg]
    server.get_success(receiving(server).on_receive_pdu(REMOTE, pdu))


def _rejected(server: TestServer, event_id: str) -> bool:
    stored = server.get_success(server.hs.core.events.get_event(event_id))
    return stored is not None and stored.rejected_reason is not None


def _served_ids(bob: User, room_id: str) -> set[str]:
    state = bob.get(f"/rooms/{room_id}/state", expect=200).json
    members = bob.get(f"/rooms/{room_id}/members", expect=200).json["chunk"]
    return {e["event_id"] for e in state} | {e["event_id"] for e in members}


def test_rejected_state_event_is_not_served(
    server: TestServer, room: RemoteRoom
) -> None:
    bob = join_remote_room(server, room)
    # carol never joined: her topic and her member event for dave fail auth.
    topic = room.send(EventTypes.TOPIC, CAROL, {"topic": "forged"}, "")
    _receive(server, room.pdu(topic))
    assert _rejected(server, topic.event_id)
    invite = room.send(EventTypes.MEMBER, CAROL, {"membership": "invite"}, DAVE)
    _receive(server, room.pdu(invite))
    assert _rejected(server, invite.event_id)
    served = _served_ids(bob, room.room_id)
    assert topic.event_id not in served and invite.event_id not in served
    bob.get(f"/rooms/{room.room_id}/state/m.room.topic/", expect=404)
    bob.get(f"/rooms/{room.room_id}/state/m.room.member/{DAVE}", expect=404)


def test_state_after_a_rejected_event_leaves_it_out(
    server: TestServer, room: RemoteRoom
) -> None:
    """A later event whose prev event is the rejected one: the state after a
    rejected event is the state before it, so it never becomes current."""
    bob = join_remote_room(server, room)
    name = room.send(EventTypes.NAME, CAROL, {"name": "forged"}, "")
    _receive(server, room.pdu(name))
    assert _rejected(server, name.event_id)
    after = room.send(
        "m.room.message",
        ALICE,
        {"msgtype": "m.text", "body": "hi"},
        prevs=[name.event_id],
        state_before={k: v for k, v in room.state.items() if v != name.event_id},
    )
    _receive(server, room.pdu(after))
    assert not _rejected(server, after.event_id)
    assert name.event_id not in _served_ids(bob, room.room_id)
    bob.get(f"/rooms/{room.room_id}/state/m.room.name/", expect=404)
    ids = [e["event_id"] for e in bob.timeline(room.room_id)]
    assert after.event_id in ids and name.event_id not in ids


def test_rejected_event_in_a_remote_state_is_not_served(
    server: TestServer, room: RemoteRoom
) -> None:
    """A gap filled from another server's /state_ids, whose answer holds an
    event that fails auth: it is stored rejected and never served."""
    remote = use_remote(server, room)
    bob = join_remote_room(server, room)
    forged = room.send(EventTypes.TOPIC, CAROL, {"topic": "forged"}, "")
    middle = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "m"})
    last = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "end"})
    remote.withheld = {forged.event_id, middle.event_id}
    _receive(server, room.pdu(last))
    assert server.get_success(server.hs.core.events.get_event(last.event_id))
    served = _served_ids(bob, room.room_id)
    assert forged.event_id not in served
    bob.get(f"/rooms/{room.room_id}/state/m.room.topic/", expect=404)


def test_state_pointing_at_a_rejected_event_does_not_serve_it(
    server: TestServer, room: RemoteRoom
) -> None:
    """Whatever the state tables hold, a rejected event is never served:
    a state event marked rejected after it became current (as an outlier
    can be) drops out of /state, /state/{type}/{key}, /members and
    /joined_members."""
    bob = join_remote_room(server, room)
    topic = room.send(EventTypes.TOPIC, ALICE, {"topic": "accepted"}, "")
    _receive(server, room.pdu(topic))
    carol_join = room.send(EventTypes.MEMBER, CAROL, {"membership": "join"}, CAROL)
    _receive(server, room.pdu(carol_join))
    assert {topic.event_id, carol_join.event_id} <= _served_ids(bob, room.room_id)

    def mark_rejected(txn: Any) -> None:
        txn.execute(
            "UPDATE events SET rejected_reason = ? WHERE event_id IN (?, ?)",
            ("auth error", topic.event_id, carol_join.event_id),
        )

    server.get_success(server.hs.core.db.run_interaction("reject", mark_rejected))
    for event_id in (topic.event_id, carol_join.event_id):
        server.hs.core.events.invalidate(event_id)
    served = _served_ids(bob, room.room_id)
    assert topic.event_id not in served and carol_join.event_id not in served
    bob.get(f"/rooms/{room.room_id}/state/m.room.topic/", expect=404)
    joined = bob.get(f"/rooms/{room.room_id}/joined_members", expect=200).json
    assert CAROL not in joined["joined"]
