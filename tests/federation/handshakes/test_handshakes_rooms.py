"""Handshakes in richer rooms: a third server learns of a join through the
resident server, restricted rooms authorise joins over federation, and server
ACLs refuse banned servers."""

from __future__ import annotations

from collections.abc import Callable

from tests.federation.pair import Federation, FederationPair, q
from tests.rooms.helpers import member_of
from tests.support import CLIENT

FED = "/_matrix/federation/v1"


def test_third_server_hears_of_a_join_through_the_resident_server(
    make_federation: Callable[[], Federation],
) -> None:
    fed = make_federation()
    a, b, c = (fed.add_server(n) for n in ("a.test", "b.test", "c.test"))
    alice = a.user("alice")
    bob = b.user("bob")
    carol = c.user("carol")
    room_id = bob.create_room(preset="public_chat")
    assert carol.join_via(room_id, "b.test").code == 200
    assert alice.join_via(room_id, "b.test").code == 200
    fed.pump(1)
    # C was not part of A's handshake with B, yet it knows alice joined.
    assert member_of(c, room_id, alice.user_id) == "join"
    assert member_of(a, room_id, carol.user_id) == "join"
    # And messages from A now reach both other servers.
    resp = alice.send_event(room_id, {"msgtype": "m.text", "body": "hi all"})
    assert resp.code == 200, resp.json
    event_id = resp.json["event_id"]
    fed.pump(1)
    for server in (b, c):
        found = server.get_success(server.hs.core.events.get_event(event_id))
        assert found is not None and found.content["body"] == "hi all"


def test_restricted_room_join_is_authorised_by_the_resident_server(
    pair: FederationPair,
) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    eve = a.user("eve")
    bob = b.user("bob")
    space = bob.create_room(preset="public_chat", name="Space")
    inner = bob.create_room(
        preset="private_chat",
        room_version="10",
        initial_state=[
            {
                "type": "m.room.join_rules",
                "state_key": "",
                "content": {
                    "join_rule": "restricted",
                    "allow": [{"type": "m.room_membership", "room_id": space}],
                },
            }
        ],
    )
    # Not in the allowed room yet: refused.
    resp = alice.join_via(inner, "b.test")
    assert resp.code == 403, resp.json
    assert alice.join_via(space, "b.test").code == 200

    made = pair.signed_request(
        a, b, "GET", f"{FED}/make_join/{q(inner)}/{q(alice.user_id)}?ver=10"
    )
    assert made.code == 200, made.json
    assert (
        made.json["event"]["content"]["join_authorised_via_users_server"] == bob.user_id
    )

    resp = alice.join_via(inner, "b.test")
    assert resp.code == 200, resp.json
    assert member_of(b, inner, alice.user_id) == "join"
    event_id = a.get_success(a.hs.core.room_state.get_membership(inner, alice.user_id))[
        1
    ]
    join = a.get_success(a.hs.core.events.get_event(event_id))
    # B signed the join it vouched for, and A kept that signature.
    assert set(join.pdu["signatures"]) == {"a.test", "b.test"}
    # Eve is in no allowed room.
    resp = eve.join_via(inner, "b.test")
    assert resp.code == 403, resp.json


def test_server_acl_refuses_handshakes(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    room_id = bob.create_room(preset="public_chat")
    resp = bob.put_state(
        room_id,
        "m.room.server_acl",
        {"allow": ["*"], "deny": ["a.test"], "allow_ip_literals": True},
    )
    assert resp.code == 200, resp.json
    resp = pair.signed_request(
        a, b, "GET", f"{FED}/make_join/{q(room_id)}/{q(alice.user_id)}?ver=10"
    )
    assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")
    resp = alice.join_via(room_id, "b.test")
    assert resp.code == 403, resp.json
    assert member_of(b, room_id, alice.user_id) is None


def test_restricted_join_tries_a_server_that_can_authorise(
    make_federation: Callable[[], Federation],
) -> None:
    fed = make_federation()
    a, b, c = (fed.add_server(n) for n in ("a.test", "b.test", "c.test"))
    alice = a.user("alice")
    bob = b.user("bob")
    carol = c.user("carol")
    space = carol.create_room(preset="public_chat")
    inner = carol.create_room(
        preset="public_chat",
        room_version="10",
        initial_state=[
            {
                "type": "m.room.join_rules",
                "state_key": "",
                "content": {
                    "join_rule": "restricted",
                    "allow": [{"type": "m.room_membership", "room_id": space}],
                },
            }
        ],
    )
    # B ends up in the inner room but not in the space.
    assert bob.join_via(space, "c.test").code == 200
    assert bob.join_via(inner, "c.test").code == 200
    resp = bob.post(f"{CLIENT}/rooms/{q(space)}/leave", {})
    assert resp.code == 200, resp.json
    fed.pump(1)
    assert alice.join_via(space, "c.test").code == 200
    fed.pump(1)

    made = fed.signed_request(
        a, b, "GET", f"{FED}/make_join/{q(inner)}/{q(alice.user_id)}?ver=10"
    )
    assert made.code == 400, made.json
    assert made.json["errcode"] == "M_UNABLE_TO_AUTHORISE_JOIN"
    # Asked first, B cannot vouch for alice; C can.
    resp = alice.post(f"{CLIENT}/join/{q(inner)}?via=b.test&via=c.test", {})
    assert resp.code == 200, resp.json
    assert member_of(c, inner, alice.user_id) == "join"
