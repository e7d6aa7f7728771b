"""matrix-js-sdk 43's simplified sliding sync (MSC4186) in Node 22, against a
server started by synctl.

The SDK's ``SlidingSync`` speaks this MSC's version: it posts to
``/_matrix/client/unstable/org.matrix.simplified_msc3575/sync`` with ``pos``
and ``timeout`` as query parameters (``MatrixClient.slidingSync``), reads each
list's ``count`` and each room's ``bump_stamp``, ``initial`` and ``timeline``,
and on a 400 drops its ``pos`` and starts a new connection. The script
``js/sliding.mjs`` runs it as Element Web does (``startClient({slidingSync})``)
and reports every request and answer with what the SDK made of them.

The rooms are those of tests/e2e/sliding_rooms.py: by recency Alpha, Charlie,
Bravo; the SDK asks for a two-room window.

Node 22 and the SDK are installed from npm on first use (tests/e2e/js_peer.py);
without CI set, a machine that cannot install them skips this module.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import RunningServer, synctl
from tests.e2e.js_peer import Account, JsPeer, JsSdk, ensure_js_sdk
from tests.e2e.sliding_rooms import (
    ACCOUNT_DATA,
    ACCOUNT_DATA_TYPE,
    TAGS,
    Story,
    register,
    sliding_server,
    three_rooms,
)
from tests.interop.client import request
from tests.support.installs import installed_or_skip

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("js_sdk"),
    pytest.mark.timeout(600),
]

JsonDict = dict[str, Any]


@pytest.fixture(scope="module")
def js_sdk() -> JsSdk:
    return installed_or_skip("Node 22 and matrix-js-sdk", ensure_js_sdk)


@pytest.fixture(scope="module")
def chatly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with sliding_server(tmp_path_factory, "js-sliding") as server:
        yield server


@pytest.fixture(scope="module")
def story(
    js_sdk: JsSdk, chatly: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Story:
    alice = register(chatly, "alice")
    bob = register(chatly, "bob")
    rooms = three_rooms(chatly, alice, bob)
    peer = JsPeer(
        js_sdk,
        tmp_path_factory.mktemp("js-sliding-work"),
        chatly.url,
        chatly.data_dir / "homeserver.log",
    )
    seen = peer.run(
        "sliding.mjs",
        Account(alice.user_id, alice.password, alice.access_token),
        timeout=90.0,
        bob_token=bob.access_token,
        open=rooms["Bravo"],
        away=rooms["Charlie"],
        recover=rooms["Alpha"],
        account_data_type=ACCOUNT_DATA_TYPE,
    )
    return Story(alice, bob, rooms, seen)


def _names(story: Story, rooms: list[JsonDict]) -> list[str]:
    return story.named(room["room_id"] for room in rooms)


def _answered_rooms(exchange: JsonDict) -> JsonDict:
    assert exchange["status"] == 200, exchange
    rooms: JsonDict = exchange["answer"]["rooms"]
    return rooms


def _only_update(exchange: JsonDict, room_id: str, event_id: str) -> None:
    """The answer's one room, ``room_id``, sent before and now carrying only
    the new event ``event_id``."""
    rooms = _answered_rooms(exchange)
    assert list(rooms) == [room_id]
    assert not rooms[room_id].get("initial")
    assert [e["event_id"] for e in rooms[room_id]["timeline"]] == [event_id]


def _sdk_timeline(story: Story, rooms: list[JsonDict], name: str) -> list[str]:
    room = next(r for r in rooms if r["room_id"] == story.rooms[name])
    return [event["event_id"] for event in room["timeline"]]


def test_no_server_gap(story: Story) -> None:
    assert story.seen["server_gaps"] == []


def test_account_data_and_tags_reach_the_sdk(
    chatly: RunningServer, story: Story
) -> None:
    assert story.seen["account_data"] == ACCOUNT_DATA
    # The SDK sets its push rules from m.push_rules account data: it has them
    # through sliding sync exactly when /sync has them.
    sync = request(
        "GET", f"{chatly.url}/_matrix/client/v3/sync", token=story.alice.access_token
    )
    in_sync = any(e["type"] == "m.push_rules" for e in sync["account_data"]["events"])
    assert story.seen["push_rules_from_sync"] is in_sync
    assert story.seen["opened_tags"] == TAGS["tags"]


def test_typing_and_receipts_reach_the_sdk(story: Story) -> None:
    bravo_id = story.rooms["Bravo"]
    bob = story.bob.user_id
    typing = story.seen["typing"]["rooms"][bravo_id]
    assert typing == {"type": "m.typing", "content": {"user_ids": [bob]}}
    receipt = story.seen["receipts"]["rooms"][bravo_id]
    assert receipt["type"] == "m.receipt"
    read = receipt["content"][story.seen["live_event_id"]]["m.read"]
    assert list(read) == [bob]


def test_lists_the_two_most_recent_rooms_in_order(story: Story) -> None:
    first = story.seen["first"]
    assert first["pos"] is None
    assert first["body"]["lists"]["recent"]["ranges"] == [[0, 1]]
    assert first["answer"]["lists"] == {"recent": {"count": 3}}
    rooms = _answered_rooms(first)
    assert sorted(story.named(rooms)) == ["Alpha", "Charlie"]
    assert all(room["initial"] for room in rooms.values())
    # The SDK's own room list, by its rooms' bump stamps, with their names.
    listed = story.seen["first_rooms"]
    assert _names(story, listed) == ["Alpha", "Charlie"]
    assert [room["name"] for room in listed] == ["Alpha", "Charlie"]
    alpha = listed[0]
    assert [event["body"] for event in alpha["timeline"]] == ["the latest word"]


def test_opens_a_room_by_subscription(story: Story) -> None:
    opened = story.seen["opened"]
    bravo_id = story.rooms["Bravo"]
    assert opened["pos"] == story.seen["first"]["answer"]["pos"]
    assert list(opened["body"]["room_subscriptions"]) == [bravo_id]
    rooms = _answered_rooms(opened)
    assert list(rooms) == [bravo_id]
    assert rooms[bravo_id]["initial"] is True
    room = story.seen["opened_room"]
    assert room["name"] == "Bravo"
    assert room["members"] == sorted([story.alice.user_id, story.bob.user_id])
    assert room["timeline"][0]["type"] == "m.room.create"


def test_gets_the_other_users_new_message(story: Story) -> None:
    event_id = story.seen["live_event_id"]
    _only_update(story.seen["live"], story.rooms["Bravo"], event_id)
    after = story.seen["after_live_rooms"]
    # Bravo moved to the top of the SDK's list, with the message last.
    assert _names(story, after) == ["Bravo", "Alpha", "Charlie"]
    assert _sdk_timeline(story, after, "Bravo")[-1] == event_id


def test_reconnects_with_its_pos(story: Story) -> None:
    refused, reconnected = story.seen["refused"], story.seen["reconnected"]
    # The request that never reached the server and the one after the network
    # came back carry the same pos: the last one the server answered.
    assert refused["refused"] is True
    last_answered = story.seen["answered_before"]["answer"]["pos"]
    assert refused["pos"] == reconnected["pos"] == last_answered
    # Only what changed while it was away.
    _only_update(reconnected, story.rooms["Charlie"], story.seen["away_event_id"])


def test_recovers_from_unknown_pos(story: Story) -> None:
    unknown, restarted = story.seen["unknown"], story.seen["restarted"]
    # The server dropped the connection (a request without pos on the same
    # device and conn_id replaced it): the SDK's good pos is now unknown.
    assert unknown["pos"] == story.seen["reconnected"]["answer"]["pos"]
    assert unknown["status"] == 400
    assert unknown["answer"]["errcode"] == "M_UNKNOWN_POS"
    assert story.seen["lifecycle_errors"] == [
        {"status": 400, "errcode": "M_UNKNOWN_POS"}
    ]
    # It starts a new connection with its list and subscription again.
    assert restarted["pos"] is None
    assert list(restarted["body"]["room_subscriptions"]) == [story.rooms["Bravo"]]
    rooms = _answered_rooms(restarted)
    assert sorted(story.named(rooms)) == ["Bravo", "Charlie"]
    assert all(room["initial"] for room in rooms.values())
    # And gets Bob's next message, in the room it brings to the top.
    final = story.seen["final_rooms"]
    assert _names(story, final) == ["Alpha", "Charlie", "Bravo"]
    assert _sdk_timeline(story, final, "Alpha")[-1] == story.seen["recover_event_id"]


def test_an_invite_to_a_direct_chat_then_the_joined_room(story: Story) -> None:
    bob, alice = story.bob.user_id, story.alice.user_id
    invite = story.seen["dm_invite_answer"]
    assert invite["membership"] == "invite"
    assert "timeline" not in invite  # nothing of the room before joining
    members = {
        e["state_key"]: e
        for e in invite["invite_state"]
        if e["type"] == "m.room.member"
    }
    assert set(members) == {alice, bob}  # the invite and the inviter's membership
    assert members[alice]["sender"] == bob
    assert members[alice]["content"]["is_direct"] is True
    # The SDK knows who invited her to the direct chat, and names it after him.
    assert story.seen["dm_invite"]["inviter"] == bob
    assert story.seen["dm_invite"]["name"] == bob[1:].split(":")[0]

    # Joined, the unnamed room is named by its hero, Bob.
    joined = story.seen["dm_joined_answer"]
    assert joined["initial"] is True
    assert "name" not in joined
    assert [hero["user_id"] for hero in joined["heroes"]] == [bob]
    assert (joined["joined_count"], joined["invited_count"]) == (2, 0)
    room = story.seen["dm_joined"]
    assert room["name"] == bob[1:].split(":")[0]
    assert room["timeline"][-1]["sender"] == alice  # her join


def test_opening_a_listed_room_grows_its_timeline(
    chatly: RunningServer, story: Story
) -> None:
    """Alpha, in the list with timeline_limit 1, is opened by subscription
    (timeline_limit 10): the server sends its last ten events again, marked
    expanded and limited (it has eleven), and the SDK's timeline is exactly
    those, in order, without duplicates."""
    answer = story.seen["expanded_answer"]
    assert answer["expanded_timeline"] is True
    assert answer["unstable_expanded_timeline"] is True
    assert answer["limited"] is True
    alpha = urllib.parse.quote(story.rooms["Alpha"])
    page = request(
        "GET",
        f"{chatly.url}/_matrix/client/v3/rooms/{alpha}/messages?dir=b&limit=10",
        token=story.alice.access_token,
    )
    last_ten = [event["event_id"] for event in reversed(page["chunk"])]
    assert answer["timeline"] == last_ten
    sdk_timeline = [
        event["event_id"] for event in story.seen["expanded_room"]["timeline"]
    ]
    assert sdk_timeline == last_ten


def test_the_sdk_starts_afresh_after_a_server_restart(
    js_sdk: JsSdk, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Connections live in the server's memory: after a restart the SDK's pos
    is unknown, and the SDK starts a new connection by itself."""
    work = tmp_path_factory.mktemp("js-restart-work")
    ready, restarted = work / "ready", work / "restarted"
    with sliding_server(tmp_path_factory, "js-restart") as server:
        alice = register(server, "alice")
        bob = register(server, "bob")
        rooms = three_rooms(server, alice, bob)
        peer = JsPeer(js_sdk, work, server.url, server.data_dir / "homeserver.log")

        async def story() -> JsonDict:
            running = await peer.start(
                "sliding_restart.mjs",
                Account(alice.user_id, alice.password, alice.access_token),
                timeout=90.0,
                bob_token=bob.access_token,
                room=rooms["Alpha"],
                ready=str(ready),
                restarted=str(restarted),
            )
            while not ready.exists() and not running.finished:
                await asyncio.sleep(0.1)
            if ready.exists():
                synctl("restart", "--data-dir", str(server.data_dir))
                restarted.write_text("restarted\n")
            return await running.result()

        seen = asyncio.run(story())

    exchanges = seen["exchanges"]
    # Before the restart every answer is a 200; the first answer after it is
    # the SDK's request with a pos the old server issued: unknown now.
    unknown_at = next(i for i, e in enumerate(exchanges) if e["status"] == 400)
    assert unknown_at >= seen["ready_at"]
    unknown = exchanges[unknown_at]
    assert unknown["errcode"] == "M_UNKNOWN_POS"
    issued_before = {e["answer_pos"] for e in exchanges[:unknown_at]}
    assert unknown["pos"] in issued_before
    assert {"status": 400, "errcode": "M_UNKNOWN_POS"} in seen["lifecycle_errors"]
    # Then a new connection: no pos, its rooms sent whole.
    fresh = exchanges[unknown_at + 1]
    assert fresh["pos"] is None and fresh["status"] == 200
    assert rooms["Alpha"] in fresh["initial_rooms"]
