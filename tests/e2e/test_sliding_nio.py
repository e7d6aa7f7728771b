"""mindroom-nio's simplified sliding sync (MSC4186) against a real server.

One server (started with synctl) and one scripted story
(``nio_sliding/sliding_client.py``, run in mindroom-nio's own virtualenv, see
tests/e2e/sliding_nio.py); each test checks one part of what the client saw.

The rooms are those of tests/e2e/sliding_rooms.py: by recency Alpha, Charlie,
Bravo. Alice's client asks for a two-room window, opens Bravo by
subscription, gets Bob's next message in Bravo by long-poll, resumes from a
new client instance with its ``pos`` after Bob wrote in Charlie, is told
M_UNKNOWN_POS for an old ``pos``, and its ``sliding_sync_forever`` loop starts
a new connection by itself when the server dropped its own.

Without CI set, a machine that cannot install mindroom-nio skips this module;
with CI set, that is a failure.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunningServer
from tests.e2e.sliding_nio import ensure_mindroom_nio, run_story
from tests.e2e.sliding_rooms import (
    ACCOUNT_DATA_TYPE,
    Story,
    api,
    register,
    sliding_server,
    three_rooms,
)
from tests.interop.client import request
from tests.support.installs import installed_or_skip

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("sliding_nio"),
    # The first run installs mindroom-nio into its virtualenv.
    pytest.mark.timeout(900),
]

STORY_TIMEOUT = 90.0
JsonDict = dict[str, Any]


@pytest.fixture(scope="module")
def nio_python() -> Path:
    return installed_or_skip("mindroom-nio", ensure_mindroom_nio)


@pytest.fixture(scope="module")
def chatly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with sliding_server(tmp_path_factory, "sliding-nio") as server:
        yield server


@pytest.fixture(scope="module")
def story(
    chatly: RunningServer, nio_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Story:
    alice = register(chatly, "alice")
    bob = register(chatly, "bob")
    rooms = three_rooms(chatly, alice, bob)
    settings = {
        "homeserver": chatly.url,
        "alice": alice.user_id,
        "password": alice.password,
        "bob": bob.user_id,
        "bob_device": bob.device_id,
        "bob_token": bob.access_token,
        "rooms": {"open": rooms["Bravo"], "away": rooms["Charlie"]},
    }
    seen = run_story(
        nio_python, tmp_path_factory.mktemp("sliding-nio-work"), settings, STORY_TIMEOUT
    )
    return Story(alice, bob, rooms, seen)


def _by_recency(rooms: JsonDict) -> list[str]:
    """Room IDs as a client orders them: the highest ``bump_stamp`` first."""
    return sorted(rooms, key=lambda rid: rooms[rid]["bump_stamp"], reverse=True)


def _members(room: JsonDict) -> list[str]:
    """The users whose m.room.member events are in the room's required_state."""
    return sorted(
        key for kind, key in room["required_state"] if kind == "m.room.member"
    )


def _bodies(room: JsonDict) -> list[str | None]:
    return [event["body"] for event in room["timeline"]]


def _only_update(response: JsonDict, room_id: str, event_id: str) -> JsonDict:
    """The response's one room, ``room_id``, sent before and now carrying only
    the new event ``event_id``."""
    assert list(response["rooms"]) == [room_id]
    room: JsonDict = response["rooms"][room_id]
    assert room["initial"] is False
    assert [e["event_id"] for e in room["timeline"]] == [event_id]
    return room


def test_logs_in_and_lists_the_two_most_recent_rooms_in_order(story: Story) -> None:
    first = story.seen["first"]
    assert first["lists"] == {"recent": 3}
    assert story.named(_by_recency(first["rooms"])) == ["Alpha", "Charlie"]
    for name in ("Alpha", "Charlie"):
        room = first["rooms"][story.rooms[name]]
        assert room["initial"] is True
        assert room["name"] == name
        assert room["joined_count"] == 2
        assert room["invited_count"] == 0
        assert not room["is_dm"]  # sent only when true or changed
        assert len(room["timeline"]) == 1
        assert room["limited"] is True
        assert ["m.room.name", ""] in room["required_state"]
        assert ["m.room.create", ""] in room["required_state"]
    alpha = first["rooms"][story.rooms["Alpha"]]
    assert _bodies(alpha) == ["the latest word"]
    assert alpha["timeline"][0]["sender"] == story.bob.user_id
    # Bob's message is unread; Charlie has nothing to notify.
    assert (alpha["notification_count"], alpha["highlight_count"]) == (1, 0)
    charlie = first["rooms"][story.rooms["Charlie"]]
    assert (charlie["notification_count"], charlie["highlight_count"]) == (0, 0)
    # $LAZY: the member events of the timeline's senders, no others.
    assert _members(alpha) == [story.bob.user_id]
    assert _members(charlie) == [story.alice.user_id]  # her join is the timeline
    # nio built its rooms from required_state: the names are the room names.
    assert sorted(story.seen["first_client_rooms"].values()) == ["Alpha", "Charlie"]


def test_prev_batch_pages_back_with_messages(
    chatly: RunningServer, story: Story
) -> None:
    alpha_id = story.rooms["Alpha"]
    alpha = story.seen["first"]["rooms"][alpha_id]
    room = urllib.parse.quote(alpha_id)
    query = urllib.parse.urlencode(
        {"from": alpha["prev_batch"], "dir": "b", "limit": 50}
    )
    page = request(
        "GET",
        api(chatly, f"/rooms/{room}/messages?{query}"),
        token=story.alice.access_token,
    )
    ids = [event["event_id"] for event in page["chunk"]]
    assert alpha["timeline"][0]["event_id"] not in ids
    types = [event["type"] for event in page["chunk"]]
    assert "m.room.name" in types and types[-1] == "m.room.create"


def test_opens_a_room_outside_the_window_by_subscription(story: Story) -> None:
    opened = story.seen["opened"]
    bravo_id = story.rooms["Bravo"]
    # Only the subscribed room is new; the listed ones did not change.
    assert list(opened["rooms"]) == [bravo_id]
    bravo = opened["rooms"][bravo_id]
    assert bravo["initial"] is True
    assert bravo["name"] == "Bravo"
    # The whole history of a new room fits in ten events.
    assert bravo["limited"] is False
    assert bravo["timeline"][0]["type"] == "m.room.create"
    assert bravo["timeline"][-1]["sender"] == story.alice.user_id  # her join
    state = bravo["required_state"]
    assert ["m.room.member", story.alice.user_id] in state
    assert ["m.room.member", story.bob.user_id] in state
    assert ["m.room.power_levels", ""] in state
    client_room = story.seen["opened_client"]
    assert client_room["name"] == "Bravo"
    assert client_room["members"] == sorted([story.alice.user_id, story.bob.user_id])


def test_long_poll_gets_the_other_users_message(story: Story) -> None:
    bravo_id = story.rooms["Bravo"]
    bravo = _only_update(story.seen["live"], bravo_id, story.seen["live_event_id"])
    assert bravo["timeline"][0]["sender"] == story.bob.user_id
    assert bravo["num_live"] == 1
    assert bravo["notification_count"] == 1
    assert bravo["limited"] is False
    # Bravo is now the most recent room.
    assert (
        bravo["bump_stamp"]
        > story.seen["first"]["rooms"][story.rooms["Alpha"]]["bump_stamp"]
    )
    # nio dispatched it to its event callback.
    assert story.seen["live_callbacks"] == [
        {
            "room_id": bravo_id,
            "body": "live to the open room",
            "event_id": story.seen["live_event_id"],
        }
    ]


def test_a_new_client_instance_resumes_with_its_pos(story: Story) -> None:
    resumed = story.seen["resumed"]
    # Only what changed: Charlie (sent before) has Bob's one new message;
    # Bravo, unchanged since the last response, is not sent again.
    charlie = _only_update(resumed, story.rooms["Charlie"], story.seen["away_event_id"])
    # Bob's member event is new to the connection in Charlie: lazily sent now.
    assert charlie["required_state"] == [["m.room.member", story.bob.user_id]]
    assert charlie["notification_count"] == 1
    assert resumed["lists"] == {"recent": 3}


def test_an_old_pos_is_unknown(story: Story) -> None:
    assert story.seen["stale"]["error"] == "M_UNKNOWN_POS"


def test_an_invite_to_a_direct_chat_then_the_joined_room(story: Story) -> None:
    dm = story.seen["dm"]
    bob, alice = story.bob.user_id, story.alice.user_id
    invited = story.seen["dm_invite"]["rooms"][dm]
    assert invited["membership"] == "invite"
    assert invited["initial"] is True
    assert invited["timeline"] == []  # nothing of the room before joining
    # The invite event and the inviter's membership, as nio parsed them from
    # the stripped state.
    members = {
        e["state_key"]: e
        for e in story.seen["dm_invite_state"]
        if e["type"] == "m.room.member"
    }
    assert set(members) == {alice, bob}
    invite = members[alice]
    assert invite["sender"] == bob
    assert invite["content"]["membership"] == "invite"
    assert invite["content"]["is_direct"] is True
    assert members[bob]["content"]["membership"] == "join"
    # So nio can name the invite after Bob.
    client_invite = story.seen["dm_invite_client"]
    assert client_invite["inviter"] == bob
    assert client_invite["display_name"] == bob[1:].split(":")[0]

    # After her join the room comes whole again: an unnamed room named by
    # its hero, Bob.
    joined = story.seen["dm_joined"]["rooms"][dm]
    assert joined["membership"] is None  # joined
    assert joined["initial"] is True
    assert joined["name"] is None
    assert joined["heroes"] == [bob]
    assert (joined["joined_count"], joined["invited_count"]) == (2, 0)
    assert joined["timeline"][-1]["sender"] == alice  # her join
    # A join is no bump: the joined room's stamp is that of its last bump
    # event (its creation), before the invite's (her membership's).
    assert joined["bump_stamp"] < invited["bump_stamp"]
    client_room = story.seen["dm_joined_client"]
    assert client_room["display_name"] == bob[1:].split(":")[0]
    assert client_room["members"] == sorted([alice, bob])
    assert client_room["invited"] is False


def test_the_sync_loop_recovers_from_unknown_pos(story: Story) -> None:
    responses = story.seen["loop_responses"]
    errors = [i for i, r in enumerate(responses) if "error" in r]
    assert errors, responses
    assert {responses[i]["error"] for i in errors} == {"M_UNKNOWN_POS"}
    after = next(r for r in responses[errors[0] + 1 :] if "pos" in r)
    # The new connection starts afresh: every room in the window is initial.
    assert after["rooms"] and all(r["initial"] for r in after["rooms"].values())
    # And it goes on getting new messages, each dispatched once.
    recovered = [
        m
        for m in story.seen["loop_messages"]
        if m["body"] == "after the loop recovered"
    ]
    assert recovered == [
        {"room_id": story.rooms["Bravo"], "body": "after the loop recovered"}
    ]


def test_the_loop_gets_account_data_and_key_counts(story: Story) -> None:
    responses = story.seen["loop_responses"]
    unknown = next(i for i, r in enumerate(responses) if "error" in r)
    # The first response of each connection (the new one after M_UNKNOWN_POS
    # too) has all account data; the others only what changed (nothing).
    for index, response in enumerate(responses):
        if "error" in response:
            continue
        assert response["extensions"] == [
            "account_data",
            "e2ee",
            "receipts",
            "to_device",
            "typing",
        ]
        # nio read the e2ee extension's key count (no keys uploaded: zero).
        assert response["one_time_keys"] == 0
        if index in (0, unknown + 1):
            assert response["account_data"] == sorted(
                ["m.push_rules", ACCOUNT_DATA_TYPE]
            )
            # Bravo is subscribed: its tags come with it.
            assert response["room_account_data"] == {story.rooms["Bravo"]: ["m.tag"]}
        else:
            assert response["account_data"] == []
            assert response["room_account_data"] == {}


def test_the_loop_gets_a_to_device_message_once(story: Story) -> None:
    responses = story.seen["loop_responses"]
    pings = [
        (i, message)
        for i, response in enumerate(responses)
        for message in response.get("to_device", [])
    ]
    assert pings == [
        (
            story.seen["to_device_at"],
            {
                "type": "org.chatly.sliding_ping",
                "sender": story.bob.user_id,
                "content": {"ping": "over sliding sync"},
            },
        )
    ]
    # Later responses went on (nio sent its since back) without it.
    assert len(responses) > story.seen["to_device_at"] + 1
