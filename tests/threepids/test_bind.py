"""POST /account/3pid/bind and /unbind, /account/3pid/delete and deactivation
against the test identity server (tests/support/identity_server.py): the
address is validated on the identity server, bound through the homeserver,
found by /invite's lookup, and unbound by a request the homeserver signs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from signedjson.key import generate_signing_key, get_verify_key

from tests.rooms.third_party.kit import IdentityHarness
from tests.support.client import User
from tests.support.identity_server import ACCESS_TOKEN
from tests.support.server import FakeResponse, TestServer

V3 = "/_matrix/client/v3"
ADDRESS = "bob@example.org"
SECRET = "bobsecret"
TPI = "m.room.third_party_invite"


@pytest.fixture
def harness() -> Iterator[IdentityHarness]:
    made = IdentityHarness()
    yield made
    made.close()


@pytest.fixture
def server(
    harness: IdentityHarness, make_server: Callable[..., TestServer]
) -> TestServer:
    overrides = harness.overrides()
    made = make_server(overrides, identity_http=harness.client(overrides))
    harness.identity.trust(
        made.hs.core.server_name, made.hs.core.signing_key.verify_key
    )
    return made


def _validated_session(harness: IdentityHarness, address: str = ADDRESS) -> str:
    """A session on the identity server whose mailed code was submitted."""
    code, answer = harness.identity_post(
        "/validate/email/requestToken",
        {"client_secret": SECRET, "email": address, "send_attempt": 1},
    )
    assert code == 200, answer
    sid = answer["sid"]
    token = harness.identity.tokens[address]
    code, answer = harness.identity_post(
        "/validate/email/submitToken",
        {"sid": sid, "client_secret": SECRET, "token": token},
    )
    assert (code, answer) == (200, {"success": True})
    return str(sid)


def _post(harness: IdentityHarness, user: User, path: str, body: Any) -> FakeResponse:
    return harness.call(user.server, "POST", V3 + path, body, user.token)


def _bind(harness: IdentityHarness, user: User, sid: str, **extra: Any) -> FakeResponse:
    body = {
        "sid": sid,
        "client_secret": SECRET,
        "id_server": harness.identity.name,
        "id_access_token": ACCESS_TOKEN,
        **extra,
    }
    return _post(harness, user, "/account/3pid/bind", body)


def _unbind(harness: IdentityHarness, user: User, path: str, **extra: Any) -> Any:
    resp = _post(harness, user, path, {"medium": "email", "address": ADDRESS, **extra})
    assert resp.code == 200, resp.json
    return resp.json["id_server_unbind_result"]


def _invite(harness: IdentityHarness, alice: User, room_id: str) -> None:
    resp = harness.invite_email(alice, room_id, ADDRESS)
    assert resp.code == 200, resp.json


def test_bind_makes_invites_normal_and_unbind_undoes_it(
    harness: IdentityHarness, server: TestServer
) -> None:
    alice, bob = server.user("alice"), server.user("bob")
    resp = _bind(harness, bob, _validated_session(harness))
    assert (resp.code, resp.json) == (200, {})
    assert harness.identity.bindings == {("email", ADDRESS): bob.user_id}
    (onbind,) = harness.identity.onbinds
    assert onbind["mxid"] == bob.user_id

    room_id = alice.create_room()
    _invite(harness, alice, room_id)
    assert alice.state(room_id, "m.room.member", bob.user_id)["membership"] == "invite"

    # No id_server: unbound where it was bound, by a request the identity
    # server checked against this homeserver's key.
    assert _unbind(harness, bob, "/account/3pid/unbind") == "success"
    assert harness.identity.bindings == {}
    assert harness.identity.unbinds == [
        {"mxid": bob.user_id, "threepid": {"medium": "email", "address": ADDRESS}}
    ]
    other_room = alice.create_room()
    _invite(harness, alice, other_room)
    (pending,) = harness.identity.pending
    assert alice.state(other_room, TPI, pending["token"])["display_name"]
    member = alice.get(f"/rooms/{other_room}/state/m.room.member/{bob.user_id}")
    assert member.code == 404

    # Nothing is recorded any more: nowhere to unbind.
    assert _unbind(harness, bob, "/account/3pid/unbind") == "no-support"
    assert len(harness.identity.unbinds) == 1


def test_bind_refusals_record_nothing(
    harness: IdentityHarness, server: TestServer
) -> None:
    bob = server.user("bob")
    code, answer = harness.identity_post(
        "/validate/email/requestToken",
        {"client_secret": SECRET, "email": ADDRESS, "send_attempt": 1},
    )
    assert code == 200
    sid = answer["sid"]
    resp = _bind(harness, bob, sid)
    assert (resp.code, resp.json["errcode"]) == (400, "M_SESSION_NOT_VALIDATED")
    resp = _bind(harness, bob, sid, client_secret="other")
    assert (resp.code, resp.json["errcode"]) == (404, "M_NO_VALID_SESSION")
    resp = _bind(harness, bob, sid, id_access_token="wrong")
    assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")
    resp = _bind(harness, bob, sid, id_server="not a server/")
    assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM")
    resp = _post(harness, bob, "/account/3pid/bind", {"sid": sid})
    assert (resp.code, resp.json["errcode"]) == (400, "M_MISSING_PARAM")
    assert harness.identity.bindings == {}
    assert _unbind(harness, bob, "/account/3pid/unbind") == "no-support"
    assert harness.identity.unbinds == []


def test_delete_unbinds_and_removes_the_address(
    harness: IdentityHarness, server: TestServer
) -> None:
    bob = server.user("bob")
    now = server.hs.core.clock.time_msec()
    server.get_success(
        server.hs.mail.threepids.insert_threepid(
            bob.user_id, "email", ADDRESS, validated_at=now, now=now
        )
    )
    assert _bind(harness, bob, _validated_session(harness)).code == 200
    assert _unbind(harness, bob, "/account/3pid/delete") == "success"
    assert harness.identity.bindings == {}
    assert bob.get("/account/3pid", expect=200).json == {"threepids": []}


def test_identity_server_without_unbind_is_no_support(
    harness: IdentityHarness, server: TestServer
) -> None:
    bob = server.user("bob")
    assert _bind(harness, bob, _validated_session(harness)).code == 200
    harness.identity.unbind_supported = False
    result = _unbind(
        harness, bob, "/account/3pid/unbind", id_server=harness.identity.name
    )
    assert result == "no-support"
    # As Synapse, the binding is forgotten all the same.
    assert _unbind(harness, bob, "/account/3pid/unbind") == "no-support"
    assert harness.identity.bindings == {("email", ADDRESS): bob.user_id}


def test_unsigned_unbind_is_refused_and_the_binding_kept(
    harness: IdentityHarness, server: TestServer
) -> None:
    bob = server.user("bob")
    assert _bind(harness, bob, _validated_session(harness)).code == 200
    # The identity server holds another key of that ID for this server
    # name: the homeserver's signature does not verify.
    name = server.hs.core.server_name
    real = harness.identity.server_keys[name]
    (key_id,) = real
    forged = generate_signing_key(key_id.split(":", 1)[1])
    harness.identity.server_keys[name] = {key_id: get_verify_key(forged)}
    body = {"medium": "email", "address": ADDRESS}
    resp = _post(harness, bob, "/account/3pid/unbind", body)
    assert resp.code == 502, resp.json
    assert harness.identity.bindings == {("email", ADDRESS): bob.user_id}
    # Deactivation cannot unbind either: refused, the account stays.
    resp = _deactivate(harness, bob)
    assert (resp.code, resp.json["errcode"]) == (400, "M_UNKNOWN")
    assert bob.get("/account/whoami").code == 200

    harness.identity.server_keys[name] = real
    assert _unbind(harness, bob, "/account/3pid/unbind") == "success"
    assert harness.identity.bindings == {}


def _deactivate(harness: IdentityHarness, user: User, **extra: Any) -> FakeResponse:
    first = _post(harness, user, "/account/deactivate", {})
    assert first.code == 401
    auth = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user.user_id},
        "password": "password123",
        "session": first.json["session"],
    }
    return _post(harness, user, "/account/deactivate", {"auth": auth, **extra})


def test_deactivation_unbinds(harness: IdentityHarness, server: TestServer) -> None:
    bob = server.user("bob")
    assert _bind(harness, bob, _validated_session(harness)).code == 200
    carol = server.user("carol")
    resp = _deactivate(harness, carol)
    assert (resp.code, resp.json) == (200, {"id_server_unbind_result": "success"})
    assert harness.identity.unbinds == []

    resp = _deactivate(harness, bob, id_server=harness.identity.name)
    assert (resp.code, resp.json) == (200, {"id_server_unbind_result": "success"})
    assert harness.identity.bindings == {}
    assert harness.identity.unbinds[0]["mxid"] == bob.user_id


def test_admin_deactivation_unbinds(
    harness: IdentityHarness, server: TestServer
) -> None:
    admin, bob = server.user("admin", admin=True), server.user("bob")
    assert _bind(harness, bob, _validated_session(harness)).code == 200
    harness.identity.unbind_supported = False
    path = f"/_synapse/admin/v1/deactivate/{bob.user_id}"
    resp = harness.call(server, "POST", path, {}, admin.token)
    assert (resp.code, resp.json) == (200, {"id_server_unbind_result": "no-support"})
    assert bob.get("/account/whoami").code == 401


def test_bind_claims_a_pending_invite_through_onbind(
    harness: IdentityHarness, server: TestServer
) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    _invite(harness, alice, room_id)
    (pending,) = harness.identity.pending
    bob = server.user("bob")
    assert _bind(harness, bob, _validated_session(harness)).code == 200
    # The identity server calls the user's homeserver with the signed invite.
    (onbind,) = harness.identity.onbinds
    assert [i["room_id"] for i in onbind["invites"]] == [room_id]
    assert harness.onbind(server, onbind).code == 200
    member = alice.state(room_id, "m.room.member", bob.user_id)
    assert member["membership"] == "invite"
    assert member["third_party_invite"]["signed"]["token"] == pending["token"]


def test_unbind_with_a_bad_id_server(
    harness: IdentityHarness, server: TestServer
) -> None:
    bob = server.user("bob")
    assert _bind(harness, bob, _validated_session(harness)).code == 200
    body = {"medium": "email", "address": ADDRESS, "id_server": "no/server"}
    resp = _post(harness, bob, "/account/3pid/unbind", body)
    assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM")
    resp = _post(harness, bob, "/account/3pid/unbind", {**body, "medium": "fax"})
    assert resp.code == 400
    assert harness.identity.bindings == {("email", ADDRESS): bob.user_id}
