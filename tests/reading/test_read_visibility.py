"""History visibility through /messages, /event and /context.

Spec: client-server API, "Room History Visibility" (server behaviour).
"""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.services.reading.visibility import membership_allows
from tests.reading.helpers import paginate_all, say
from tests.support import User, bodies
from tests.support.server import TestServer

PHASES = ("before-invite", "while-invited", "while-joined", "after-leave")

# What bob (invited, then joined, then left) may see, per visibility.
EXPECTED_FOR_BOB = {
    "world_readable": set(PHASES),
    "shared": {"before-invite", "while-invited", "while-joined"},
    "invited": {"while-invited", "while-joined"},
    "joined": {"while-joined"},
}


@pytest.fixture
def users(server: TestServer) -> dict[str, User]:
    return {name: server.user(name) for name in ("alice", "bob", "carol", "dave")}


def _room_with_history(
    server: TestServer, users: dict[str, User], visibility: str
) -> tuple[str, dict[str, str]]:
    """alice's room: a message per phase of bob's membership; dave joins at the end."""
    alice = users["alice"]
    bob = users["bob"]
    dave = users["dave"]
    room_id = alice.create_room(preset="private_chat")
    resp = alice.put_state(
        room_id, "m.room.history_visibility", {"history_visibility": visibility}
    )
    assert resp.code == 200, resp.json
    ids = {"before-invite": say(alice, room_id, "before-invite")}
    assert alice.membership(room_id, "invite", user_id=bob.user_id).code == 200
    ids["while-invited"] = say(alice, room_id, "while-invited")
    assert bob.membership(room_id, "join").code == 200
    ids["while-joined"] = say(alice, room_id, "while-joined")
    assert bob.membership(room_id, "leave").code == 200
    ids["after-leave"] = say(alice, room_id, "after-leave")
    assert alice.membership(room_id, "invite", user_id=dave.user_id).code == 200
    assert dave.membership(room_id, "join").code == 200
    ids["dave-joined"] = say(alice, room_id, "dave-joined")
    return room_id, ids


@pytest.mark.parametrize("visibility", sorted(EXPECTED_FOR_BOB))
def test_departed_member_sees_per_visibility(
    server: TestServer, users: dict, visibility: str
) -> None:
    room_id, ids = _room_with_history(server, users, visibility)
    bob = users["bob"]
    expected = EXPECTED_FOR_BOB[visibility]
    if visibility == "world_readable":
        expected = expected | {"dave-joined"}

    seen = set(bodies(paginate_all(bob, room_id, "b")))
    assert seen == expected
    assert set(bodies(paginate_all(bob, room_id, "f"))) == expected

    for phase, event_id in ids.items():
        resp = bob.event(room_id, event_id)
        if phase in expected:
            assert resp.code == 200, (phase, resp.json)
            assert resp.json["content"]["body"] == phase
        else:
            assert resp.code == 404, phase
            assert resp.json["errcode"] == "M_NOT_FOUND"

    for phase, event_id in ids.items():
        resp = bob.get(f"/rooms/{room_id}/context/{event_id}", limit=20)
        if phase not in expected:
            assert resp.code == 404, phase
            continue
        assert resp.code == 200, resp.json
        around = resp.json["events_before"] + resp.json["events_after"]
        assert set(bodies(around)) | {phase} == expected


@pytest.mark.parametrize(
    ("visibility", "expected"),
    [
        (
            "world_readable",
            {
                "before-invite",
                "while-invited",
                "while-joined",
                "after-leave",
                "dave-joined",
            },
        ),
        (
            "shared",
            {
                "before-invite",
                "while-invited",
                "while-joined",
                "after-leave",
                "dave-joined",
            },
        ),
        ("invited", {"dave-joined"}),
        ("joined", {"dave-joined"}),
    ],
)
def test_member_who_joined_later_sees_per_visibility(
    server: TestServer, users: dict, visibility: str, expected: set[str]
) -> None:
    room_id, ids = _room_with_history(server, users, visibility)
    dave = users["dave"]
    assert set(bodies(paginate_all(dave, room_id))) == expected
    for phase, event_id in ids.items():
        code = dave.event(room_id, event_id).code
        assert code == (200 if phase in expected else 404), phase


@pytest.mark.parametrize("visibility", sorted(EXPECTED_FOR_BOB))
def test_outsider(server: TestServer, users: dict, visibility: str) -> None:
    room_id, ids = _room_with_history(server, users, visibility)
    carol = users["carol"]
    resp = carol.messages(room_id)
    if visibility == "world_readable":
        assert resp.code == 200
        assert set(bodies(paginate_all(carol, room_id))) == set(ids)
        assert carol.event(room_id, ids["before-invite"]).code == 200
        assert carol.get(f"/rooms/{room_id}/state").code == 200
        ctx = carol.get(f"/rooms/{room_id}/context/{ids['while-joined']}")
        assert ctx.code == 200
    else:
        assert resp.code == 403
        assert resp.json["errcode"] == "M_FORBIDDEN"
        for event_id in ids.values():
            assert carol.event(room_id, event_id).code == 404
        for path in ("/state", "/members", f"/context/{ids['while-joined']}"):
            assert carol.get(f"/rooms/{room_id}{path}").code == 403, path
        resp = carol.get(f"/rooms/{room_id}/state/m.room.create")
        assert resp.code == 403


def test_invited_user_cannot_read_until_joined(server: TestServer, users: dict) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(preset="private_chat")
    alice.put_state(
        room_id, "m.room.history_visibility", {"history_visibility": "invited"}
    )
    say(alice, room_id, "before")
    alice.membership(room_id, "invite", user_id=bob.user_id)
    during = say(alice, room_id, "during")
    assert bob.messages(room_id).code == 403
    # The spec's rule 4 makes an event sent while invited visible by ID.
    assert bob.event(room_id, during).code == 200
    bob.membership(room_id, "join")
    assert bodies(paginate_all(bob, room_id, "f")) == ["during"]


def test_visibility_boundaries_and_own_membership(
    server: TestServer, users: dict
) -> None:
    """history_visibility changes and the user's own membership events are visible
    when either side of them would be."""
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(preset="public_chat")
    alice.put_state(
        room_id, "m.room.history_visibility", {"history_visibility": "joined"}
    )
    say(alice, room_id, "hidden")
    bob.membership(room_id, "join")
    say(alice, room_id, "seen")
    alice.put_state(
        room_id, "m.room.history_visibility", {"history_visibility": "world_readable"}
    )
    bob.membership(room_id, "leave")
    events = paginate_all(bob, room_id, "f")
    types = [(e["type"], e.get("state_key"), e["content"]) for e in events]
    # The room's history up to the change to "joined" was shared, and bob joined
    # later, so he sees it (create event included); the change itself is visible
    # because the setting before it allows it; then only what he was joined for.
    vis = [
        c["history_visibility"] for t, _, c in types if t == "m.room.history_visibility"
    ]
    assert vis == ["shared", "joined", "world_readable"]
    assert types[0][0] == "m.room.create"
    own = [
        c["membership"]
        for t, k, c in types
        if t == "m.room.member" and k == bob.user_id
    ]
    assert own == ["join", "leave"]
    assert bodies(events) == ["seen"]


def test_rejoin_after_leave_shares_history_again(
    server: TestServer, users: dict
) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(preset="public_chat")
    bob.membership(room_id, "join")
    say(alice, room_id, "one")
    bob.membership(room_id, "leave")
    say(alice, room_id, "two")
    assert bodies(paginate_all(bob, room_id)) == ["one"]
    bob.membership(room_id, "join")
    assert bodies(paginate_all(bob, room_id)) == ["two", "one"]


def test_banned_user_reads_until_ban_and_forgotten_room_is_closed(
    server: TestServer, users: dict
) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(preset="public_chat")
    bob.membership(room_id, "join")
    say(alice, room_id, "before ban")
    assert alice.membership(room_id, "ban", user_id=bob.user_id).code == 200
    say(alice, room_id, "after ban")
    assert bodies(paginate_all(bob, room_id)) == ["before ban"]
    state = bob.get(f"/rooms/{room_id}/state/m.room.member/{bob.user_id}")
    assert state.json["membership"] == "ban"
    assert bob.membership(room_id, "forget").code == 200
    resp = bob.messages(room_id)
    assert resp.code == 403


def test_soft_failed_and_rejected_events_are_never_shown(
    server: TestServer, users: dict
) -> None:
    alice = users["alice"]
    room_id = alice.create_room(preset="public_chat")
    keep = say(alice, room_id, "keep")
    soft = say(alice, room_id, "soft")
    rejected = say(alice, room_id, "rejected")

    def mark(txn: Any) -> None:
        txn.execute(
            "UPDATE events SET soft_failed = ? WHERE event_id = ?", (True, soft)
        )
        txn.execute(
            "UPDATE events SET rejected_reason = ? WHERE event_id = ?",
            ("auth", rejected),
        )

    server.get_success(server.hs.core.db.run_interaction("mark", mark))
    server.hs.core.events.invalidate(soft)
    server.hs.core.events.invalidate(rejected)
    assert bodies(paginate_all(alice, room_id)) == ["keep"]
    assert alice.event(room_id, keep).code == 200
    for event_id in (soft, rejected):
        assert alice.event(room_id, event_id).code == 404
        assert alice.get(f"/rooms/{room_id}/context/{event_id}").code == 404


def test_state_lookups_are_batched(server: TestServer, users: dict) -> None:
    """A page of events costs one state lookup, however many events it holds."""
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(preset="public_chat")
    bob.membership(room_id, "join")
    for i in range(30):
        say(alice if i % 2 else bob, room_id, f"m{i}")
        if i % 10 == 0:
            alice.put_state(room_id, "m.room.topic", {"topic": f"t{i}"})
    calls: list[str] = []
    real = server.hs.core.db.run_interaction

    async def counting(name: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return await real(name, *args, **kwargs)

    server.hs.core.db.run_interaction = counting  # type: ignore[method-assign]
    resp = bob.messages(room_id, limit=30)
    assert resp.code == 200 and len(resp.json["chunk"]) == 30
    assert calls.count("get_state_ids_for_events") == 1
    assert calls.count("paginate_room_events") == 1


@pytest.mark.parametrize(
    ("visibility", "membership_at_event", "joined_after", "allowed"),
    [
        ("world_readable", None, False, True),
        ("shared", None, True, True),
        ("shared", None, False, False),
        ("shared", "leave", False, False),
        ("shared", "join", False, True),
        ("invited", "invite", False, True),
        ("invited", None, True, False),
        ("invited", "join", False, True),
        ("joined", "invite", True, False),
        ("joined", "join", False, True),
        ("joined", "leave", True, False),
    ],
)
def test_membership_allows_rules(
    visibility: str, membership_at_event: str | None, joined_after: bool, allowed: bool
) -> None:
    assert membership_allows(visibility, membership_at_event, joined_after) is allowed
