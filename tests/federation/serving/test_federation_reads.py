"""Serving events, state, auth chains and history to other servers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeserver.events.builder import build_event
from homeserver.events.model import Event
from homeserver.services.rooms.event_creation import auth_state
from tests.federation.joined_pair import (
    FED,
    SharedRoom,
    join_from,
    send_message,
    send_pdus,
)
from tests.federation.pair import Federation, q
from tests.support.server import FakeResponse, TestServer


def _setup(
    make_federation: Callable[[], Federation], visibility: str = "shared"
) -> tuple[Federation, TestServer, TestServer, TestServer, Any, list[str]]:
    fed = make_federation()
    a, b, c = (
        fed.add_server("a.test"),
        fed.add_server("b.test"),
        fed.add_server("c.test"),
    )
    alice = a.user("alice")
    room_id = alice.create_room(
        preset="public_chat",
        initial_state=[
            {
                "type": "m.room.history_visibility",
                "state_key": "",
                "content": {"history_visibility": visibility},
            }
        ],
    )
    early = send_message(alice, room_id, "before bob")
    bob, join = join_from(fed, a, b, room_id, "bob")
    room = SharedRoom(room_id, alice, bob, join)
    later = [send_message(alice, room_id, f"m{i}") for i in range(3)]
    fed.pump(0.1)
    return fed, a, b, c, room, [early, *later]


def _power_grab(home: TestServer, guest: TestServer, room_id: str, user: str) -> Event:
    """``user`` (of ``guest``, joined, without power) makes themselves
    admin, on ``home``'s extremities: an event the auth rules reject."""
    hs = home.hs
    version = home.get_success(hs.core.room_state.get_room_version(room_id))
    prevs = sorted(home.get_success(hs.core.events.get_forward_extremities(room_id)))
    state = home.get_success(hs.core.room_state.get_current_state_ids(room_id))
    content = {"users": {user: 100}}
    auth = auth_state(version, "m.room.power_levels", "", user, content, state)
    parents = home.get_success(hs.core.events.get_events(prevs))
    return build_event(
        version,
        room_id=room_id,
        type="m.room.power_levels",
        sender=user,
        content=content,
        prev_event_ids=prevs,
        auth_event_ids=sorted(auth.values()),
        depth=max(e.depth for e in parents.values()) + 1,
        origin_server_ts=guest.hs.core.clock.time_msec(),
        server_name=guest.config.server.server_name,
        signing_key=guest.signing_key,
        state_key="",
    )


def _get(
    fed: Federation, origin: TestServer, dest: TestServer, uri: str
) -> FakeResponse:
    return fed.signed_request(origin, dest, "GET", uri)


def test_event_endpoint(make_federation: Callable[[], Federation]) -> None:
    fed, a, b, c, room, messages = _setup(make_federation)
    resp = _get(fed, b, a, f"{FED}/event/{q(messages[-1])}")
    assert resp.code == 200, resp.json
    assert resp.json["origin"] == "a.test"
    assert [p["content"]["body"] for p in resp.json["pdus"]] == ["m2"]
    # shared history: visible to servers in the room, not to others.
    assert _get(fed, b, a, f"{FED}/event/{q(messages[0])}").code == 200
    refused = _get(fed, c, a, f"{FED}/event/{q(messages[-1])}")
    assert refused.code == 403 and refused.json["errcode"] == "M_FORBIDDEN"
    assert _get(fed, b, a, f"{FED}/event/{q('$nope')}").code == 404


def test_an_erased_users_events_are_served_redacted(
    make_federation: Callable[[], Federation],
) -> None:
    """As Synapse: our erased users' events go out redacted to every server,
    through /event, /backfill and /get_missing_events."""
    fed, a, b, _, room, messages = _setup(make_federation)
    a.get_success(a.hs.user_admin.store.set_flag("@alice:a.test", "erased", True))
    one = _get(fed, b, a, f"{FED}/event/{q(messages[-1])}")
    assert one.code == 200 and one.json["pdus"][0]["content"] == {}
    resp = _get(
        fed, b, a, f"{FED}/backfill/{q(room.room_id)}?v={q(messages[-1])}&limit=3"
    )
    assert [p["content"] for p in resp.json["pdus"]] == [{}, {}, {}]
    missing = fed.signed_request(
        b,
        a,
        "POST",
        f"{FED}/get_missing_events/{q(room.room_id)}",
        {
            "earliest_events": [room.join_event.event_id],
            "latest_events": [messages[-1]],
        },
    )
    assert [p["content"] for p in missing.json["events"]] == [{}, {}]


def test_joined_history_is_not_served_from_before_the_join(
    make_federation: Callable[[], Federation],
) -> None:
    fed, a, b, _, room, messages = _setup(make_federation, "joined")
    before = _get(fed, b, a, f"{FED}/event/{q(messages[0])}")
    assert before.code == 403
    assert _get(fed, b, a, f"{FED}/event/{q(messages[1])}").code == 200
    # /backfill walks past it, but only redacted.
    resp = _get(
        fed, b, a, f"{FED}/backfill/{q(room.room_id)}?v={q(messages[1])}&limit=4"
    )
    contents = [
        p["content"] for p in resp.json["pdus"] if p["type"] == "m.room.message"
    ]
    assert {"msgtype": "m.text", "body": "m0"} in contents
    assert {} in contents


def test_state_and_state_ids(make_federation: Callable[[], Federation]) -> None:
    fed, a, b, c, room, messages = _setup(make_federation)
    uri = f"{FED}/state_ids/{q(room.room_id)}?event_id={q(messages[-1])}"
    ids = _get(fed, b, a, uri)
    assert ids.code == 200, ids.json
    state = a.get_success(a.hs.core.room_state.get_current_state_ids(room.room_id))
    assert sorted(ids.json["pdu_ids"]) == sorted(state.values())
    assert set(ids.json["auth_chain_ids"]) <= set(state.values())
    full = _get(fed, b, a, uri.replace("/state_ids/", "/state/"))
    assert full.code == 200
    types = {(p["type"], p["state_key"]) for p in full.json["pdus"]}
    assert ("m.room.member", room.joiner.user_id) in types
    assert ("m.room.create", "") in {
        (p["type"], p["state_key"]) for p in full.json["auth_chain"]
    }
    # The state *before* bob's join does not hold it.
    before = _get(
        fed,
        b,
        a,
        f"{FED}/state_ids/{q(room.room_id)}?event_id={q(room.join_event.event_id)}",
    )
    assert room.join_event.event_id not in before.json["pdu_ids"]
    assert _get(fed, c, a, uri).code == 403
    assert _get(fed, b, a, f"{FED}/state_ids/{q(room.room_id)}").code == 400


def test_event_auth(make_federation: Callable[[], Federation]) -> None:
    fed, a, b, _, room, messages = _setup(make_federation)
    resp = _get(fed, b, a, f"{FED}/event_auth/{q(room.room_id)}/{q(messages[-1])}")
    assert resp.code == 200
    types = sorted((p["type"], p["state_key"]) for p in resp.json["auth_chain"])
    assert ("m.room.create", "") in types
    assert ("m.room.power_levels", "") in types
    assert ("m.room.member", room.creator.user_id) in types


def test_backfill_and_get_missing_events(
    make_federation: Callable[[], Federation],
) -> None:
    fed, a, b, c, room, messages = _setup(make_federation)
    resp = _get(
        fed, b, a, f"{FED}/backfill/{q(room.room_id)}?v={q(messages[-1])}&limit=3"
    )
    assert resp.code == 200
    bodies = [p["content"].get("body") for p in resp.json["pdus"]]
    assert bodies == ["m2", "m1", "m0"]
    missing = fed.signed_request(
        b,
        a,
        "POST",
        f"{FED}/get_missing_events/{q(room.room_id)}",
        {
            "earliest_events": [room.join_event.event_id],
            "latest_events": [messages[-1]],
            "limit": 10,
            "min_depth": 0,
        },
    )
    assert missing.code == 200, missing.json
    assert [p["content"]["body"] for p in missing.json["events"]] == ["m0", "m1"]
    assert (
        fed.signed_request(
            c,
            a,
            "POST",
            f"{FED}/get_missing_events/{q(room.room_id)}",
            {"earliest_events": [], "latest_events": [messages[-1]]},
        ).code
        == 403
    )


def _room_reads(
    fed: Federation, origin: TestServer, dest: TestServer, room_id: str, at: str
) -> list[FakeResponse]:
    """/state, /state_ids, /event_auth, /backfill and /get_missing_events of
    ``room_id`` at the event ``at``, asked by ``origin``."""
    room, event = q(room_id), q(at)
    return [
        _get(fed, origin, dest, f"{FED}/state/{room}?event_id={event}"),
        _get(fed, origin, dest, f"{FED}/state_ids/{room}?event_id={event}"),
        _get(fed, origin, dest, f"{FED}/event_auth/{room}/{event}"),
        _get(fed, origin, dest, f"{FED}/backfill/{room}?v={event}&limit=5"),
        fed.signed_request(
            origin,
            dest,
            "POST",
            f"{FED}/get_missing_events/{room}",
            {"earliest_events": [], "latest_events": [at], "limit": 5},
        ),
    ]


def test_a_server_whose_user_was_banned_reads_no_more(
    make_federation: Callable[[], Federation],
) -> None:
    """Even in a world-readable room: state and history reads need a joined
    user now (Synapse's ``assert_host_in_room``)."""
    fed, a, b, _, room, messages = _setup(make_federation, "world_readable")
    assert [r.code for r in _room_reads(fed, b, a, room.room_id, messages[-1])] == [
        200
    ] * 5
    room.creator.post(
        f"/rooms/{q(room.room_id)}/ban",
        {"user_id": room.joiner.user_id, "reason": "spam"},
        expect=200,
    )
    fed.pump(0.1)
    latest = send_message(room.creator, room.room_id, "after the ban")
    for at in (messages[-1], latest):
        for resp in _room_reads(fed, b, a, room.room_id, at):
            assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN"), resp.json


def test_no_state_is_served_at_a_rejected_event(
    make_federation: Callable[[], Federation],
) -> None:
    fed, a, b, _, room, messages = _setup(make_federation)
    # bob may not change the power levels: the event is stored rejected.
    grab = _power_grab(a, b, room.room_id, room.joiner.user_id)
    assert send_pdus(fed, b, a, "grab", [grab.pdu]).code == 200
    stored = a.get_success(a.hs.core.events.get_event(grab.event_id))
    assert stored is not None and stored.rejected_reason is not None
    for uri in (
        f"{FED}/state/{q(room.room_id)}?event_id={q(grab.event_id)}",
        f"{FED}/state_ids/{q(room.room_id)}?event_id={q(grab.event_id)}",
        f"{FED}/event_auth/{q(room.room_id)}/{q(grab.event_id)}",
    ):
        resp = _get(fed, b, a, uri)
        assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND"), resp.json
    # The control: a good event's state is served.
    ok = f"{FED}/state_ids/{q(room.room_id)}?event_id={q(messages[-1])}"
    assert _get(fed, b, a, ok).code == 200
