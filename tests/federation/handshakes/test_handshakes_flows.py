"""Longer membership stories across two servers: rejoining, invites into rooms
the invitee's server is already in, knocks that end in an invite, and joining
through a peer that only speaks send_join v1."""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.federation.errors import HttpResponseError
from tests.federation.pair import FederationPair, q
from tests.rooms.helpers import (
    CLIENT,
    create_room,
    join_via,
    member_of,
    membership,
    put_state,
    sync,
)


def test_leave_and_rejoin(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice, alice_token = a.register("alice")
    _, bob_token = b.register("bob")
    room_id = create_room(b, bob_token, preset="public_chat")
    assert join_via(a, alice_token, room_id, "b.test").code == 200
    assert membership(a, alice_token, room_id, "leave").code == 200
    pair.pump(1)
    assert member_of(b, room_id, alice) == "leave"
    resp = join_via(a, alice_token, room_id, "b.test")
    assert resp.code == 200, resp.json
    pair.pump(1)
    assert member_of(a, room_id, alice) == "join"
    assert member_of(b, room_id, alice) == "join"
    assert room_id in sync(a, alice_token)["rooms"]["join"]


def test_invite_into_a_room_our_server_is_in(pair: FederationPair) -> None:
    """The invitee's server is already in the room: the invite reaches it in a
    transaction and becomes part of its copy of the room."""
    a, b = pair.a, pair.b
    _, alice_token = a.register("alice")
    carol, carol_token = a.register("carol")
    _, bob_token = b.register("bob")
    room_id = create_room(b, bob_token, preset="public_chat")
    assert join_via(a, alice_token, room_id, "b.test").code == 200
    resp = membership(b, bob_token, room_id, "invite", user_id=carol)
    assert resp.code == 200, resp.json
    pair.pump(1)
    assert member_of(a, room_id, carol) == "invite"
    invite = sync(a, carol_token)["rooms"]["invite"][room_id]["invite_state"]
    assert any(e["type"] == "m.room.create" for e in invite["events"])
    assert membership(a, carol_token, room_id, "join").code == 200
    pair.pump(1)
    assert member_of(b, room_id, carol) == "join"


def test_knock_then_invite_then_join(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice, alice_token = a.register("alice")
    _, bob_token = b.register("bob")
    room_id = create_room(b, bob_token, preset="private_chat")
    put_state(b, bob_token, room_id, "m.room.join_rules", {"join_rule": "knock"})
    resp = a.request(
        "POST", f"{CLIENT}/knock/{q(room_id)}?via=b.test", {}, token=alice_token
    )
    assert resp.code == 200, resp.json
    since = sync(a, alice_token)["next_batch"]
    # Bob lets alice in: the invite goes to A, which is not in the room.
    resp = membership(b, bob_token, room_id, "invite", user_id=alice)
    assert resp.code == 200, resp.json
    body = sync(a, alice_token, since)
    assert room_id in body["rooms"]["invite"]
    assert room_id not in body["rooms"]["knock"]
    assert join_via(a, alice_token, room_id, "b.test").code == 200
    assert member_of(b, room_id, alice) == "join"


class _OldPeer:
    """A transport to a peer that predates send_join v2."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.paths: list[str] = []

    async def get_json(self, destination: str, path: str, *args: Any, **kw: Any) -> Any:
        return await self.inner.get_json(destination, path, *args, **kw)

    async def post_json(
        self, destination: str, path: str, *args: Any, **kw: Any
    ) -> Any:
        return await self.inner.post_json(destination, path, *args, **kw)

    async def put_json(self, destination: str, path: str, *args: Any, **kw: Any) -> Any:
        self.paths.append(path)
        if path.startswith("/_matrix/federation/v2/send_join/"):
            raise HttpResponseError(
                404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}
            )
        return await self.inner.put_json(destination, path, *args, **kw)


def test_join_falls_back_to_send_join_v1(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice, alice_token = a.register("alice")
    _, bob_token = b.register("bob")
    room_id = create_room(b, bob_token, preset="public_chat")
    requests = a.hs.federation.handshakes.remote.requests
    old = _OldPeer(requests.transport)
    requests.transport = old
    resp = join_via(a, alice_token, room_id, "b.test")
    assert resp.code == 200, resp.json
    assert [p.split("/")[3] for p in old.paths] == ["v2", "v1"]
    assert member_of(b, room_id, alice) == "join"
    assert member_of(a, room_id, alice) == "join"


def test_rescinded_invite_reaches_the_invitee(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice, alice_token = a.register("alice")
    _, bob_token = b.register("bob")
    room_id = create_room(b, bob_token, preset="private_chat")
    assert membership(b, bob_token, room_id, "invite", user_id=alice).code == 200
    since = sync(a, alice_token)["next_batch"]
    assert membership(b, bob_token, room_id, "kick", user_id=alice).code == 200
    pair.pump(1)
    assert member_of(a, room_id, alice) == "leave"
    body = sync(a, alice_token, since)
    assert room_id in body["rooms"]["leave"]


def test_unban_reaches_the_banned_users_server(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice, alice_token = a.register("alice")
    _, bob_token = b.register("bob")
    room_id = create_room(b, bob_token, preset="public_chat")
    assert join_via(a, alice_token, room_id, "b.test").code == 200
    assert membership(b, bob_token, room_id, "ban", user_id=alice).code == 200
    pair.pump(1)
    assert member_of(a, room_id, alice) == "ban"
    assert join_via(a, alice_token, room_id, "b.test").code == 403
    assert membership(b, bob_token, room_id, "unban", user_id=alice).code == 200
    pair.pump(1)
    # No local user is in the room any more, yet A hears of the unban.
    assert member_of(a, room_id, alice) == "leave"
    assert join_via(a, alice_token, room_id, "b.test").code == 200
    assert member_of(b, room_id, alice) == "join"


def test_invites_by_create_room_and_by_state_reach_the_remote_server(
    pair: FederationPair,
) -> None:
    a, b = pair.a, pair.b
    alice, alice_token = a.register("alice")
    bob, bob_token = b.register("bob")
    carol, carol_token = b.register("carol")
    room_id = create_room(a, alice_token, preset="private_chat", invite=[bob])
    assert member_of(a, room_id, bob) == "invite"
    assert room_id in sync(b, bob_token)["rooms"]["invite"]

    resp = put_state(
        a, alice_token, room_id, "m.room.member", {"membership": "invite"}, carol
    )
    assert resp.code == 200, resp.json
    assert room_id in sync(b, carol_token)["rooms"]["invite"]
    event_id = a.get_success(a.hs.core.room_state.get_membership(room_id, carol))[1]
    invite = a.get_success(a.hs.core.events.get_event(event_id))
    assert set(invite.pdu["signatures"]) == {"a.test", "b.test"}


class _LyingPeer(_OldPeer):
    """A resident server whose send_join answer leaves out the join rules."""

    async def put_json(self, destination: str, path: str, *args: Any, **kw: Any) -> Any:
        answer = await self.inner.put_json(destination, path, *args, **kw)
        if "/send_join/" in path:
            answer["state"] = [
                e for e in answer["state"] if e["type"] != "m.room.join_rules"
            ]
        return answer


def test_join_refused_by_the_returned_state_stores_nothing(
    pair: FederationPair,
) -> None:
    a, b = pair.a, pair.b
    _, alice_token = a.register("alice")
    _, bob_token = b.register("bob")
    room_id = create_room(b, bob_token, preset="public_chat")
    requests = a.hs.federation.handshakes.remote.requests
    requests.transport = _LyingPeer(requests.transport)
    resp = join_via(a, alice_token, room_id, "b.test")
    assert (resp.code, resp.json["errcode"]) == (502, "M_UNKNOWN")
    assert a.get_success(a.hs.core.room_state.get_room_version(room_id)) is None
    assert room_id not in sync(a, alice_token)["rooms"]["join"]


def test_invite_from_an_unreachable_server_is_rejected_locally(
    pair: FederationPair,
) -> None:
    a, b = pair.a, pair.b
    alice, alice_token = a.register("alice")
    _, bob_token = b.register("bob")
    room_id = create_room(b, bob_token, preset="private_chat")
    assert membership(b, bob_token, room_id, "invite", user_id=alice).code == 200
    since = sync(a, alice_token)["next_batch"]
    pair.set_reachable("b.test", False)
    resp = membership(a, alice_token, room_id, "leave")
    assert resp.code == 200, resp.json
    assert member_of(a, room_id, alice) == "leave"
    body = sync(a, alice_token, since)
    assert room_id not in body["rooms"]["invite"]
    assert room_id in body["rooms"]["leave"]
    # B never heard of it: alice is still invited there.
    assert member_of(b, room_id, alice) == "invite"


@pytest.mark.parametrize("version", ["1", "3", "7", "11", "12"])
def test_join_invite_and_leave_in_every_event_format(
    pair: FederationPair, version: str
) -> None:
    a, b = pair.a, pair.b
    alice, alice_token = a.register("alice")
    carol, carol_token = a.register("carol")
    _, bob_token = b.register("bob")
    room_id = create_room(b, bob_token, preset="public_chat", room_version=version)
    resp = join_via(a, alice_token, room_id, "b.test")
    assert resp.code == 200, resp.json
    assert member_of(b, room_id, alice) == "join"
    assert membership(b, bob_token, room_id, "invite", user_id=carol).code == 200
    pair.pump(1)
    assert member_of(a, room_id, carol) == "invite"
    assert membership(a, alice_token, room_id, "leave").code == 200
    pair.pump(1)
    assert member_of(b, room_id, alice) == "leave"
    # Carol's invite, now that no user of A is in the room, is rejected
    # through B.
    assert membership(a, carol_token, room_id, "leave").code == 200
    assert member_of(b, room_id, carol) == "leave"
