"""matrix-nio uses reactions, edits and threads against a real server:
each side reads the other's relations through nio's own relations, threads,
event and sync calls."""

from __future__ import annotations

import asyncio
from typing import Any

import nio
import pytest
from nio.api import RelationshipType, ThreadInclusion

from tests.e2e.conftest import RunningServer
from tests.e2e.nio_clients import registered_client, shared_room

pytestmark = pytest.mark.integration


async def _send(client: nio.AsyncClient, room_id: str, kind: str, content: Any) -> Any:
    return await client.room_send(room_id, kind, content)


def _relations(event: Any) -> dict[str, Any]:
    return dict(event.source.get("unsigned", {}).get("m.relations", {}))


async def _relations_story(server: RunningServer) -> None:
    alice = await registered_client(server, "alice")
    bob = await registered_client(server, "bob")
    try:
        room_id = await shared_room(alice, bob, name="Cake")
        root = await _send(
            alice,
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": "I like cake"},
        )
        assert isinstance(root, nio.RoomSendResponse), root

        # bob reacts; the same reaction again is refused.
        like = {
            "m.relates_to": {
                "rel_type": "m.annotation",
                "event_id": root.event_id,
                "key": "🍰",
            }
        }
        reaction = await _send(bob, room_id, "m.reaction", like)
        assert isinstance(reaction, nio.RoomSendResponse), reaction
        again = await _send(bob, room_id, "m.reaction", like)
        assert isinstance(again, nio.RoomSendError), again
        assert again.status_code == "M_DUPLICATE_ANNOTATION"
        reactions = [
            e
            async for e in alice.room_get_event_relations(
                room_id, root.event_id, RelationshipType.annotation
            )
        ]
        assert [type(e) for e in reactions] == [nio.ReactionEvent]
        assert reactions[0].key == "🍰" and reactions[0].sender == bob.user_id

        # alice edits; bob sees the edit bundled, the original content kept.
        edit = await _send(
            alice,
            room_id,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "* I like chocolate cake",
                "m.new_content": {"msgtype": "m.text", "body": "I like chocolate cake"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": root.event_id},
            },
        )
        assert isinstance(edit, nio.RoomSendResponse), edit
        hijack = await _send(
            bob,
            room_id,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "* hijacked",
                "m.new_content": {"msgtype": "m.text", "body": "hijacked"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": root.event_id},
            },
        )
        assert (
            isinstance(hijack, nio.RoomSendError) and hijack.status_code == "M_BAD_JSON"
        )
        seen = await bob.room_get_event(room_id, root.event_id)
        assert isinstance(seen, nio.RoomGetEventResponse), seen
        assert seen.event.body == "I like cake"
        replace = _relations(seen.event)["m.replace"]
        assert replace["event_id"] == edit.event_id
        assert replace["content"]["m.new_content"]["body"] == "I like chocolate cake"

        # bob answers in a thread, twice; alice lists the thread and its replies.
        replies = []
        for body in ("which cake?", "chocolate, obviously"):
            sent = await _send(
                bob,
                room_id,
                "m.room.message",
                {
                    "msgtype": "m.text",
                    "body": body,
                    "m.relates_to": {"rel_type": "m.thread", "event_id": root.event_id},
                },
            )
            assert isinstance(sent, nio.RoomSendResponse), sent
            replies.append(sent.event_id)
        in_thread = [
            e.event_id
            async for e in alice.room_get_event_relations(
                room_id, root.event_id, RelationshipType.thread
            )
        ]
        assert in_thread == list(reversed(replies))
        roots = [e async for e in alice.room_get_threads(room_id)]
        assert [e.event_id for e in roots] == [root.event_id]
        summary = _relations(roots[0])["m.thread"]
        assert summary["count"] == 2
        assert summary["latest_event"]["event_id"] == replies[-1]
        mine = [
            e async for e in bob.room_get_threads(room_id, ThreadInclusion.participated)
        ]
        assert [e.event_id for e in mine] == [root.event_id]

        # nio's /sync carries the aggregations on the root.
        synced = await alice.sync(full_state=True)
        assert isinstance(synced, nio.SyncResponse), synced
        timeline = synced.rooms.join[room_id].timeline.events
        (root_event,) = [e for e in timeline if e.event_id == root.event_id]
        relations = _relations(root_event)
        assert relations["m.thread"]["count"] == 2
        assert relations["m.replace"]["event_id"] == edit.event_id
    finally:
        await alice.close()
        await bob.close()


def test_reactions_edits_and_threads_through_nio(running_server: RunningServer) -> None:
    asyncio.run(_relations_story(running_server))
