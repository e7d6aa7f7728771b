"""A small synchronous Matrix client for the interop tests, over plain HTTP.

Both servers are driven through the same client-server API, so a test reads the
same whichever side a user lives on. ``Client.sync_until`` long-polls /sync and
keeps everything it has seen, so a test can wait for "the event shows up".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

JsonDict = dict[str, Any]

SYNC_TIMEOUT = 45.0


class HttpError(Exception):
    """A non-2xx answer."""

    def __init__(self, method: str, url: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {url} -> {status}: {body}")
        self.status = status
        self.body = body

    @property
    def errcode(self) -> str | None:
        """The Matrix errcode of the answer, if any."""
        return self.body.get("errcode") if isinstance(self.body, dict) else None


def insecure_tls() -> ssl.SSLContext:
    """A TLS context that accepts self-signed certificates (test servers)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def request(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
    raw_body: bytes | None = None,
) -> Any:
    """One HTTP request; the decoded JSON answer, or HttpError."""
    data = raw_body
    if data is None and body is not None:
        data = json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    context = insecure_tls() if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            text = resp.read()
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = raw.decode(errors="replace")
        raise HttpError(method, url, exc.code, parsed) from None
    return json.loads(text) if text else {}


def wait_for_http(url: str, timeout: float, alive: Callable[[], bool]) -> None:
    """Wait until ``url`` answers 200, while ``alive()`` holds.

    Raises:
        RuntimeError: the process died or the time ran out.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the process exited")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def register(
    base_url: str, shared_secret: str, localpart: str, admin: bool = False
) -> Client:
    """Create an account through the shared-secret admin API (both servers
    implement Synapse's /_synapse/admin/v1/register) and log it in."""
    url = f"{base_url}/_synapse/admin/v1/register"
    nonce = request("GET", url)["nonce"]
    password = _password(localpart)
    mac = hmac.new(shared_secret.encode(), digestmod=hashlib.sha1)
    for part in (nonce, localpart, password):
        mac.update(part.encode())
        mac.update(b"\x00")
    mac.update(b"admin" if admin else b"notadmin")
    result = request(
        "POST",
        url,
        {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        },
    )
    token = result["access_token"]
    device_id = result.get("device_id")
    if not device_id:
        whoami = f"{base_url}/_matrix/client/v3/account/whoami"
        device_id = request("GET", whoami, token=token)["device_id"]
    return Client(base_url, result["user_id"], token, str(device_id))


def _password(localpart: str) -> str:
    return "interop password " + localpart


def log_in_again(client: Client, device_name: str = "another device") -> Client:
    """A new device of ``client``'s user (POST /login with the password
    ``register`` set)."""
    localpart = client.user_id[1:].split(":")[0]
    result = request(
        "POST",
        f"{client.base_url}/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": _password(localpart),
            "initial_device_display_name": device_name,
        },
    )
    return Client(
        client.base_url, result["user_id"], result["access_token"], result["device_id"]
    )


def quote(value: str) -> str:
    """Percent-encode one path segment."""
    return urllib.parse.quote(value, safe="")


class SyncState:
    """Everything one user's /sync has returned so far."""

    def __init__(self) -> None:
        self.timeline: dict[str, list[JsonDict]] = {}
        self.state: dict[str, list[JsonDict]] = {}
        self.ephemeral: dict[str, list[JsonDict]] = {}
        self.invites: dict[str, list[JsonDict]] = {}
        self.left: dict[str, list[JsonDict]] = {}
        self.joined: set[str] = set()
        self.presence: list[JsonDict] = []
        self.to_device: list[JsonDict] = []
        self.device_lists_changed: set[str] = set()

    def absorb(self, body: JsonDict) -> None:
        """Add one /sync response."""
        self.presence.extend(body.get("presence", {}).get("events", []))
        self.to_device.extend(body.get("to_device", {}).get("events", []))
        self.device_lists_changed.update(
            body.get("device_lists", {}).get("changed", [])
        )
        rooms = body.get("rooms", {})
        for room_id, room in rooms.get("join", {}).items():
            self.joined.add(room_id)
            self.left.pop(room_id, None)
            self.invites.pop(room_id, None)
            self.timeline.setdefault(room_id, []).extend(
                room.get("timeline", {}).get("events", [])
            )
            self.state.setdefault(room_id, []).extend(
                room.get("state", {}).get("events", [])
            )
            self.ephemeral.setdefault(room_id, []).extend(
                room.get("ephemeral", {}).get("events", [])
            )
        for room_id, room in rooms.get("invite", {}).items():
            self.invites[room_id] = room.get("invite_state", {}).get("events", [])
        for room_id, room in rooms.get("leave", {}).items():
            self.joined.discard(room_id)
            self.invites.pop(room_id, None)
            self.left[room_id] = room.get("timeline", {}).get("events", [])
            self.timeline.setdefault(room_id, []).extend(self.left[room_id])

    def events(self, room_id: str) -> list[JsonDict]:
        """Timeline and state events seen in ``room_id``."""
        return self.state.get(room_id, []) + self.timeline.get(room_id, [])

    def find(
        self, room_id: str, predicate: Callable[[JsonDict], bool]
    ) -> JsonDict | None:
        """The last event of ``room_id`` matching ``predicate``."""
        found = [event for event in self.events(room_id) if predicate(event)]
        return found[-1] if found else None


class Client:
    """A logged-in user on one server."""

    def __init__(self, base_url: str, user_id: str, token: str, device_id: str) -> None:
        self.base_url = base_url
        self.user_id = user_id
        self.token = token
        self.device_id = device_id
        self.seen = SyncState()
        self.next_batch: str | None = None

    def __repr__(self) -> str:
        return f"Client({self.user_id})"

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        """An authenticated client-server API request (path after /v3)."""
        url = f"{self.base_url}/_matrix/client/v3{path}"
        return request(method, url, body, token=self.token, **kw)

    def create_room(self, **body: Any) -> str:
        """POST /createRoom; the room ID."""
        return str(self.call("POST", "/createRoom", body)["room_id"])

    def join(self, room: str, via: list[str] | None = None) -> str:
        """POST /join/{room}; the room ID."""
        query = urllib.parse.urlencode([("server_name", s) for s in via or []])
        path = f"/join/{quote(room)}" + (f"?{query}" if query else "")
        return str(self.call("POST", path, {}, timeout=90)["room_id"])

    def leave(self, room_id: str) -> None:
        """POST /rooms/{room}/leave."""
        self.call("POST", f"/rooms/{quote(room_id)}/leave", {}, timeout=90)

    def membership_action(self, action: str, room_id: str, user_id: str) -> None:
        """invite, kick, ban or unban ``user_id``."""
        body = {"user_id": user_id, "reason": f"interop {action}"}
        self.call("POST", f"/rooms/{quote(room_id)}/{action}", body, timeout=90)

    def send(self, room_id: str, body: str, event_type: str = "m.room.message") -> str:
        """Send a text message; its event ID."""
        txn = f"t{time.monotonic_ns()}"
        content = {"msgtype": "m.text", "body": body}
        path = f"/rooms/{quote(room_id)}/send/{event_type}/{txn}"
        return str(self.call("PUT", path, content)["event_id"])

    def set_state(
        self, room_id: str, event_type: str, content: JsonDict, state_key: str = ""
    ) -> str:
        """PUT a state event; its event ID."""
        path = f"/rooms/{quote(room_id)}/state/{event_type}/{quote(state_key)}"
        return str(self.call("PUT", path, content)["event_id"])

    def get_state(self, room_id: str, event_type: str, state_key: str = "") -> Any:
        """GET the content of one state event."""
        path = f"/rooms/{quote(room_id)}/state/{event_type}/{quote(state_key)}"
        return self.call("GET", path)

    def redact(self, room_id: str, event_id: str) -> str:
        """Redact ``event_id``; the redaction's event ID."""
        txn = f"r{time.monotonic_ns()}"
        path = f"/rooms/{quote(room_id)}/redact/{quote(event_id)}/{txn}"
        return str(self.call("PUT", path, {"reason": "interop"})["event_id"])

    def typing(self, room_id: str, typing: bool) -> None:
        """Start (for 30 s) or stop typing."""
        body: JsonDict = {"typing": typing}
        if typing:
            body["timeout"] = 30_000
        path = f"/rooms/{quote(room_id)}/typing/{quote(self.user_id)}"
        self.call("PUT", path, body)

    def read_receipt(self, room_id: str, event_id: str) -> None:
        """Send an m.read receipt for ``event_id``."""
        path = f"/rooms/{quote(room_id)}/receipt/m.read/{quote(event_id)}"
        self.call("POST", path, {})

    def sync_once(self, timeout_ms: int = 1000) -> JsonDict:
        """One /sync from where the last one ended; absorbed into ``seen``."""
        params = {"timeout": str(timeout_ms)}
        if self.next_batch:
            params["since"] = self.next_batch
        body: JsonDict = self.call(
            "GET", "/sync?" + urllib.parse.urlencode(params), timeout=60
        )
        self.next_batch = body["next_batch"]
        self.seen.absorb(body)
        return body

    def sync_until(
        self,
        predicate: Callable[[SyncState], Any],
        what: str,
        timeout: float = SYNC_TIMEOUT,
    ) -> Any:
        """Sync until ``predicate(seen)`` is truthy; that value.

        Raises:
            AssertionError: it did not happen within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self.seen)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.user_id} did not see {what} within {timeout:.0f}s"
                )
            self.sync_once()

    def wait_for_event(
        self,
        room_id: str,
        predicate: Callable[[JsonDict], bool],
        what: str,
        timeout: float = SYNC_TIMEOUT,
    ) -> JsonDict:
        """Sync until an event of ``room_id`` matches; that event."""
        return dict(
            self.sync_until(lambda seen: seen.find(room_id, predicate), what, timeout)
        )

    def wait_for_event_id(
        self, room_id: str, event_id: str, timeout: float = SYNC_TIMEOUT
    ) -> JsonDict:
        """Sync until ``event_id`` shows up in ``room_id``."""
        return self.wait_for_event(
            room_id, lambda e: e.get("event_id") == event_id, event_id, timeout
        )

    def wait_for_membership(
        self, room_id: str, user_id: str, membership: str, timeout: float = SYNC_TIMEOUT
    ) -> JsonDict:
        """Sync until the last membership event of ``user_id`` is ``membership``."""

        def latest(seen: SyncState) -> JsonDict | None:
            event = seen.find(
                room_id,
                lambda e: (
                    e.get("type") == "m.room.member" and e.get("state_key") == user_id
                ),
            )
            if event and event["content"].get("membership") == membership:
                return event
            return None

        return dict(
            self.sync_until(latest, f"{user_id} {membership} in {room_id}", timeout)
        )
