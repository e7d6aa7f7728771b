"""The webhook notifier (plugins/webhooknotifier), end to end: a real user
sends through the client API; the plugin POSTs through the server's guarded
client (``PluginAPI.http_request``) on a real reactor to a real local
receiver, which checks the HMAC signature as a receiver would.

The homeserver runs on the fake reactor as every in-process test server
does (its clock drives the retries); the outbound client runs on a real
reactor, iterated until the plugin reports the outcome."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from twisted.internet.selectreactor import SelectReactor

from homeserver.config import parse_config
from homeserver.plugins.outbound import plugin_http_client
from tests.plugins_shipped.conftest import plugin_overrides
from tests.plugins_shipped.receiver import Receiver, serve_receiver
from tests.support import server as server_kit
from tests.support.server import TestServer

SECRET = "a-long-webhook-secret"
SAFETY_NET_S = 60.0  # a broken test's way out, never a timing assertion
LOOPBACK = {"ip_range_whitelist": ["127.0.0.1/32"]}


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    statuses = getattr(request, "param", [])
    yield from serve_receiver(statuses)


class Harness:
    """A server with the notifier loaded, and its real outbound reactor."""

    def __init__(
        self,
        make_server: Callable[..., TestServer],
        targets: list[dict[str, Any]],
        plugins: dict[str, Any] | None = None,
    ) -> None:
        settings = {"targets": targets, "max_attempts": 3, "initial_backoff_seconds": 5}
        overrides = plugin_overrides("webhooknotifier", "WebhookNotifier", settings)
        overrides["plugins"].update(plugins or {})
        section = parse_config(server_kit.test_config_dict(overrides)).plugins
        self.reactor = SelectReactor()
        client = plugin_http_client(
            self.reactor, section.ip_range_blacklist, section.ip_range_whitelist, 10
        )
        self.server = make_server(overrides, plugin_http=client)
        self.plugin = self.server.hs.plugins.objects["webhooknotifier"]

    def run_until(self, done: Callable[[], bool], clock_step: float = 0) -> None:
        """Iterate the real reactor (and move the server's clock by
        ``clock_step`` each round, for retries) until ``done()``."""
        deadline = time.monotonic() + SAFETY_NET_S
        while not done():
            assert time.monotonic() < deadline, "the notifier never finished"
            self.reactor.iterate(0.01)
            self.server.advance(clock_step)


def _signed(secret: str, body: bytes, header: str | None) -> bool:
    """The receiver's check, as plugins/webhooknotifier/README.md shows it."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return header is not None and hmac.compare_digest(expected, header)


def test_chosen_events_are_posted_signed(
    make_server: Callable[..., TestServer], receiver: Receiver
) -> None:
    alice_target = {
        "url": receiver.url,
        "secret": SECRET,
        "event_types": ["m.room.message"],
        "senders": ["@alice:test"],
    }
    harness = Harness(make_server, [alice_target], LOOPBACK)
    alice = harness.server.user("alice")
    bob = harness.server.user("bob")
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.send(room, "from bob: not for this hook")
    alice.put_state(room, "m.room.topic", {"topic": "state: not for this hook"})
    event_id = alice.send(room, "hello hook")
    harness.run_until(lambda: harness.plugin.delivered == 1)

    [got] = receiver.received
    assert got.path == "/hook"
    assert got.headers["content-type"] == "application/json"
    assert _signed(SECRET, got.body, got.headers.get("x-chatly-signature"))
    assert not _signed(
        "another-secret-entirely", got.body, got.headers.get("x-chatly-signature")
    )
    payload = json.loads(got.body)
    assert payload["local"] is True
    assert payload["event"]["event_id"] == event_id == got.headers["x-chatly-event-id"]
    assert payload["event"]["content"]["body"] == "hello hook"
    assert payload["event"]["room_id"] == room


MESSAGES_ONLY = {"event_types": ["m.room.message"]}


@pytest.mark.parametrize("receiver", [[500, 503]], indirect=True)
def test_failed_posts_are_retried_with_backoff(
    make_server: Callable[..., TestServer], receiver: Receiver
) -> None:
    target = {"url": receiver.url, "secret": SECRET, **MESSAGES_ONLY}
    harness = Harness(make_server, [target], LOOPBACK)
    alice = harness.server.user("alice")
    room = alice.create_room()
    event_id = alice.send(room, "eventually")
    harness.run_until(lambda: len(receiver.received) == 1)
    # The retry waits for the server's clock (5 s, then 10 s).
    harness.run_until(lambda: harness.plugin.delivered == 1, clock_step=1)

    tries = receiver.received
    assert len(tries) == 3
    assert {r.headers["x-chatly-event-id"] for r in tries} == {event_id}
    # Every try is the same delivery: same body, same delivery ID, signed.
    assert len({(r.body, r.headers["x-chatly-delivery"]) for r in tries}) == 1
    assert all(_signed(SECRET, r.body, r.headers["x-chatly-signature"]) for r in tries)
    harness.server.advance(3600)
    harness.reactor.iterate(0)
    assert len(receiver.received) == 3


@pytest.mark.parametrize("receiver", [[500, 500, 500, 500]], indirect=True)
def test_retries_are_bounded(
    make_server: Callable[..., TestServer], receiver: Receiver
) -> None:
    target = {"url": receiver.url, "secret": SECRET, **MESSAGES_ONLY}
    harness = Harness(make_server, [target], LOOPBACK)
    alice = harness.server.user("alice")
    alice.send(alice.create_room(), "never taken")
    harness.run_until(lambda: harness.plugin.dropped == 1, clock_step=1)
    assert len(receiver.received) == 3  # max_attempts
    harness.server.advance(3600)
    harness.reactor.iterate(0)
    assert len(receiver.received) == 3


def test_denied_addresses_are_never_connected_to(
    make_server: Callable[..., TestServer], receiver: Receiver
) -> None:
    # Without the loopback allowlist, the default plugins.ip_range_blacklist
    # covers 127.0.0.0/8.
    target = {"url": receiver.url, "secret": SECRET, **MESSAGES_ONLY}
    harness = Harness(make_server, [target])
    alice = harness.server.user("alice")
    alice.send(alice.create_room(), "to a denied address")
    harness.run_until(lambda: harness.plugin.dropped == 1, clock_step=1)
    assert receiver.connections == 0 and receiver.received == []
