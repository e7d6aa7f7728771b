"""Invites by email on one server: /invite with id_server/medium/address,
the identity server's lookup, store-invite and onbind callback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.rooms.third_party.kit import IdentityHarness
from tests.support.server import TestServer

TPI = "m.room.third_party_invite"


@pytest.fixture
def harness() -> Iterator[IdentityHarness]:
    made = IdentityHarness()
    yield made
    made.close()


def _server(
    harness: IdentityHarness,
    make_server: Callable[..., TestServer],
    extra: dict[str, Any] | None = None,
) -> TestServer:
    overrides = harness.overrides(extra)
    return make_server(overrides, identity_http=harness.client(overrides))


def _state(server: TestServer, user: Any, room_id: str) -> list[dict[str, Any]]:
    return user.get(f"/rooms/{room_id}/state", expect=200).json


def test_bound_address_is_a_normal_invite(
    harness: IdentityHarness, make_server: Callable[..., TestServer]
) -> None:
    server = _server(harness, make_server)
    alice, bob = server.user("alice"), server.user("bob")
    harness.identity.bind("email", "bob@example.org", bob.user_id)
    room_id = alice.create_room()
    resp = harness.invite_email(alice, room_id, "bob@example.org")
    assert resp.code == 200, resp.json
    member = alice.state(room_id, "m.room.member", bob.user_id)
    assert member["membership"] == "invite"
    assert "third_party_invite" not in member
    assert not [e for e in _state(server, alice, room_id) if e["type"] == TPI]
    assert harness.identity.lookups == ["sha256"]


def test_unbound_address_gets_third_party_invite_then_onbind_invites(
    harness: IdentityHarness, make_server: Callable[..., TestServer]
) -> None:
    server = _server(harness, make_server)
    alice = server.user("alice")
    room_id = alice.create_room(name="Plans")
    resp = harness.invite_email(alice, room_id, "carol@example.org")
    assert resp.code == 200, resp.json
    (stored,) = harness.identity.pending
    assert stored["room_id"] == room_id and stored["sender"] == alice.user_id
    assert stored["room_name"] == "Plans"
    invite = alice.state(room_id, TPI, stored["token"])
    assert invite["display_name"] == "car...@exa..."
    assert invite["public_key"] == harness.identity.public_key
    assert invite["key_validity_url"] == harness.identity.validity_url
    assert invite["public_keys"] == [
        {
            "public_key": harness.identity.public_key,
            "key_validity_url": harness.identity.validity_url,
        }
    ]

    carol = server.user("carol")
    body = harness.identity.bind("email", "carol@example.org", carol.user_id)
    resp = harness.onbind(server, body)
    assert resp.code == 200, resp.json
    member = alice.state(room_id, "m.room.member", carol.user_id)
    assert member["membership"] == "invite"
    assert member["third_party_invite"]["display_name"] == "car...@exa..."
    assert member["third_party_invite"]["signed"]["token"] == stored["token"]
    assert ("GET", "/_matrix/identity/v2/pubkey/isvalid") in harness.identity.requests
    # The invite works: carol joins. A repeated onbind changes nothing.
    carol.join(room_id)
    assert harness.onbind(server, body).code == 200
    assert alice.state(room_id, "m.room.member", carol.user_id)["membership"] == "join"


def test_onbind_with_a_bad_signature_or_revoked_key_is_refused(
    harness: IdentityHarness, make_server: Callable[..., TestServer]
) -> None:
    server = _server(harness, make_server)
    alice, dan = server.user("alice"), server.user("dan")
    room_id = alice.create_room()
    assert harness.invite_email(alice, room_id, "dan@example.org").code == 200
    body = harness.identity.bind("email", "dan@example.org", dan.user_id)
    forged = {**body, "invites": [dict(i) for i in body["invites"]]}
    signed = dict(forged["invites"][0]["signed"])
    forged["invites"][0]["signed"] = {**signed, "mxid": "@mallory:test"}
    forged["invites"][0]["mxid"] = "@mallory:test"
    server.user("mallory")
    resp = harness.onbind(server, forged)
    assert resp.code == 403, resp.json
    assert resp.json["errcode"] == "M_FORBIDDEN"
    harness.identity.revoked.add(harness.identity.public_key)
    resp = harness.onbind(server, body)
    assert resp.code == 403, resp.json
    members = [
        e["state_key"]
        for e in _state(server, alice, room_id)
        if e["type"] == "m.room.member"
    ]
    assert members == [alice.user_id]
    harness.identity.revoked.clear()
    assert harness.onbind(server, body).code == 200
    assert alice.state(room_id, "m.room.member", dan.user_id)["membership"] == "invite"


def test_onbind_without_signed_token_is_400(
    harness: IdentityHarness, make_server: Callable[..., TestServer]
) -> None:
    server = _server(harness, make_server)
    body = {
        "medium": "email",
        "address": "x@example.org",
        "mxid": "@x:test",
        "invites": [{"sender": "@a:test", "mxid": "@x:test", "room_id": "!r:test"}],
    }
    resp = harness.onbind(server, body)
    assert resp.code == 400 and resp.json["errcode"] == "M_BAD_JSON"


def test_bad_requests_send_nothing(
    harness: IdentityHarness, make_server: Callable[..., TestServer]
) -> None:
    server = _server(harness, make_server)
    alice, eve = server.user("alice"), server.user("eve")
    room_id = alice.create_room()
    path = f"/rooms/{room_id}/invite"
    missing = {"medium": "email", "address": "a@example.org", "id_server": "x.org"}
    resp = alice.post(path, missing, expect=400)
    assert resp.json["errcode"] == "M_MISSING_PARAM"
    # A wrong identity-server token: refused by the identity server, no event.
    resp = harness.invite_email(alice, room_id, "a@example.org", id_access_token="no")
    assert resp.code == 403, resp.json
    assert not [e for e in _state(server, alice, room_id) if e["type"] == TPI]
    # Not in the room: refused before the identity server is asked.
    asked = len(harness.identity.requests)
    resp = harness.invite_email(eve, room_id, "a@example.org")
    assert resp.code == 403
    assert len(harness.identity.requests) == asked
    resp = harness.invite_email(alice, room_id, "a@example.org", id_server="not a host")
    assert resp.code == 400 and resp.json["errcode"] == "M_INVALID_PARAM"
    resp = harness.invite_email(alice, "!nowhere:test", "a@example.org")
    assert resp.code == 404
    assert harness.identity.pending == []


def test_identity_server_on_loopback_is_denied_by_default(
    harness: IdentityHarness, make_server: Callable[..., TestServer]
) -> None:
    extra = {"identity_server": {"ip_range_whitelist": []}}
    server = _server(harness, make_server, extra)
    alice = server.user("alice")
    room_id = alice.create_room()
    resp = harness.invite_email(alice, room_id, "a@example.org")
    assert resp.code == 403, resp.json
    assert harness.identity.requests == []


def test_lookup_disabled(
    harness: IdentityHarness, make_server: Callable[..., TestServer]
) -> None:
    extra = {"identity_server": {"enable_3pid_lookup": False}}
    server = _server(harness, make_server, extra)
    alice = server.user("alice")
    room_id = alice.create_room()
    resp = harness.invite_email(alice, room_id, "a@example.org")
    assert resp.code == 403 and resp.json["errcode"] == "M_FORBIDDEN"
    assert harness.identity.requests == []


def test_join_with_third_party_signed(
    harness: IdentityHarness, make_server: Callable[..., TestServer]
) -> None:
    server = _server(harness, make_server)
    alice, gina, hal = server.user("alice"), server.user("gina"), server.user("hal")
    room_id = alice.create_room()
    assert harness.invite_email(alice, room_id, "gina@example.org").code == 200
    (stored,) = harness.identity.pending
    signed = harness.identity.sign_for_join(stored["token"], gina.user_id)
    path = f"/_matrix/client/v3/rooms/{room_id}/join"
    # Someone else's proof, or a forged one, opens nothing.
    resp = harness.call(server, "POST", path, {"third_party_signed": signed}, hal.token)
    assert resp.code == 403, resp.json
    forged = {**signed, "token": "other"}
    resp = harness.call(
        server, "POST", path, {"third_party_signed": forged}, gina.token
    )
    assert resp.code == 403, resp.json
    resp = harness.call(server, "POST", path, {"third_party_signed": "x"}, gina.token)
    assert resp.code == 400 and resp.json["errcode"] == "M_INVALID_PARAM"
    resp = harness.call(
        server, "POST", path, {"third_party_signed": signed}, gina.token
    )
    assert resp.code == 200, resp.json
    member = alice.state(room_id, "m.room.member", gina.user_id)
    assert member["membership"] == "join"
    resp = alice.get(f"/rooms/{room_id}/state/m.room.member/{hal.user_id}")
    assert resp.code == 404


def test_broken_identity_server_answer_sends_nothing(
    harness: IdentityHarness, make_server: Callable[..., TestServer]
) -> None:
    server = _server(harness, make_server)
    alice = server.user("alice")
    room_id = alice.create_room()
    harness.identity.broken = True
    resp = harness.invite_email(alice, room_id, "x@example.org")
    assert resp.code == 502, resp.json
    assert not [e for e in _state(server, alice, room_id) if e["type"] == TPI]


def test_shadow_banned_inviter_looks_successful(
    harness: IdentityHarness, make_server: Callable[..., TestServer]
) -> None:
    server = _server(harness, make_server)
    admin, alice = server.user("admin", admin=True), server.user("alice")
    room_id = alice.create_room()
    path = f"/_synapse/admin/v1/users/{alice.user_id}/shadow_ban"
    assert server.request("POST", path, {}, token=admin.token).code == 200
    resp = harness.invite_email(alice, room_id, "x@example.org")
    assert resp.code == 200, resp.json
    assert harness.identity.requests == []
    assert not [e for e in _state(server, alice, room_id) if e["type"] == TPI]
