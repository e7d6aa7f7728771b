"""``User``: one logged-in device of a test server, and the client calls tests make.

Every method takes the path first, then the body; paths not starting with
``/_`` are under ``/_matrix/client/v3``. The plain verbs return the response
(``expect=CODE`` asserts its status); the domain helpers assert success and
return what the test needs (a room ID, an event ID, a /sync body), unless told
``expect=None`` (or another code), when they return the response.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import attrs

from tests.support.events import timeline as room_timeline
from tests.support.urls import client_path, q, query_string

if TYPE_CHECKING:
    from tests.support.server import FakeResponse, TestServer

_txn_ids = itertools.count()


def check(resp: FakeResponse, expect: int | None) -> FakeResponse:
    """Assert ``resp`` has status ``expect`` (unless None); return it."""
    if expect is not None:
        assert resp.code == expect, (resp.code, resp.json)
    return resp


@attrs.define(eq=False)
class User:
    """A user's access token on ``server``; ``server.user("alice")`` makes one."""

    server: TestServer
    user_id: str
    token: str
    device_id: str | None = None

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]

    def on(self, server: TestServer) -> User:
        """The same device on another server object (one restarted on the
        same database)."""
        return attrs.evolve(self, server=server)

    # --- HTTP verbs -------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        expect: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> FakeResponse:
        """Any request as this user; ``body`` is JSON (or raw bytes)."""
        resp = self.server.request(
            method, client_path(path), body, token=self.token, headers=headers
        )
        return check(resp, expect)

    def get(
        self, path: str, *, expect: int | None = None, **query: Any
    ) -> FakeResponse:
        """GET with query parameters (dicts and lists become JSON; None is left out)."""
        return self.request("GET", path + query_string(query), expect=expect)

    def put(
        self, path: str, body: Any = None, *, expect: int | None = None
    ) -> FakeResponse:
        return self.request("PUT", path, body, expect=expect)

    def post(
        self, path: str, body: Any = None, *, expect: int | None = None
    ) -> FakeResponse:
        return self.request("POST", path, body, expect=expect)

    def delete(
        self, path: str, body: Any = None, *, expect: int | None = None
    ) -> FakeResponse:
        return self.request("DELETE", path, body, expect=expect)

    # --- rooms ------------------------------------------------------------

    def create_room(self, **body: Any) -> str:
        """POST /createRoom with ``body``; the new room's ID."""
        return str(self.post("/createRoom", body, expect=200).json["room_id"])

    def send_event(
        self,
        room_id: str,
        content: Any,
        event_type: str = "m.room.message",
        *,
        txn_id: str | None = None,
        expect: int | None = None,
    ) -> FakeResponse:
        """PUT /rooms/{roomId}/send/{eventType}/{txnId}; the response."""
        txn = txn_id or f"t{next(_txn_ids)}"
        path = f"/rooms/{room_id}/send/{event_type}/{txn}"
        return self.put(path, content, expect=expect)

    def send(self, room_id: str, text: str, **content: Any) -> str:
        """Send an m.text message (extra ``content`` keys merged in); its event ID."""
        body = {"msgtype": "m.text", "body": text, **content}
        return str(self.send_event(room_id, body, expect=200).json["event_id"])

    def put_state(
        self,
        room_id: str,
        event_type: str,
        content: Any,
        state_key: str = "",
        *,
        expect: int | None = None,
    ) -> FakeResponse:
        """PUT /rooms/{roomId}/state/{eventType}/{stateKey}; the response."""
        path = f"/rooms/{room_id}/state/{event_type}/{state_key}"
        return self.put(path, content, expect=expect)

    def state(self, room_id: str, event_type: str, state_key: str = "") -> Any:
        """GET one state event's content (which must exist)."""
        path = f"/rooms/{room_id}/state/{event_type}/{state_key}"
        return self.get(path, expect=200).json

    def membership(
        self, room_id: str, action: str, *, expect: int | None = None, **body: Any
    ) -> FakeResponse:
        """POST /rooms/{roomId}/{action} (join, leave, invite, kick, ban, ...)."""
        return self.post(f"/rooms/{room_id}/{action}", body, expect=expect)

    def join(self, room_id: str, *, expect: int | None = 200) -> FakeResponse:
        """POST /rooms/{roomId}/join."""
        return self.membership(room_id, "join", expect=expect)

    def leave(self, room_id: str, *, expect: int | None = 200) -> FakeResponse:
        """POST /rooms/{roomId}/leave."""
        return self.membership(room_id, "leave", expect=expect)

    def invite(
        self, room_id: str, user_id: str, *, expect: int | None = 200
    ) -> FakeResponse:
        """POST /rooms/{roomId}/invite for ``user_id``."""
        return self.membership(room_id, "invite", expect=expect, user_id=user_id)

    def join_via(
        self, room: str, via: str | None = None, *, expect: int | None = None
    ) -> FakeResponse:
        """POST /join/{roomIdOrAlias}, through server ``via`` when given."""
        path = f"/join/{q(room)}" + (f"?via={via}" if via else "")
        return self.post(path, {}, expect=expect)

    # --- reading ----------------------------------------------------------

    def messages(
        self, room_id: str, *, expect: int | None = None, **query: Any
    ) -> FakeResponse:
        """GET /rooms/{roomId}/messages (``dir`` defaults to ``b``)."""
        query.setdefault("dir", "b")
        return self.get(f"/rooms/{room_id}/messages", expect=expect, **query)

    def event(
        self, room_id: str, event_id: str, *, expect: int | None = None
    ) -> FakeResponse:
        """GET /rooms/{roomId}/event/{eventId}."""
        return self.get(f"/rooms/{room_id}/event/{event_id}", expect=expect)

    def timeline(self, room_id: str) -> list[dict[str, Any]]:
        """The room's timeline events in an initial /sync (none if it is absent)."""
        return room_timeline(self.sync(), room_id)

    def sync(self, since: str | None = None, **params: Any) -> Any:
        """A /sync (incremental from ``since`` when given) that must succeed; its body.
        ``params`` go in the query string (dicts, e.g. filters, as JSON)."""
        return self.get("/sync", expect=200, since=since, **params).json
