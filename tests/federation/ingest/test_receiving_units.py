"""Small pure pieces of the receiving side."""

from __future__ import annotations

import pytest

from homeserver.events.model import EventTypes
from homeserver.federation.ingest.auth_checks import sort_by_auth
from homeserver.federation.ingest.verify import PduDropped, parse_pdu
from homeserver.federation.serving.reads import server_may_see
from tests.federation.remote_room import REMOTE, RemoteRoom
from tests.support.server import TEST_SIGNING_KEY

ALICE = f"@alice:{REMOTE}"


def test_sort_by_auth_puts_auth_events_first() -> None:
    room = RemoteRoom({"test": TEST_SIGNING_KEY})
    room.send(
        EventTypes.MEMBER,
        "@carol:remote.test",
        {"membership": "join"},
        "@carol:remote.test",
    )
    events = list(room.events.values())
    ordered = sort_by_auth(reversed(events))
    assert ordered[0].type == EventTypes.CREATE
    position = {e.event_id: i for i, e in enumerate(ordered)}
    for event in ordered:
        for auth_id in event.auth_event_ids:
            assert position[auth_id] < position[event.event_id]


@pytest.mark.parametrize(
    ("visibility", "memberships", "in_room", "expected"),
    [
        ("world_readable", {}, False, True),
        ("shared", {}, True, True),
        ("shared", {}, False, False),
        ("shared", {"@u:o": "join"}, False, True),
        ("invited", {"@u:o": "invite"}, False, True),
        ("invited", {"@u:o": "leave"}, True, False),
        ("joined", {"@u:o": "invite"}, True, False),
        ("joined", {"@u:o": "join"}, False, True),
        ("joined", {}, True, False),
    ],
)
def test_server_may_see(
    visibility: str, memberships: dict[str, str], in_room: bool, expected: bool
) -> None:
    assert server_may_see("o", visibility, memberships, in_room) is expected


def test_parse_pdu_drops_unsigned_and_v3_event_ids() -> None:
    room = RemoteRoom({"test": TEST_SIGNING_KEY})
    event = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "x"})
    pdu = dict(event.pdu, unsigned={"age": 5}, event_id="$bogus")
    parsed = parse_pdu(pdu, room.version)
    assert parsed.event_id == event.event_id
    assert "unsigned" not in parsed.pdu and "event_id" not in parsed.pdu
    with pytest.raises(PduDropped):
        parse_pdu(dict(event.pdu, depth="deep"), room.version)
    with pytest.raises(PduDropped):
        parse_pdu("not an object", room.version)  # type: ignore[arg-type]


def test_sort_by_auth_orders_a_cycle_and_keeps_every_event() -> None:
    room = RemoteRoom({"test": TEST_SIGNING_KEY})
    events = list(room.events.values())
    # Two events naming each other as auth events: invalid, but the sort must
    # still return each event once rather than loop or drop them.
    first, second = events[-2], events[-1]
    first.pdu["auth_events"] = [*first.auth_event_ids, second.event_id]
    second.pdu["auth_events"] = [*second.auth_event_ids, first.event_id]
    ordered = sort_by_auth(reversed(events))
    assert sorted(e.event_id for e in ordered) == sorted(e.event_id for e in events)
    assert ordered[0].type == EventTypes.CREATE
