"""Setting a test server up to receive events from a hand-built remote room."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from homeserver.events.model import EventTypes
from homeserver.federation.errors import HttpResponseError
from homeserver.federation.ingest.events import FederationEventService
from homeserver.federation.interfaces import Query
from tests.federation.remote_room import REMOTE, RemoteRoom, StaticKeyRing, pdus
from tests.support import TestServer, User
from tests.support.server import TEST_SIGNING_KEY

FED = "/_matrix/federation/v1"


class RemoteRoomServer:
    """Answers our server's federation requests the way ``REMOTE`` would, from
    a ``RemoteRoom`` (a stand-in for the other server, not for our code)."""

    def __init__(self, room: RemoteRoom) -> None:
        self.room = room
        self.requests: list[tuple[str, str]] = []
        self.withheld: set[str] = set()  # event IDs /get_missing_events leaves out

    async def get_json(
        self,
        destination: str,
        path: str,
        query: Query | None = None,
        *,
        timeout_ms: int | None = None,
        signed: bool = True,
    ) -> Any:
        self.requests.append(("GET", path))
        room = self.room
        parts = [unquote(p) for p in path[len(FED) + 1 :].split("/")]
        if parts[0] == "event" and parts[1] in room.events:
            return {"origin": REMOTE, "pdus": [room.pdu(room.events[parts[1]])]}
        if parts[0] == "event_auth" and parts[2] in room.events:
            return {"auth_chain": pdus(room.auth_chain([parts[2]]))}
        if parts[0] == "state" and query:
            event_id = str(query["event_id"])
            before = room.state_at(room.events[event_id].prev_event_ids)
            chain = room.auth_chain(list(before.values()))
            return {
                "pdus": pdus([room.events[e] for e in sorted(before.values())]),
                "auth_chain": pdus(chain),
            }
        if parts[0] == "state_ids" and query:
            event_id = str(query["event_id"])
            before = room.state_at(room.events[event_id].prev_event_ids)
            chain = room.auth_chain(list(before.values()))
            return {
                "pdu_ids": sorted(before.values()),
                "auth_chain_ids": [e.event_id for e in chain],
            }
        raise HttpResponseError(404, {"errcode": "M_NOT_FOUND", "error": path})

    async def put_json(
        self, destination: str, path: str, body: Any, *a: Any, **k: Any
    ) -> Any:
        raise HttpResponseError(404, {"errcode": "M_UNRECOGNIZED"})

    async def post_json(
        self, destination: str, path: str, body: Any, *a: Any, **k: Any
    ) -> Any:
        self.requests.append(("POST", path))
        room = self.room
        if "/get_missing_events/" not in path:
            raise HttpResponseError(404, {"errcode": "M_UNRECOGNIZED"})
        earliest = set(body["earliest_events"])
        found: dict[str, Any] = {}
        todo = list(body["latest_events"])
        while todo and len(found) < body["limit"]:
            eid = todo.pop(0)
            for prev in room.events[eid].prev_event_ids:
                if prev in earliest or prev in found or prev in self.withheld:
                    continue
                found[prev] = room.events[prev]
                todo.append(prev)
        events = sorted(found.values(), key=lambda e: e.depth)
        return {"events": pdus(events)}


def receiving(server: TestServer) -> FederationEventService:
    """The server's remote event service."""
    return server.hs.federation.ingest.events  # type: ignore[no-any-return]


def use_remote(server: TestServer, room: RemoteRoom) -> RemoteRoomServer:
    """Point the server's event pipeline at ``room``'s keys and server."""
    service = receiving(server)
    service.verifier.keyring = StaticKeyRing({**room.keys, "test": TEST_SIGNING_KEY})
    remote = RemoteRoomServer(room)
    service.fetcher.transport = remote
    return remote


def join_remote_room(
    server: TestServer, room: RemoteRoom, localpart: str = "bob"
) -> User:
    """A local user joins ``room`` as if through send_join; the ``User``."""
    user = server.user(localpart)
    user_id = user.user_id
    before = room.state
    join = room.send(EventTypes.MEMBER, user_id, {"membership": "join"}, user_id)
    chain = room.auth_chain(list(before.values()) + [join.event_id])
    state_events = [room.events[eid] for eid in before.values()]
    server.get_success(
        receiving(server).process_remote_join(
            REMOTE,
            room.version,
            join,
            pdus(state_events),
            pdus(chain),
        )
    )
    return user
