"""Two real servers sharing a room, joined without the join handshake.

The join is put together from this helper's own pieces, standing in for
make_join/send_join: the joining server builds and signs the join on the
room server's extremities, delivers it with a signed PUT /send, fetches the
state before it with GET /state, and stores the room with
``process_remote_join``. Everything after that is real federation traffic.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import attrs

from homeserver.events.builder import build_event
from homeserver.events.model import Event, EventTypes
from homeserver.services.rooms.event_creation import auth_state
from tests.federation.pair import Federation
from tests.harness import TestServer

FED = "/_matrix/federation/v1"


@attrs.define
class SharedRoom:
    """A room created on ``home`` by ``creator``, joined from ``guest``."""

    room_id: str
    creator: str
    creator_token: str
    joiner: str
    joiner_token: str
    join_event: Event


def server_name(server: TestServer) -> str:
    """The server's name."""
    return server.config.server.server_name


def create_room(server: TestServer, token: str, **body: Any) -> str:
    """Create a room over the client API."""
    resp = server.request(
        "POST",
        "/_matrix/client/v3/createRoom",
        {"preset": "public_chat", **body},
        token,
    )
    assert resp.code == 200, resp.json
    return str(resp.json["room_id"])


def build_join(
    home: TestServer, guest: TestServer, room_id: str, user_id: str
) -> Event:
    """The guest's signed join event on the home server's extremities."""
    hs = home.hs
    version = home.get_success(hs.core.room_state.get_room_version(room_id))
    prevs = sorted(home.get_success(hs.core.events.get_forward_extremities(room_id)))
    state = home.get_success(hs.core.room_state.get_current_state_ids(room_id))
    content = {"membership": "join"}
    auth = auth_state(version, EventTypes.MEMBER, user_id, user_id, content, state)
    parents = home.get_success(hs.core.events.get_events(prevs))
    return build_event(
        version,
        room_id=room_id,
        type=EventTypes.MEMBER,
        sender=user_id,
        content=content,
        prev_event_ids=prevs,
        auth_event_ids=sorted(auth.values()),
        depth=max(e.depth for e in parents.values()) + 1,
        origin_server_ts=guest.hs.core.clock.time_msec(),
        server_name=server_name(guest),
        signing_key=guest.signing_key,
        state_key=user_id,
    )


def send_pdus(
    fed: Federation, origin: TestServer, dest: TestServer, txn_id: str, pdus: list[Any]
) -> Any:
    """A signed PUT /send from ``origin`` into ``dest``; the response."""
    body = {
        "origin": server_name(origin),
        "origin_server_ts": origin.hs.core.clock.time_msec(),
        "pdus": pdus,
    }
    return fed.signed_request(origin, dest, "PUT", f"{FED}/send/{txn_id}", body)


def join_from(
    fed: Federation, home: TestServer, guest: TestServer, room_id: str, localpart: str
) -> tuple[str, str, Event]:
    """A new guest user joins the home server's room; (user, token, join)."""
    user_id, token = guest.register(localpart)
    join = build_join(home, guest, room_id, user_id)
    resp = send_pdus(fed, guest, home, f"join-{localpart}", [join.pdu])
    assert resp.code == 200 and resp.json["pdus"] == {join.event_id: {}}, resp.json
    state = guest.get_success(
        guest.hs.federation.transport.get_json(
            server_name(home),
            f"{FED}/state/{room_id.replace('!', '%21').replace(':', '%3A')}",
            {"event_id": join.event_id},
        )
    )
    version = home.get_success(home.hs.core.room_state.get_room_version(room_id))
    guest.get_success(
        guest.hs.federation.ingest.events.process_remote_join(
            server_name(home), version, join, state["pdus"], state["auth_chain"]
        )
    )
    return user_id, token, join


def shared_room(
    fed: Federation, home: TestServer, guest: TestServer, **room: Any
) -> SharedRoom:
    """alice on ``home`` creates a public room; bob on ``guest`` joins it."""
    alice, alice_token = home.register("alice")
    room_id = create_room(home, alice_token, **room)
    bob, bob_token, join = join_from(fed, home, guest, room_id, "bob")
    return SharedRoom(room_id, alice, alice_token, bob, bob_token, join)


def send_message(server: TestServer, token: str, room_id: str, body: str) -> str:
    """Send an m.text message over the client API; its event ID."""
    resp = server.request(
        "PUT",
        f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{quote(body)}",
        {"msgtype": "m.text", "body": body},
        token,
    )
    assert resp.code == 200, resp.json
    return str(resp.json["event_id"])


def timeline(server: TestServer, token: str, room_id: str) -> list[dict[str, Any]]:
    """The room's timeline in an initial /sync."""
    resp = server.request("GET", "/_matrix/client/v3/sync", token=token)
    assert resp.code == 200, resp.json
    joined = resp.json["rooms"]["join"]
    return joined[room_id]["timeline"]["events"] if room_id in joined else []
