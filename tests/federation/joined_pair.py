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
from tests.support import TestServer, User

FED = "/_matrix/federation/v1"


@attrs.define
class SharedRoom:
    """A room created on ``home`` by ``creator``, joined from ``guest``."""

    room_id: str
    creator: User
    joiner: User
    join_event: Event


def server_name(server: TestServer) -> str:
    """The server's name."""
    return server.config.server.server_name


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
) -> tuple[User, Event]:
    """A new guest user joins the home server's room; (user, join)."""
    user = guest.user(localpart)
    join = build_join(home, guest, room_id, user.user_id)
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
    return user, join


def shared_room(
    fed: Federation, home: TestServer, guest: TestServer, **room: Any
) -> SharedRoom:
    """alice on ``home`` creates a public room; bob on ``guest`` joins it."""
    alice = home.user("alice")
    room_id = alice.create_room(**{"preset": "public_chat", **room})
    bob, join = join_from(fed, home, guest, room_id, "bob")
    return SharedRoom(room_id, alice, bob, join)


def send_message(user: User, room_id: str, body: str) -> str:
    """Send an m.text message with the body as its transaction ID; its event ID."""
    content = {"msgtype": "m.text", "body": body}
    resp = user.send_event(room_id, content, txn_id=quote(body), expect=200)
    return str(resp.json["event_id"])
