"""A local HTTP receiver for outgoing webhooks: records each POST (headers and
raw body) and answers with the next status of a script (then 200)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import attrs

WAIT_TIMEOUT = 60.0


@attrs.frozen
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


class WebhookReceiver:
    def __init__(self, statuses: list[int] | None = None) -> None:
        self.deliveries: list[Delivery] = []
        self._statuses = list(statuses or [])
        self._condition = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._condition:
                    status = receiver._statuses.pop(0) if receiver._statuses else 200
                    receiver.deliveries.append(
                        Delivery(self.path, dict(self.headers.items()), body, status)
                    )
                    receiver._condition.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def wait_for_count(
        self, count: int, timeout: float = WAIT_TIMEOUT
    ) -> list[Delivery]:
        """Wait until ``count`` deliveries arrived; all of them so far."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.deliveries) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"{len(self.deliveries)} deliveries, wanted {count}"
                    )
                self._condition.wait(remaining)
            return list(self.deliveries)

    @contextmanager
    def running(self) -> Iterator[WebhookReceiver]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
