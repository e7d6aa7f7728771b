"""A recording stand-in for the homeserver's client-server API, for the
bridge-level tests (the end-to-end tests use a real Chatly server).

It answers the calls a bridge makes as an application service (register,
profile, join, invite, leave, send, createRoom) with the spec's success
shapes and records each one, so a test can wait for "the bridge sent m.emote
as @irc_bob:test into !room:test". It also plays the homeserver's side of the
AS API: ``put_transaction`` sends events to the bridge with the hs_token.
"""

from __future__ import annotations

import http.server
import itertools
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import attrs

WAIT_TIMEOUT = 60.0


@attrs.frozen
class Call:
    """One client-server request the bridge made."""

    method: str
    path: str
    user_id: str | None
    body: dict[str, Any]


class StubHomeserver:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        # Statuses to answer the next calls with (then the normal answers).
        self.fail_next: list[int] = []
        self._condition = threading.Condition()
        self._ids = itertools.count()
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                user = parse_qs(url.query).get("user_id", [None])[0]
                call = Call(self.command, unquote(url.path), user, body)
                answer = stub.answer(call)
                # Recorded before the answer, so a test that saw the bridge's
                # reply to its own request also sees the call.
                with stub._condition:
                    stub.calls.append(call)
                    stub._condition.notify_all()
                status = stub.fail_next.pop(0) if stub.fail_next else 200
                if status != 200:
                    answer = {"errcode": "M_UNKNOWN", "error": "stub failure"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _handle

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, call: Call) -> dict[str, Any]:
        if call.path.endswith("/register"):
            return {"user_id": f"@{call.body.get('username')}:test"}
        if "/join/" in call.path:
            return {"room_id": call.path.rsplit("/join/", 1)[1]}
        if "/send/" in call.path:
            return {"event_id": f"$event{next(self._ids)}"}
        if call.path.endswith("/state/m.room.power_levels"):
            return {"users": {"@admin:test": 100}, "users_default": 0}
        if call.path.endswith("/createRoom"):
            return {"room_id": f"!created{next(self._ids)}:test"}
        return {}

    def wait_for(
        self, predicate: Callable[[Call], bool], timeout: float = WAIT_TIMEOUT
    ) -> Call:
        """The first recorded call matching ``predicate`` (consumed)."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for index, call in enumerate(self.calls):
                    if predicate(call):
                        del self.calls[index]
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching call; seen: {self.calls[-20:]}")
                self._condition.wait(remaining)

    def wait_for_send(self, room_id: str, user_id: str, msgtype: str) -> Call:
        return self.wait_for(
            lambda c: (
                f"/rooms/{room_id}/send/m.room.message/" in c.path
                and c.user_id == user_id
                and c.body.get("msgtype") == msgtype
            )
        )

    @contextmanager
    def running(self) -> Iterator[StubHomeserver]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


def put_transaction(
    as_url: str, hs_token: str | None, txn_id: str, events: list[dict[str, Any]]
) -> tuple[int, dict[str, Any]]:
    """PUT a transaction to an AS as the homeserver would; (status, body)."""
    request = urllib.request.Request(
        f"{as_url}/_matrix/app/v1/transactions/{txn_id}",
        data=json.dumps({"events": events}).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    if hs_token is not None:
        request.add_header("Authorization", f"Bearer {hs_token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def message(
    room_id: str, sender: str, body: str, msgtype: str = "m.text"
) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "room_id": room_id,
        "sender": sender,
        "event_id": f"${sender}{body}",
        "content": {"msgtype": msgtype, "body": body},
    }


def membership(room_id: str, user_id: str, value: str) -> dict[str, Any]:
    return {
        "type": "m.room.member",
        "room_id": room_id,
        "sender": user_id,
        "state_key": user_id,
        "event_id": f"${user_id}{value}",
        "content": {"membership": value},
    }
