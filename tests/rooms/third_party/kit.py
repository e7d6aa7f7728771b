"""Kit of the third-party invite tests: test servers (fake reactor) whose
requests to identity servers go through the real guarded client on a real
reactor, to the test identity server on loopback
(``tests/support/identity_server.py``)."""

from __future__ import annotations

import json
import time
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.selectreactor import SelectReactor

from homeserver.composition.third_party_invites import identity_http_client
from homeserver.config import parse_config
from tests.support.client import User
from tests.support.identity_server import ACCESS_TOKEN, V2, IdentityServer
from tests.support.reactors import SAFETY_NET_S, pump_both
from tests.support.server import FakeResponse, TestServer, test_config_dict

LOOPBACK = ["127.0.0.0/8", "::1/128"]
# The test identity server speaks http on loopback: both allowed by config.
IDENTITY_CONFIG = {"scheme": "http", "ip_range_whitelist": LOOPBACK}


class IdentityHarness:
    """A real reactor with the identity server on it."""

    def __init__(self) -> None:
        self.reactor = SelectReactor()
        self.identity = IdentityServer(self.reactor)

    def overrides(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Config overrides for a server that may reach the identity server."""
        extra = dict(extra or {})
        section = {**IDENTITY_CONFIG, **extra.pop("identity_server", {})}
        return {**extra, "identity_server": section}

    def client(self, overrides: dict[str, Any]) -> Any:
        """The guarded client a server with ``overrides`` would build."""
        section = parse_config(test_config_dict(overrides)).identity_server
        return identity_http_client(self.reactor, section)

    def call(
        self,
        server: TestServer,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
    ) -> FakeResponse:
        """A request to ``server`` that may call the identity server: both
        reactors run until it is answered."""
        pending = server.start_json_request(method, path, body, token)
        pump_both(self.reactor, server.reactor, lambda: pending.done)
        return pending.response()

    def identity_post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """What a client sends the identity server itself (``path`` under
        ``/_matrix/identity/v2``): its status and JSON answer."""
        http = self.client({"identity_server": IDENTITY_CONFIG})
        headers = {
            "Authorization": f"Bearer {ACCESS_TOKEN}",
            "Content-Type": "application/json",
        }
        url = f"http://{self.identity.name}{V2}{path}"
        done = Deferred.fromCoroutine(
            http.request("POST", url, headers, json.dumps(body).encode())
        )
        answers: list[Any] = []
        done.addBoth(answers.append)
        deadline = time.monotonic() + SAFETY_NET_S
        while not answers:
            assert time.monotonic() < deadline, "the identity server never answered"
            self.reactor.iterate(0.005)
        response = answers[0]
        return response.code, json.loads(response.body)

    def invite_email(
        self, user: User, room_id: str, address: str, **extra: Any
    ) -> FakeResponse:
        """POST /invite by email as ``user``, through the identity server."""
        body = {
            "id_server": self.identity.name,
            "id_access_token": ACCESS_TOKEN,
            "medium": "email",
            "address": address,
            **extra,
        }
        path = f"/_matrix/client/v3/rooms/{room_id}/invite"
        return self.call(user.server, "POST", path, body, user.token)

    def onbind(self, server: TestServer, body: dict[str, Any]) -> FakeResponse:
        """The identity server's onbind callback to ``server``."""
        return self.call(server, "PUT", "/_matrix/federation/v1/3pid/onbind", body)

    def close(self) -> None:
        self.identity.stop()
        self.reactor.iterate(0)
