"""matrix-nio searches a real server: POST /search through nio's own HTTP
session (AsyncClient has no search helper), with the results parsed by nio's
event classes, as a nio bot would."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nio
import pytest

from tests.e2e.conftest import RunningServer
from tests.e2e.nio_clients import registered_client

pytestmark = pytest.mark.integration


async def _search(
    client: nio.AsyncClient, term: str, prefix: str = "v3", **criteria: Any
) -> tuple[int, Any]:
    """POST /search over nio's session; (status, JSON body)."""
    body = {"search_categories": {"room_events": {"search_term": term, **criteria}}}
    resp = await client.send(
        "POST",
        f"/_matrix/client/{prefix}/search",
        json.dumps(body),
        headers={
            "Authorization": f"Bearer {client.access_token}",
            "Content-Type": "application/json",
        },
    )
    return resp.status, await resp.json()


def _texts(body: Any) -> list[str]:
    """The results as nio parses them: message texts, in order."""
    results = body["search_categories"]["room_events"]["results"]
    events = [nio.Event.parse_event(r["result"]) for r in results]
    assert all(isinstance(e, nio.RoomMessageText) for e in events), events
    return [e.body for e in events]


async def _search_story(server: RunningServer) -> None:
    alice = await registered_client(server, "alice")
    bob = await registered_client(server, "bob")
    try:
        created = await alice.room_create(name="Recipes")
        assert isinstance(created, nio.RoomCreateResponse), created
        room_id = created.room_id
        await alice.room_invite(room_id, bob.user_id)
        assert isinstance(await bob.join(room_id), nio.JoinResponse)
        sent = []
        for text in ("bake the bread", "buy more flour", "the bread was great"):
            resp = await alice.room_send(
                room_id, "m.room.message", {"msgtype": "m.text", "body": text}
            )
            assert isinstance(resp, nio.RoomSendResponse), resp
            sent.append(resp.event_id)

        status, body = await _search(bob, "bread", order_by="recent")
        assert status == 200, body
        assert _texts(body) == ["the bread was great", "bake the bread"]
        category = body["search_categories"]["room_events"]
        assert category["count"] == 2 and "bread" in category["highlights"]

        # Context around a result, with nio parsing the surrounding events.
        status, body = await _search(
            bob,
            "flour",
            event_context={
                "before_limit": 1,
                "after_limit": 1,
                "include_profile": True,
            },
        )
        context = body["search_categories"]["room_events"]["results"][0]["context"]
        before = [nio.Event.parse_event(e) for e in context["events_before"]]
        after = [nio.Event.parse_event(e) for e in context["events_after"]]
        assert [e.body for e in before] == ["bake the bread"]
        assert [e.body for e in after] == ["the bread was great"]
        assert alice.user_id in context["profile_info"]

        # Redacted with nio: gone from bob's search; r0 serves search too.
        redacted = await alice.room_redact(room_id, sent[0])
        assert isinstance(redacted, nio.RoomRedactResponse), redacted
        status, body = await _search(bob, "bread", prefix="r0")
        assert status == 200 and _texts(body) == ["the bread was great"]

        # A stranger finds nothing; a bad request is a Matrix error.
        carol = await registered_client(server, "carol")
        try:
            status, body = await _search(carol, "bread")
            assert body["search_categories"]["room_events"]["results"] == []
            status, body = await _search(carol, "bread", order_by="sideways")
            assert status == 400 and body["errcode"] == "M_INVALID_PARAM"
        finally:
            await carol.close()
    finally:
        await alice.close()
        await bob.close()


def test_nio_searches_messages(running_server: RunningServer) -> None:
    asyncio.run(_search_story(running_server))
