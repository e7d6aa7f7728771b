"""Kit of the application-service tests: an in-process test server (fake
reactor) whose requests to application services go through the real guarded
client on a real reactor, to a real HTTP server standing in for the AS
(``fake_as.py``)."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml
from twisted.internet.selectreactor import SelectReactor

from homeserver.composition.appservice_outbound import appservice_client
from homeserver.config import parse_config
from homeserver.services.appservices.registration import (
    AppServiceRegistration,
    parse_registration,
)
from tests.appservices.fake_as import AppServiceListener, FakeAppService
from tests.support.reactors import pump_both
from tests.support.server import (
    FakeResponse,
    PendingRequest,
    TestServer,
    test_config_dict,
)


@attrs.frozen(kw_only=True)
class Registration:
    """A registration as the outbound side sees it (``AppServiceTarget``)."""

    id: str
    url: str | None
    as_token: str
    hs_token: str
    sender: str
    users: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    rooms: tuple[str, ...] = ()
    exclusive: bool = True
    receive_ephemeral: bool = False
    msc3202: bool = False
    protocols: tuple[str, ...] = ()

    def is_interested_in_user(self, user_id: str) -> bool:
        return user_id == self.sender or _any(self.users, user_id)

    def is_interested_in_alias(self, alias: str) -> bool:
        return _any(self.aliases, alias)

    def is_interested_in_room(self, room_id: str) -> bool:
        return _any(self.rooms, room_id)

    def is_exclusive_user(self, user_id: str) -> bool:
        return self.exclusive and _any(self.users, user_id)

    def is_exclusive_alias(self, alias: str) -> bool:
        return self.exclusive and _any(self.aliases, alias)


def registration_file(reg: Registration) -> dict[str, Any]:
    """The registration YAML (as a dict) of a kit ``Registration``."""

    def spaces(regexes: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{"regex": r, "exclusive": reg.exclusive} for r in regexes]

    return {
        "id": reg.id,
        "url": reg.url,
        "as_token": reg.as_token,
        "hs_token": reg.hs_token,
        "sender_localpart": reg.sender[1:].split(":", 1)[0],
        "namespaces": {
            "users": spaces(reg.users),
            "aliases": spaces(reg.aliases),
            "rooms": spaces(reg.rooms),
        },
        "receive_ephemeral": reg.receive_ephemeral,
        "org.matrix.msc3202": reg.msc3202,
        "protocols": list(reg.protocols),
    }


def as_registration(reg: Registration) -> AppServiceRegistration:
    """The registration model's object for a kit ``Registration``."""
    return parse_registration(registration_file(reg), reg.sender.split(":", 1)[1])


def _any(patterns: Sequence[str], value: str) -> bool:
    return any(re.fullmatch(p, value) for p in patterns)


class AsHarness:
    """A test server, its real reactor and one fake AS.

    Args:
        make_server: the ``make_server`` fixture.
        overrides: config overrides.
        registration: keyword arguments of the ``Registration`` (id, tokens,
            sender and url get defaults; the url is the fake AS's).
    """

    def __init__(
        self,
        make_server: Callable[..., TestServer],
        overrides: dict[str, Any] | None = None,
        **registration: Any,
    ) -> None:
        self.reactor = SelectReactor()
        self.fake = FakeAppService()
        self.listener = AppServiceListener(self.reactor, self.fake)
        self.overrides = overrides or {}
        registration.setdefault("url", self.listener.url)
        self.registration = Registration(
            id=registration.pop("id", "bridge"),
            as_token=registration.pop("as_token", "as-secret"),
            hs_token=registration.pop("hs_token", "hs-secret"),
            sender=registration.pop("sender", "@bridgebot:test"),
            **registration,
        )
        # Registered through a registration file listed in
        # appservice.config_files, as an admin does: loaded before start-up.
        self.directory = Path(tempfile.mkdtemp(prefix="chatly-as-"))
        path = self.directory / f"{self.registration.id}.yaml"
        path.write_text(yaml.safe_dump(registration_file(self.registration)))
        section = dict(self.overrides.get("appservice", {}))
        section["config_files"] = [str(path)]
        self.overrides = {**self.overrides, "appservice": section}
        self.make_server = make_server
        self.server = self.new_server(make_server)

    def new_server(self, make: Callable[..., Any], *args: Any) -> TestServer:
        """A server (``make(*args, overrides, appservice_http=...)``) with the
        registration file in its config."""
        section = parse_config(test_config_dict(self.overrides)).appservice
        client = appservice_client(self.reactor, section)
        server: TestServer = make(*args, self.overrides, appservice_http=client)
        return server

    def pump(self, until: Callable[[], bool], advance: float = 0) -> None:
        """Run both reactors until ``until()`` holds (``advance``: seconds
        of fake time to move on each turn, to let retry timers fire)."""
        pump_both(self.reactor, self.server.reactor, until, advance)

    def settle(self) -> None:
        """Run both reactors until nothing is in flight towards the AS."""
        sender = self.server.hs.appservice_outbound.sender
        self.pump(
            lambda: (
                not any(q._running for q in sender.queues.values())
                and not sender._processing
            )
        )

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> FakeResponse:
        """A client request whose answer may need the AS (ping, lookups)."""
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
            f"Content-Length: {len(data)}\r\n"
        )
        if token is not None:
            head += f"Authorization: Bearer {token}\r\n"
        pending: PendingRequest = self.server.start_raw_request(
            head.encode("latin-1") + b"\r\n" + data
        )
        self.pump(lambda: pending.done)
        return pending.response()

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
        if self.listener._port is not None:
            self.listener.stop()
        self.reactor.iterate(0)
