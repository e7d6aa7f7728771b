"""Which state a room entry carries (rooms/state.py), on plain data."""

from __future__ import annotations

from homeserver.events.model import Event
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from homeserver.services.sliding_sync.model import RequiredState
from homeserver.services.sliding_sync.rooms.state import (
    MAX_LAZY_REMEMBERED,
    lazy_users,
    pick_state,
)

MEMBER = "m.room.member"
LAZY_ONLY = RequiredState.parse([[MEMBER, "$LAZY"]])
NAME_AND_TOPIC = RequiredState.parse([["m.room.name", ""], ["m.room.topic", ""]])


def _event(
    sender: str, event_type: str = "m.room.message", key: str | None = None
) -> Event:
    pdu = {"type": event_type, "sender": sender, "room_id": "!r:t", "content": {}}
    if key is not None:
        pdu["state_key"] = key
    return Event(pdu=pdu, room_version=KNOWN_ROOM_VERSIONS["10"], event_id=f"${sender}")


NOW = {
    ("m.room.name", ""): "$name2",
    ("m.room.topic", ""): "$topic",
    (MEMBER, "@a:t"): "$a",
    (MEMBER, "@b:t"): "$b",
    (MEMBER, "@c:t"): "$c2",
}
THEN = {
    ("m.room.name", ""): "$name1",
    ("m.room.topic", ""): "$topic",
    ("m.room.avatar", ""): "$avatar",
    (MEMBER, "@a:t"): "$a",
    (MEMBER, "@b:t"): "$b",
    (MEMBER, "@c:t"): "$c1",
}


def test_first_sending_is_the_matching_state() -> None:
    pick = pick_state(
        NAME_AND_TOPIC, NOW, None, old=None, timeline=[], limited=False, lazy_sent=[]
    )
    assert pick.picked == {
        ("m.room.name", ""): "$name2",
        ("m.room.topic", ""): "$topic",
    }


def test_later_only_changes_and_stubs_for_removed_state() -> None:
    everything = RequiredState.parse([["*", "*"]])
    pick = pick_state(
        everything, NOW, THEN, old=everything, timeline=[], limited=False, lazy_sent=[]
    )
    assert pick.picked == {
        ("m.room.name", ""): "$name2",
        ("m.room.avatar", ""): None,
        (MEMBER, "@c:t"): "$c2",
    }


def test_a_grown_config_adds_the_state_only_it_matches() -> None:
    old = RequiredState.parse([["m.room.name", ""]])
    same = dict(NOW)
    pick = pick_state(
        NAME_AND_TOPIC, NOW, same, old=old, timeline=[], limited=False, lazy_sent=[]
    )
    assert pick.picked == {("m.room.topic", ""): "$topic"}


def test_lazy_members_skip_those_sent_unless_they_changed() -> None:
    timeline = [_event("@a:t"), _event("@b:t"), _event("@c:t")]
    pick = pick_state(
        LAZY_ONLY,
        NOW,
        THEN,
        old=LAZY_ONLY,
        timeline=timeline,
        limited=True,
        lazy_sent=["@a:t", "@c:t"],
    )
    # b is new to the client, c's membership changed, a is known
    assert pick.picked == {(MEMBER, "@b:t"): "$b", (MEMBER, "@c:t"): "$c2"}
    assert set(pick.lazy_sent) == {"@a:t", "@b:t", "@c:t"}


def test_lazy_without_a_gap_sends_every_membership_change() -> None:
    pick = pick_state(
        LAZY_ONLY, NOW, THEN, old=LAZY_ONLY, timeline=[], limited=False, lazy_sent=[]
    )
    assert pick.picked == {(MEMBER, "@c:t"): "$c2"}


def test_lazy_targets_of_membership_events_and_the_bound() -> None:
    kick = _event("@a:t", MEMBER, "@z:t")
    assert lazy_users([kick]) == ["@a:t", "@z:t"]
    many = [f"@u{i}:t" for i in range(MAX_LAZY_REMEMBERED * 2)]
    pick = pick_state(
        LAZY_ONLY,
        NOW,
        dict(NOW),
        old=LAZY_ONLY,
        timeline=[],
        limited=False,
        lazy_sent=many,
    )
    assert len(pick.lazy_sent) == MAX_LAZY_REMEMBERED
