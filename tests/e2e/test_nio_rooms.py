"""matrix-nio drives a room's life; every step is checked from the other side.

No /sync yet, so each side reads with /messages, /state, /event, /context and
/joined_members.
"""

from __future__ import annotations

import asyncio
from typing import Any

import nio
import pytest

from tests.e2e.conftest import RunningServer
from tests.e2e.nio_clients import registered_client

pytestmark = pytest.mark.integration


async def _latest(client: nio.AsyncClient, room_id: str, limit: int = 10) -> list[Any]:
    """The newest events, newest first."""
    resp = await client.room_messages(room_id, limit=limit)
    assert isinstance(resp, nio.RoomMessagesResponse), resp
    return list(resp.chunk)


def _texts(events: list[Any]) -> list[str]:
    return [e.body for e in events if isinstance(e, nio.RoomMessageText)]


async def _room_story(server: RunningServer) -> None:
    alice = await registered_client(server, "alice")
    bob = await registered_client(server, "bob")
    try:
        created = await alice.room_create(name="Tea room", topic="Oolong")
        assert isinstance(created, nio.RoomCreateResponse), created
        room_id = created.room_id

        # alice invites bob: bob cannot read yet (private room, shared history).
        invited = await alice.room_invite(room_id, bob.user_id)
        assert isinstance(invited, nio.RoomInviteResponse), invited
        early = await bob.room_messages(room_id)
        assert (
            isinstance(early, nio.RoomMessagesError)
            and early.status_code == "M_FORBIDDEN"
        )

        # bob joins: alice sees him among the joined members.
        joined = await bob.join(room_id)
        assert isinstance(joined, nio.JoinResponse), joined
        members = await alice.joined_members(room_id)
        assert isinstance(members, nio.JoinedMembersResponse), members
        assert {m.user_id for m in members.members} == {alice.user_id, bob.user_id}
        bob_state = await alice.room_get_state_event(
            room_id, "m.room.member", bob.user_id
        )
        assert isinstance(bob_state, nio.RoomGetStateEventResponse), bob_state
        assert bob_state.content["membership"] == "join"

        # They talk; each reads the other's words with /messages.
        hello = await alice.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "Hello Bob"}
        )
        assert isinstance(hello, nio.RoomSendResponse), hello
        assert _texts(await _latest(bob, room_id))[:1] == ["Hello Bob"]
        reply = await bob.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "Hi Alice"}
        )
        assert isinstance(reply, nio.RoomSendResponse), reply
        assert _texts(await _latest(alice, room_id))[:2] == ["Hi Alice", "Hello Bob"]
        seen = await alice.room_get_event(room_id, reply.event_id)
        assert isinstance(seen, nio.RoomGetEventResponse), seen
        assert seen.event.sender == bob.user_id and seen.event.body == "Hi Alice"

        # alice changes the topic: bob sees the new state and the change.
        topic = await alice.room_put_state(room_id, "m.room.topic", {"topic": "Sencha"})
        assert isinstance(topic, nio.RoomPutStateResponse), topic
        now = await bob.room_get_state_event(room_id, "m.room.topic")
        assert isinstance(now, nio.RoomGetStateEventResponse), now
        assert now.content["topic"] == "Sencha"
        change = (await _latest(bob, room_id, 1))[0]
        assert isinstance(change, nio.RoomTopicEvent) and change.topic == "Sencha"
        assert change.source["unsigned"]["prev_content"]["topic"] == "Oolong"
        state = await bob.room_get_state(room_id)
        assert isinstance(state, nio.RoomGetStateResponse), state
        assert {e["type"] for e in state.events} >= {
            "m.room.create",
            "m.room.name",
            "m.room.topic",
            "m.room.member",
        }

        # alice redacts her greeting: bob gets it redacted, with the reason.
        redacted = await alice.room_redact(room_id, hello.event_id, reason="too formal")
        assert isinstance(redacted, nio.RoomRedactResponse), redacted
        gone = await bob.room_get_event(room_id, hello.event_id)
        assert isinstance(gone, nio.RoomGetEventResponse), gone
        assert isinstance(gone.event, nio.RedactedEvent), gone.event
        assert gone.event.reason == "too formal"
        assert "Hello Bob" not in _texts(await _latest(bob, room_id, 20))
        context = await bob.room_context(room_id, reply.event_id, limit=4)
        assert isinstance(context, nio.RoomContextResponse), context
        assert any(isinstance(e, nio.RedactedEvent) for e in context.events_before)

        # bob leaves: alice sees it; bob keeps the history up to his leave.
        left = await bob.room_leave(room_id)
        assert isinstance(left, nio.RoomLeaveResponse), left
        members = await alice.joined_members(room_id)
        assert isinstance(members, nio.JoinedMembersResponse), members
        assert [m.user_id for m in members.members] == [alice.user_id]
        last = (await _latest(alice, room_id, 1))[0]
        assert isinstance(last, nio.RoomMemberEvent)
        assert last.state_key == bob.user_id and last.membership == "leave"
        await alice.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "Bye Bob"}
        )
        after = _texts(await _latest(bob, room_id, 20))
        assert "Hi Alice" in after and "Bye Bob" not in after
        bob_members = await bob.joined_members(room_id)
        assert isinstance(bob_members, nio.JoinedMembersError)
    finally:
        await alice.close()
        await bob.close()


def test_room_lifecycle_seen_from_both_sides(running_server: RunningServer) -> None:
    asyncio.run(_room_story(running_server))
