"""Kit of the pusher tests: an in-process test server (fake reactor) whose
requests to push gateways go through the real guarded client on a real
reactor, to a real HTTP push gateway on loopback (``gateway.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.selectreactor import SelectReactor

from homeserver.composition.pushers import push_client
from homeserver.config import parse_config
from homeserver.http_client.untrusted import HostResolver
from tests.appservices.fake_as import AppServiceListener
from tests.push.pushers.gateway import NOTIFY_PATH, FakePushGateway
from tests.support.client import User
from tests.support.reactors import pump_both
from tests.support.server import TestServer, test_config_dict

LOOPBACK = ["127.0.0.0/8", "::1/128"]


def set_http_pusher(user: User, url: str, pushkey: str = "key-1", **data: Any) -> None:
    """Register an http pusher to ``url`` through the client API
    (``data``: more of its data)."""
    user.post(
        "/pushers/set",
        {
            "kind": "http",
            "app_id": "com.example.app",
            "pushkey": pushkey,
            "app_display_name": "Example",
            "device_display_name": "Phone",
            "lang": "en",
            "data": {"url": url, **data},
        },
        expect=200,
    )


class PushHarness:
    """A test server, its real reactor and one push gateway.

    Args:
        make_server: the ``make_server`` fixture.
        overrides: config overrides (``push.ip_range_whitelist`` defaults to
            loopback, where the gateway runs).
        resolve_host: the DNS of the guarded client (default: the system's).
    """

    def __init__(
        self,
        make_server: Callable[..., TestServer],
        overrides: dict[str, Any] | None = None,
        resolve_host: HostResolver | None = None,
    ) -> None:
        self.reactor = SelectReactor()
        self.gateway = FakePushGateway()
        self.listener = AppServiceListener(self.reactor, self.gateway)
        overrides = dict(overrides or {})
        push = {"ip_range_whitelist": LOOPBACK, **overrides.get("push", {})}
        self.overrides = {**overrides, "push": push}
        self.resolve_host = resolve_host
        self.server = self.new_server(make_server)

    @property
    def url(self) -> str:
        """The gateway's notify URL."""
        return self.listener.url + NOTIFY_PATH

    def new_server(self, make: Callable[..., Any], *args: Any) -> TestServer:
        """A server (``make(*args, overrides, push_http=...)``)."""
        section = parse_config(test_config_dict(self.overrides)).push
        client = push_client(self.reactor, section, self.resolve_host)
        server: TestServer = make(*args, self.overrides, push_http=client)
        return server

    def set_pusher(
        self, user: User, pushkey: str = "key-1", url: str | None = None, **data: Any
    ) -> None:
        """Register an http pusher through the client API (to the gateway,
        or ``url``; ``data``: more of its data)."""
        set_http_pusher(user, url or self.url, pushkey, **data)

    def pump(self, until: Callable[[], bool], advance: float = 0) -> None:
        """Run both reactors until ``until()`` holds (``advance``: seconds of
        fake time to move on each turn, to let retry timers fire)."""
        pump_both(self.reactor, self.server.reactor, until, advance)

    def settle(self) -> None:
        """Run both reactors until no pusher is delivering."""

        def idle() -> bool:
            for runners in self.server.hs.pushers.pool.runners.values():
                for _, runner in runners.values():
                    if getattr(runner, "_running", False):
                        return False
            return True

        # A few turns first, so that work started by the last request has
        # begun.
        for _ in range(5):
            self.reactor.iterate(0.005)
            self.server.reactor.advance(0)
        self.pump(idle)

    def stored(self, user: User) -> list[Any]:
        """The user's stored pushers."""
        store = self.server.hs.pushers.store
        return list(self.server.get_success(store.get_pushers_by_user(user.user_id)))

    def close(self) -> None:
        if self.listener._port is not None:
            self.listener.stop()
        self.reactor.iterate(0)
