"""Membership handshakes between two in-process servers: joins by room ID and
alias, invites accepted and rejected, leaves, knocks, kicks and bans of remote
users, and the server-side checks of make_join/send_join."""

from __future__ import annotations

import pytest

from homeserver.events.builder import build_event
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from homeserver.events.template import event_from_template, federation_pdu
from tests.federation.pair import FederationPair, q
from tests.rooms.helpers import member_of
from tests.support import CLIENT, User
from tests.support.server import TestServer

FED = "/_matrix/federation"


@pytest.fixture
def users(pair: FederationPair) -> dict[str, User]:
    return {
        "alice": pair.a.user("alice"),
        "bob": pair.b.user("bob"),
    }


def test_join_remote_room_by_id(pair: FederationPair, users: dict[str, User]) -> None:
    a, b = pair.a, pair.b
    alice = users["alice"]
    bob = users["bob"]
    room_id = bob.create_room(preset="public_chat", name="Lobby")

    resp = alice.join_via(room_id, via="b.test")
    assert resp.code == 200, resp.json
    assert resp.json == {"room_id": room_id}

    # Both servers agree that alice is joined.
    assert member_of(a, room_id, alice.user_id) == "join"
    assert member_of(b, room_id, alice.user_id) == "join"
    # A has the room's state from B, and alice's sync shows the room.
    state_a = a.get_success(a.hs.core.room_state.get_current_state_ids(room_id))
    state_b = b.get_success(b.hs.core.room_state.get_current_state_ids(room_id))
    assert state_a == state_b
    body = alice.sync()
    joined = body["rooms"]["join"][room_id]
    types = {e["type"] for e in joined["state"]["events"]} | {
        e["type"] for e in joined["timeline"]["events"]
    }
    assert {"m.room.create", "m.room.name", "m.room.member"} <= types
    # Joining again is a no-op answered locally.
    assert alice.join_via(room_id).code == 200


def test_join_remote_room_by_alias(
    pair: FederationPair, users: dict[str, User]
) -> None:
    a, b = pair.a, pair.b
    alice = users["alice"]
    bob = users["bob"]
    room_id = bob.create_room(preset="public_chat", room_alias_name="hall")

    # The alias resolves over federation...
    resp = a.request("GET", f"{CLIENT}/directory/room/{q('#hall:b.test')}")
    assert resp.code == 200, resp.json
    assert resp.json == {"room_id": room_id, "servers": ["b.test"]}
    # ...and joining by alias uses the servers it names.
    resp = alice.join_via("#hall:b.test")
    assert resp.code == 200, resp.json
    assert resp.json["room_id"] == room_id
    assert member_of(b, room_id, alice.user_id) == "join"
    # Now both servers are in the room.
    resp = b.request("GET", f"{CLIENT}/directory/room/{q('#hall:b.test')}")
    assert resp.json["servers"] == ["b.test", "a.test"]

    missing = a.request("GET", f"{CLIENT}/directory/room/{q('#nope:b.test')}")
    assert (missing.code, missing.json["errcode"]) == (404, "M_NOT_FOUND")
    failed = alice.join_via("#nope:b.test")
    assert (failed.code, failed.json["errcode"]) == (404, "M_NOT_FOUND")


def test_join_private_room_is_refused_and_leaves_nothing(
    pair: FederationPair, users: dict[str, User]
) -> None:
    a, b = pair.a, pair.b
    alice = users["alice"]
    bob = users["bob"]
    room_id = bob.create_room(preset="private_chat")
    resp = alice.join_via(room_id, via="b.test")
    assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")
    assert a.get_success(a.hs.core.room_state.get_room_version(room_id)) is None
    assert member_of(b, room_id, alice.user_id) is None


def test_join_unreachable_server_is_502(
    pair: FederationPair, users: dict[str, User]
) -> None:
    a = pair.a
    alice = users["alice"]
    bob = users["bob"]
    room_id = bob.create_room(preset="public_chat")
    pair.set_reachable("b.test", False)
    resp = alice.join_via(room_id, via="b.test")
    assert (resp.code, resp.json["errcode"]) == (502, "M_UNKNOWN")
    assert a.get_success(a.hs.core.room_state.get_room_version(room_id)) is None


def test_remote_invite_accept(pair: FederationPair, users: dict[str, User]) -> None:
    a, b = pair.a, pair.b
    alice = users["alice"]
    bob = users["bob"]
    room_id = bob.create_room(preset="private_chat", name="Secret")

    resp = bob.membership(room_id, "invite", user_id=alice.user_id)
    assert resp.code == 200, resp.json
    assert member_of(b, room_id, alice.user_id) == "invite"
    # The invite B stored carries A's signature.
    event_id = b.get_success(
        b.hs.core.room_state.get_membership(room_id, alice.user_id)
    )[1]
    invite = b.get_success(b.hs.core.events.get_event(event_id))
    assert set(invite.pdu["signatures"]) == {"a.test", "b.test"}

    rooms = alice.sync()["rooms"]
    invite_state = rooms["invite"][room_id]["invite_state"]["events"]
    by_type = {e["type"]: e for e in invite_state}
    assert by_type["m.room.name"]["content"] == {"name": "Secret"}
    assert "m.room.create" in by_type
    assert any(
        e["type"] == "m.room.member" and e["state_key"] == alice.user_id
        for e in invite_state
    )

    # Accepting joins through the inviting server (no via needed).
    resp = alice.join_via(room_id)
    assert resp.code == 200, resp.json
    assert member_of(b, room_id, alice.user_id) == "join"
    assert member_of(a, room_id, alice.user_id) == "join"
    assert room_id in alice.sync()["rooms"]["join"]


def test_remote_invite_reject(pair: FederationPair, users: dict[str, User]) -> None:
    a, b = pair.a, pair.b
    alice = users["alice"]
    bob = users["bob"]
    room_id = bob.create_room(preset="private_chat")
    assert bob.membership(room_id, "invite", user_id=alice.user_id).code == 200
    since = alice.sync()["next_batch"]

    resp = alice.membership(room_id, "leave")
    assert resp.code == 200, resp.json
    assert member_of(b, room_id, alice.user_id) == "leave"
    assert member_of(a, room_id, alice.user_id) == "leave"
    resp = alice.get(f"{CLIENT}/sync?since={since}")
    assert resp.code == 200, resp.json
    assert room_id not in resp.json["rooms"]["invite"]
    # Rejecting twice is refused.
    again = alice.membership(room_id, "leave")
    assert again.code == 403


def test_invite_remote_user_from_local_room(
    pair: FederationPair, users: dict[str, User]
) -> None:
    a = pair.a
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(preset="private_chat")
    resp = alice.membership(room_id, "invite", user_id=bob.user_id)
    assert resp.code == 200, resp.json
    assert room_id in bob.sync()["rooms"]["invite"]
    resp = bob.join_via(room_id)
    assert resp.code == 200, resp.json
    assert member_of(a, room_id, bob.user_id) == "join"

    unknown = alice.membership(room_id, "invite", user_id="@nobody:b.test")
    assert unknown.code == 404
    assert member_of(a, room_id, "@nobody:b.test") is None


def test_leave_remote_room(pair: FederationPair, users: dict[str, User]) -> None:
    a, b = pair.a, pair.b
    alice = users["alice"]
    bob = users["bob"]
    room_id = bob.create_room(preset="public_chat")
    assert alice.join_via(room_id, via="b.test").code == 200
    resp = alice.membership(room_id, "leave")
    assert resp.code == 200, resp.json
    assert member_of(a, room_id, alice.user_id) == "leave"
    pair.pump(1)
    if _has_transactions(b):
        assert member_of(b, room_id, alice.user_id) == "leave"


def _has_transactions(server: TestServer) -> bool:
    """Whether /send is served (the receiving side has landed)."""
    resp = server.request("PUT", f"{FED}/v1/send/probe", {"pdus": []})
    return resp.code != 404 or resp.json.get("errcode") != "M_UNRECOGNIZED"


def test_kick_and_ban_remote_user(pair: FederationPair, users: dict[str, User]) -> None:
    a, b = pair.a, pair.b
    alice = users["alice"]
    bob = users["bob"]
    room_id = bob.create_room(preset="public_chat")
    assert alice.join_via(room_id, via="b.test").code == 200
    resp = bob.membership(room_id, "kick", user_id=alice.user_id, reason="bye")
    assert resp.code == 200, resp.json
    assert member_of(b, room_id, alice.user_id) == "leave"
    resp = bob.membership(room_id, "ban", user_id=alice.user_id)
    assert resp.code == 200, resp.json
    assert member_of(b, room_id, alice.user_id) == "ban"
    pair.pump(1)
    if _has_transactions(a):
        assert member_of(a, room_id, alice.user_id) == "ban"
    # A banned user's server can no longer get a join template.
    resp = pair.signed_request(
        a, b, "GET", f"{FED}/v1/make_join/{q(room_id)}/{q(alice.user_id)}?ver=10"
    )
    assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")


def test_knock_on_remote_room(pair: FederationPair, users: dict[str, User]) -> None:
    b = pair.b
    alice = users["alice"]
    bob = users["bob"]
    room_id = bob.create_room(preset="private_chat", name="Club")
    resp = bob.put_state(room_id, "m.room.join_rules", {"join_rule": "knock"})
    assert resp.code == 200, resp.json

    resp = alice.post(f"{CLIENT}/knock/{q(room_id)}?via=b.test", {"reason": "hi"})
    assert resp.code == 200, resp.json
    assert member_of(b, room_id, alice.user_id) == "knock"
    knock = alice.sync()["rooms"]["knock"][room_id]["knock_state"]["events"]
    assert {"type": "m.room.name", "state_key": "", "content": {"name": "Club"}} in [
        {k: e[k] for k in ("type", "state_key", "content")} for e in knock
    ]
    # Withdrawing the knock goes through make_leave/send_leave.
    assert alice.membership(room_id, "leave").code == 200
    assert member_of(b, room_id, alice.user_id) == "leave"


def test_make_join_checks(pair: FederationPair, users: dict[str, User]) -> None:
    a, b = pair.a, pair.b
    alice = users["alice"]
    bob = users["bob"]
    room_id = bob.create_room(preset="public_chat", room_version="10")
    base = f"{FED}/v1/make_join/{q(room_id)}/{q(alice.user_id)}"

    ok = pair.signed_request(a, b, "GET", base + "?ver=9&ver=10")
    assert ok.code == 200, ok.json
    assert ok.json["room_version"] == "10"
    template = ok.json["event"]
    assert template["type"] == "m.room.member"
    assert template["state_key"] == alice.user_id
    assert template["content"] == {"membership": "join"}
    assert template["prev_events"] and template["auth_events"]

    for query in ("", "?ver=1&ver=9"):
        resp = pair.signed_request(a, b, "GET", base + query)
        assert resp.code == 400, resp.json
        assert resp.json["errcode"] == "M_INCOMPATIBLE_ROOM_VERSION"
        assert resp.json["room_version"] == "10"
    # The user must belong to the asking server.
    resp = pair.signed_request(
        a, b, "GET", f"{FED}/v1/make_join/{q(room_id)}/{q(bob.user_id)}?ver=10"
    )
    assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")
    resp = pair.signed_request(
        a, b, "GET", f"{FED}/v1/make_join/{q('!nope:b.test')}/{q(alice.user_id)}?ver=10"
    )
    assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND")
    # Unsigned requests are refused.
    resp = b.request("GET", base + "?ver=10")
    assert resp.code == 401


def test_send_join_v1_and_bad_events(
    pair: FederationPair, users: dict[str, User]
) -> None:
    """send_join v1 answers [200, {...}]; a forged or tampered join is refused."""
    a, b = pair.a, pair.b
    alice = users["alice"]
    bob = users["bob"]
    room_id = bob.create_room(preset="public_chat")
    made = pair.signed_request(
        a, b, "GET", f"{FED}/v1/make_join/{q(room_id)}/{q(alice.user_id)}?ver=10"
    )
    room_version = KNOWN_ROOM_VERSIONS[made.json["room_version"]]
    event = event_from_template(
        room_version,
        made.json["event"],
        server_name="a.test",
        signing_key=a.signing_key,
        origin_server_ts=1000,
    )
    pdu = federation_pdu(event)
    path = f"{FED}/v1/send_join/{q(room_id)}/{q(event.event_id)}"

    tampered = dict(pdu, content={"membership": "join", "displayname": "x"})
    resp = pair.signed_request(a, b, "PUT", path, tampered)
    assert resp.code == 400, resp.json  # the event ID no longer matches
    # Signed by the wrong server: B refuses it.
    resp = pair.signed_request(b, b, "PUT", path, pdu)
    assert resp.code in (401, 403), resp.json

    resp = pair.signed_request(a, b, "PUT", path, pdu)
    assert resp.code == 200, resp.json
    code, body = resp.json
    assert code == 200
    state_types = {e["type"] for e in body["state"]}
    assert {"m.room.create", "m.room.power_levels", "m.room.join_rules"} <= state_types
    assert body["auth_chain"]
    assert body["origin"] == "b.test"
    assert member_of(b, room_id, alice.user_id) == "join"


def test_invite_v1_for_old_rooms(pair: FederationPair, users: dict[str, User]) -> None:
    a, b = pair.a, pair.b
    alice = users["alice"]
    bob = users["bob"]
    version = KNOWN_ROOM_VERSIONS["1"]
    event = build_event(
        version,
        room_id="!old:b.test",
        type="m.room.member",
        sender=bob.user_id,
        content={"membership": "invite"},
        prev_event_ids=["$prev:b.test"],
        auth_event_ids=["$create:b.test"],
        depth=5,
        origin_server_ts=1000,
        server_name="b.test",
        signing_key=b.signing_key,
        state_key=alice.user_id,
    )
    body = dict(
        federation_pdu(event),
        unsigned={
            "invite_room_state": [
                {
                    "type": "m.room.name",
                    "state_key": "",
                    "sender": bob.user_id,
                    "content": {"name": "Old"},
                }
            ]
        },
    )
    path = f"{FED}/v1/invite/{q('!old:b.test')}/{q(event.event_id)}"
    resp = pair.signed_request(b, a, "PUT", path, body)
    assert resp.code == 200, resp.json
    code, answer = resp.json
    assert code == 200
    assert set(answer["event"]["signatures"]) == {"a.test", "b.test"}
    invite = alice.sync()["rooms"]["invite"]["!old:b.test"]
    assert {"type": "m.room.name", "content": {"name": "Old"}} in [
        {"type": e["type"], "content": e["content"]}
        for e in invite["invite_state"]["events"]
    ]
    # Not for users of other servers, and only signed by the sender's server.
    resp = pair.signed_request(a, a, "PUT", path, body)
    assert resp.code == 403, resp.json


def test_send_join_retry_gets_the_same_answer(
    pair: FederationPair, users: dict[str, User]
) -> None:
    a, b = pair.a, pair.b
    alice = users["alice"]
    bob = users["bob"]
    room_id = bob.create_room(preset="public_chat")
    made = pair.signed_request(
        a, b, "GET", f"{FED}/v1/make_join/{q(room_id)}/{q(alice.user_id)}?ver=10"
    )
    event = event_from_template(
        KNOWN_ROOM_VERSIONS["10"],
        made.json["event"],
        server_name="a.test",
        signing_key=a.signing_key,
        origin_server_ts=1000,
    )
    path = f"{FED}/v2/send_join/{q(room_id)}/{q(event.event_id)}"
    first = pair.signed_request(a, b, "PUT", path, federation_pdu(event))
    again = pair.signed_request(a, b, "PUT", path, federation_pdu(event))
    assert first.code == again.code == 200, (first.json, again.json)
    assert first.json["state"] == again.json["state"]
    assert first.json["servers_in_room"] == ["a.test", "b.test"]
    assert first.json["members_omitted"] is False
    members = b.get_success(
        b.hs.core.room_state.get_membership_history(room_id, alice.user_id)
    )
    assert [m for _, _, m in members] == ["join"]
