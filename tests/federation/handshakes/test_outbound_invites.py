"""Outbound invites to servers that answer unusually: a server without the
v2 invite endpoint (asked through v1 for rooms v1-v2, as Synapse does), and an
answer that is no valid JSON of the room's version (400 M_BAD_JSON, not a
signature error).
"""

from __future__ import annotations

from typing import Any

from homeserver.events.hashing import add_content_hash, compute_event_id
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from homeserver.events.signing import sign_event
from homeserver.federation.errors import HttpResponseError
from tests.federation.pair import FederationPair, q
from tests.rooms.helpers import member_of
from tests.support.server import TestServer


class _Answering:
    """Wraps a server's outbound transport to change how the peer answers
    invites (the peer is another real test server)."""

    def __init__(self, server: TestServer, *, no_v2: bool, add_float: bool) -> None:
        self.remote = server.hs.federation.handshakes.remote
        self.inner = self.remote.requests.transport
        self.no_v2 = no_v2
        self.add_float = add_float
        self.paths: list[str] = []
        self.remote.requests.transport = self

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def put_json(self, destination: str, path: str, body: Any, *a: Any) -> Any:
        self.paths.append(path)
        if self.no_v2 and "/v2/invite/" in path:
            # What a server without the endpoint answers.
            raise HttpResponseError(
                404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}
            )
        answer = await self.inner.put_json(destination, path, body, *a)
        if self.add_float and "/invite/" in path:
            answer["event"]["bad_val"] = 1.1
        return answer


def test_an_invite_falls_back_to_v1_for_an_old_room(pair: FederationPair) -> None:
    alice, bob = pair.a.user("alice"), pair.b.user("bob")
    answering = _Answering(pair.a, no_v2=True, add_float=False)
    room_id = alice.create_room(preset="private_chat", room_version="1")
    resp = alice.membership(room_id, "invite", user_id=bob.user_id)
    assert resp.code == 200, resp.json
    assert [p.split("/invite/")[0] for p in answering.paths if "/invite/" in p] == [
        "/_matrix/federation/v2",
        "/_matrix/federation/v1",
    ]
    assert member_of(pair.a, room_id, bob.user_id) == "invite"
    assert room_id in bob.sync()["rooms"]["invite"]
    assert bob.join_via(room_id, via="a.test").code == 200
    assert member_of(pair.a, room_id, bob.user_id) == "join"


def test_a_server_without_v2_invites_gets_no_newer_room(pair: FederationPair) -> None:
    """v1 carries no room version (the invitee assumes v1 or v2): a later
    room is refused, as Synapse refuses it."""
    alice, bob = pair.a.user("alice"), pair.b.user("bob")
    _Answering(pair.a, no_v2=True, add_float=False)
    room_id = alice.create_room(preset="private_chat", room_version="10")
    resp = alice.membership(room_id, "invite", user_id=bob.user_id)
    assert (resp.code, resp.json["errcode"]) == (400, "M_UNSUPPORTED_ROOM_VERSION")
    assert member_of(pair.a, room_id, bob.user_id) is None


def test_an_invite_answer_with_a_float_is_bad_json(pair: FederationPair) -> None:
    alice, bob = pair.a.user("alice"), pair.b.user("bob")
    _Answering(pair.a, no_v2=False, add_float=True)
    room_id = alice.create_room(preset="private_chat", room_version="10")
    resp = alice.membership(room_id, "invite", user_id=bob.user_id)
    assert (resp.code, resp.json["errcode"]) == (400, "M_BAD_JSON"), resp.json
    assert member_of(pair.a, room_id, bob.user_id) is None


def test_an_inbound_invite_with_a_float_is_bad_json(pair: FederationPair) -> None:
    """sytest "Inbound federation rejects invites which include invalid JSON
    for room version 6": 400 M_BAD_JSON."""
    alice = pair.a.user("alice")
    version = KNOWN_ROOM_VERSIONS["6"]
    pdu: dict[str, Any] = {
        "room_id": "!new:b.test",
        "type": "m.room.member",
        "sender": "@bob:b.test",
        "state_key": alice.user_id,
        "content": {"membership": "invite", "bad_val": 1.1},
        "prev_events": [],
        "auth_events": [],
        "depth": 5,
        "origin_server_ts": 1000,
    }
    add_content_hash(pdu)
    sign_event(pdu, version, "b.test", pair.b.signing_key)
    event_id = compute_event_id(pdu, version)
    path = f"/_matrix/federation/v2/invite/{q('!new:b.test')}/{q(event_id)}"
    body = {"room_version": "6", "event": pdu, "invite_room_state": []}
    resp = pair.signed_request(pair.b, pair.a, "PUT", path, body)
    assert (resp.code, resp.json["errcode"]) == (400, "M_BAD_JSON"), resp.json
