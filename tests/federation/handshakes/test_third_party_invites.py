"""Invites by email between two Chatly servers: alice on a.test invites an
address; it is bound to dave on b.test; the identity server's onbind goes to
b.test, which hands the signed invite to a.test
(``exchange_third_party_invite``); a.test invites dave over federation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.federation.pair import Federation, q
from tests.rooms.helpers import member_of
from tests.rooms.third_party.kit import IdentityHarness
from tests.support.server import TestServer


@pytest.fixture
def harness() -> Iterator[IdentityHarness]:
    made = IdentityHarness()
    yield made
    made.close()


def _servers(
    harness: IdentityHarness, make_federation: Callable[[], Federation]
) -> tuple[Federation, TestServer, TestServer]:
    fed = make_federation()
    overrides = harness.overrides()
    a, b = (
        fed.add_server(name, overrides, identity_http=harness.client(overrides))
        for name in ("a.test", "b.test")
    )
    return fed, a, b


def test_invite_bound_on_another_server_is_exchanged(
    harness: IdentityHarness, make_federation: Callable[[], Federation]
) -> None:
    fed, a, b = _servers(harness, make_federation)
    alice, dave = a.user("alice"), b.user("dave")
    room_id = alice.create_room(name="Trip")
    assert harness.invite_email(alice, room_id, "dave@example.org").code == 200
    (stored,) = harness.identity.pending

    body = harness.identity.bind("email", "dave@example.org", dave.user_id)
    resp = harness.onbind(b, body)
    assert resp.code == 200, resp.json
    exchanges = [r for r in fed.requests if "exchange_third_party_invite" in r[3]]
    assert exchanges == [
        (
            "b.test",
            "a.test",
            "PUT",
            f"/_matrix/federation/v1/exchange_third_party_invite/{q(room_id)}",
        )
    ]
    member = alice.state(room_id, "m.room.member", dave.user_id)
    assert member["membership"] == "invite"
    assert member["third_party_invite"]["signed"]["token"] == stored["token"]
    assert member["third_party_invite"]["display_name"] == "dav...@exa..."
    # b.test got the invite over federation; dave joins through a.test.
    assert room_id in dave.sync()["rooms"]["invite"]
    assert dave.join_via(room_id, via="a.test").code == 200
    assert member_of(a, room_id, dave.user_id) == "join"


def test_exchange_for_another_servers_inviter_is_refused(
    harness: IdentityHarness, make_federation: Callable[[], Federation]
) -> None:
    fed, a, b = _servers(harness, make_federation)
    alice = a.user("alice")
    room_id = alice.create_room()
    assert harness.invite_email(alice, room_id, "erin@example.org").code == 200
    body = harness.identity.bind("email", "erin@example.org", "@erin:b.test")
    invite = body["invites"][0]
    event: dict[str, Any] = {
        "type": "m.room.member",
        "room_id": room_id,
        "sender": "@someone:b.test",
        "state_key": invite["mxid"],
        "content": {
            "membership": "invite",
            "third_party_invite": {"signed": invite["signed"]},
        },
    }
    path = f"/_matrix/federation/v1/exchange_third_party_invite/{q(room_id)}"
    resp = fed.signed_request(b, a, "PUT", path, event)
    assert resp.code == 403, resp.json
    event["room_id"] = "!other:a.test"
    resp = fed.signed_request(b, a, "PUT", path, event)
    assert resp.code == 403
    resp = fed.signed_request(b, a, "PUT", path, {"type": "m.room.member"})
    assert resp.code == 400 and resp.json["errcode"] == "M_BAD_JSON"
    assert member_of(a, room_id, "@erin:b.test") is None


def test_onbind_when_the_inviters_server_is_down(
    harness: IdentityHarness, make_federation: Callable[[], Federation]
) -> None:
    fed, a, b = _servers(harness, make_federation)
    alice, frank = a.user("alice"), b.user("frank")
    room_id = alice.create_room()
    assert harness.invite_email(alice, room_id, "frank@example.org").code == 200
    body = harness.identity.bind("email", "frank@example.org", frank.user_id)
    fed.set_reachable("a.test", False)
    resp = harness.onbind(b, body)
    assert resp.code == 502, resp.json
    fed.set_reachable("a.test", True)
    assert harness.onbind(b, body).code == 200
    assert member_of(a, room_id, frank.user_id) == "invite"
