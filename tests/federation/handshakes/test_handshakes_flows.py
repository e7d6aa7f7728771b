"""Longer membership stories across two servers: rejoining, invites into rooms
the invitee's server is already in, knocks that end in an invite, and joining
through a peer that only speaks send_join v1."""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.federation.errors import HttpResponseError
from tests.federation.pair import FederationPair, q
from tests.rooms.helpers import member_of
from tests.support import CLIENT


def test_leave_and_rejoin(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    room_id = bob.create_room(preset="public_chat")
    assert alice.join_via(room_id, "b.test").code == 200
    assert alice.membership(room_id, "leave").code == 200
    pair.pump(1)
    assert member_of(b, room_id, alice.user_id) == "leave"
    resp = alice.join_via(room_id, "b.test")
    assert resp.code == 200, resp.json
    pair.pump(1)
    assert member_of(a, room_id, alice.user_id) == "join"
    assert member_of(b, room_id, alice.user_id) == "join"
    assert room_id in alice.sync()["rooms"]["join"]


def test_invite_into_a_room_our_server_is_in(pair: FederationPair) -> None:
    """The invitee's server is already in the room: the invite reaches it in a
    transaction and becomes part of its copy of the room."""
    a, b = pair.a, pair.b
    alice = a.user("alice")
    carol = a.user("carol")
    bob = b.user("bob")
    room_id = bob.create_room(preset="public_chat")
    assert alice.join_via(room_id, "b.test").code == 200
    resp = bob.membership(room_id, "invite", user_id=carol.user_id)
    assert resp.code == 200, resp.json
    pair.pump(1)
    assert member_of(a, room_id, carol.user_id) == "invite"
    invite = carol.sync()["rooms"]["invite"][room_id]["invite_state"]
    assert any(e["type"] == "m.room.create" for e in invite["events"])
    assert carol.membership(room_id, "join").code == 200
    pair.pump(1)
    assert member_of(b, room_id, carol.user_id) == "join"


def test_knock_then_invite_then_join(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    room_id = bob.create_room(preset="private_chat")
    bob.put_state(room_id, "m.room.join_rules", {"join_rule": "knock"})
    resp = alice.post(f"{CLIENT}/knock/{q(room_id)}?via=b.test", {})
    assert resp.code == 200, resp.json
    since = alice.sync()["next_batch"]
    # Bob lets alice in: the invite goes to A, which is not in the room.
    resp = bob.membership(room_id, "invite", user_id=alice.user_id)
    assert resp.code == 200, resp.json
    body = alice.sync(since)
    assert room_id in body["rooms"]["invite"]
    assert room_id not in body["rooms"]["knock"]
    assert alice.join_via(room_id, "b.test").code == 200
    assert member_of(b, room_id, alice.user_id) == "join"


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
    alice = a.user("alice")
    bob = b.user("bob")
    room_id = bob.create_room(preset="public_chat")
    requests = a.hs.federation.handshakes.remote.requests
    old = _OldPeer(requests.transport)
    requests.transport = old
    resp = alice.join_via(room_id, "b.test")
    assert resp.code == 200, resp.json
    assert [p.split("/")[3] for p in old.paths] == ["v2", "v1"]
    assert member_of(b, room_id, alice.user_id) == "join"
    assert member_of(a, room_id, alice.user_id) == "join"


def test_rescinded_invite_reaches_the_invitee(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    room_id = bob.create_room(preset="private_chat")
    assert bob.membership(room_id, "invite", user_id=alice.user_id).code == 200
    since = alice.sync()["next_batch"]
    assert bob.membership(room_id, "kick", user_id=alice.user_id).code == 200
    pair.pump(1)
    assert member_of(a, room_id, alice.user_id) == "leave"
    body = alice.sync(since)
    assert room_id in body["rooms"]["leave"]


def test_unban_reaches_the_banned_users_server(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    room_id = bob.create_room(preset="public_chat")
    assert alice.join_via(room_id, "b.test").code == 200
    assert bob.membership(room_id, "ban", user_id=alice.user_id).code == 200
    pair.pump(1)
    assert member_of(a, room_id, alice.user_id) == "ban"
    assert alice.join_via(room_id, "b.test").code == 403
    assert bob.membership(room_id, "unban", user_id=alice.user_id).code == 200
    pair.pump(1)
    # No local user is in the room any more, yet A hears of the unban.
    assert member_of(a, room_id, alice.user_id) == "leave"
    assert alice.join_via(room_id, "b.test").code == 200
    assert member_of(b, room_id, alice.user_id) == "join"


def test_invites_by_create_room_and_by_state_reach_the_remote_server(
    pair: FederationPair,
) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    carol = b.user("carol")
    room_id = alice.create_room(preset="private_chat", invite=[bob.user_id])
    assert member_of(a, room_id, bob.user_id) == "invite"
    assert room_id in bob.sync()["rooms"]["invite"]

    resp = alice.put_state(
        room_id, "m.room.member", {"membership": "invite"}, carol.user_id
    )
    assert resp.code == 200, resp.json
    assert room_id in carol.sync()["rooms"]["invite"]
    event_id = a.get_success(
        a.hs.core.room_state.get_membership(room_id, carol.user_id)
    )[1]
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
    alice = a.user("alice")
    bob = b.user("bob")
    room_id = bob.create_room(preset="public_chat")
    requests = a.hs.federation.handshakes.remote.requests
    requests.transport = _LyingPeer(requests.transport)
    resp = alice.join_via(room_id, "b.test")
    assert (resp.code, resp.json["errcode"]) == (502, "M_UNKNOWN")
    assert a.get_success(a.hs.core.room_state.get_room_version(room_id)) is None
    assert room_id not in alice.sync()["rooms"]["join"]


def test_a_blocked_room_takes_no_remote_invites_and_no_joins(
    pair: FederationPair,
) -> None:
    """A room A's admin blocked (as Synapse): A's users cannot join it over
    federation, and B's invites into it are refused (403 to B)."""
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    _, root = a.register("root", admin=True)
    room_id = bob.create_room(preset="public_chat")
    block = f"/_synapse/admin/v1/rooms/{q(room_id)}/block"
    assert a.request("PUT", block, {"block": True}, token=root).code == 200
    join = alice.join_via(room_id, "b.test")
    assert (join.code, join.json["errcode"]) == (403, "M_FORBIDDEN")
    invite = bob.membership(room_id, "invite", user_id=alice.user_id)
    assert invite.code == 403, invite.json
    pair.pump(1)
    assert room_id not in alice.sync()["rooms"]["invite"]
    assert member_of(b, room_id, alice.user_id) is None
    a.request("PUT", block, {"block": False}, token=root)
    assert bob.membership(room_id, "invite", user_id=alice.user_id).code == 200
    assert room_id in alice.sync()["rooms"]["invite"]


def test_invite_from_an_unreachable_server_is_rejected_locally(
    pair: FederationPair,
) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    room_id = bob.create_room(preset="private_chat")
    assert bob.membership(room_id, "invite", user_id=alice.user_id).code == 200
    since = alice.sync()["next_batch"]
    pair.set_reachable("b.test", False)
    resp = alice.membership(room_id, "leave")
    assert resp.code == 200, resp.json
    assert member_of(a, room_id, alice.user_id) == "leave"
    body = alice.sync(since)
    assert room_id not in body["rooms"]["invite"]
    assert room_id in body["rooms"]["leave"]
    # B never heard of it: alice is still invited there.
    assert member_of(b, room_id, alice.user_id) == "invite"


@pytest.mark.parametrize("version", ["1", "3", "7", "11", "12"])
def test_join_invite_and_leave_in_every_event_format(
    pair: FederationPair, version: str
) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    carol = a.user("carol")
    bob = b.user("bob")
    room_id = bob.create_room(preset="public_chat", room_version=version)
    resp = alice.join_via(room_id, "b.test")
    assert resp.code == 200, resp.json
    assert member_of(b, room_id, alice.user_id) == "join"
    assert bob.membership(room_id, "invite", user_id=carol.user_id).code == 200
    pair.pump(1)
    assert member_of(a, room_id, carol.user_id) == "invite"
    assert alice.membership(room_id, "leave").code == 200
    pair.pump(1)
    assert member_of(b, room_id, alice.user_id) == "leave"
    # Carol's invite, now that no user of A is in the room, is rejected
    # through B.
    assert carol.membership(room_id, "leave").code == 200
    assert member_of(b, room_id, carol.user_id) == "leave"
