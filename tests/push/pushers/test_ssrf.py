"""Requests to push gateways follow the SSRF rules (docs/outbound-requests.md):
a gateway on a denied address, by IP or by a name that resolves to one, is
never connected to; loopback is reached only when ``push.ip_range_whitelist``
allows it; a gateway's redirect is never followed (so it cannot lead a
request anywhere, denied or not)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.push.pushers.kit import LOOPBACK, PushHarness
from tests.support.client import User
from tests.support.server import TestServer


async def _to_loopback(host: str) -> list[str]:
    assert host == "gateway.test"
    return ["127.0.0.1"]


def _harness(
    make_server: Callable[..., TestServer], whitelist: list[str]
) -> Iterator[PushHarness]:
    harness = PushHarness(
        make_server,
        {"push": {"ip_range_whitelist": whitelist}},
        resolve_host=_to_loopback,
    )
    yield harness
    harness.close()


@pytest.fixture
def denied(make_server: Callable[..., TestServer]) -> Iterator[PushHarness]:
    yield from _harness(make_server, [])


@pytest.fixture
def allowed(make_server: Callable[..., TestServer]) -> Iterator[PushHarness]:
    yield from _harness(make_server, LOOPBACK)


def _send_one(harness: PushHarness, url: str) -> User:
    """Alice's pusher goes to ``url``; Bob sends her a message."""
    alice = harness.server.user("alice")
    bob = harness.server.user("bob")
    room = bob.create_room()
    bob.invite(room, alice.user_id)
    alice.join(room)
    harness.set_pusher(alice, url=url)
    bob.send(room, "hello")
    return alice


@pytest.mark.parametrize("by_name", [False, True])
def test_a_denied_gateway_is_never_contacted(
    denied: PushHarness, by_name: bool
) -> None:
    url = denied.url
    if by_name:
        url = url.replace("127.0.0.1", "gateway.test")
    alice = _send_one(denied, url)
    denied.pump(lambda: denied.stored(alice)[0].failing_since is not None)
    # Retries come and go; none connects.
    for _ in range(5):
        denied.server.reactor.advance(3600)
        denied.settle()
    assert denied.listener.connections == 0
    assert denied.gateway.received == []


def test_a_name_resolving_to_an_allowed_address_is_reached(
    allowed: PushHarness,
) -> None:
    _send_one(allowed, allowed.url.replace("127.0.0.1", "gateway.test"))
    allowed.pump(lambda: len(allowed.gateway.delivered()) == 1)
    assert allowed.listener.connections == 1


def test_a_redirect_from_the_gateway_is_not_followed(allowed: PushHarness) -> None:
    gateway = allowed.gateway
    gateway.redirect_to = allowed.listener.url + "/internal/admin"
    alice = _send_one(allowed, allowed.url)
    allowed.pump(lambda: len(gateway.received) == 1)
    # The refusal drops that notification (no retry) and keeps the pusher.
    for _ in range(3):
        allowed.server.reactor.advance(3600)
        allowed.settle()
    assert [p.path for p in gateway.received] == ["/_matrix/push/v1/notify"]
    assert gateway.received[0].status == 307
    assert len(allowed.stored(alice)) == 1
    # The next message, with the gateway fixed, goes through.
    gateway.redirect_to = None
    room_id = gateway.received[0].notification["room_id"]
    allowed.server.login("bob").send(room_id, "again")
    allowed.pump(lambda: len(gateway.delivered()) == 1)
    assert gateway.delivered()[0]["content"]["body"] == "again"
