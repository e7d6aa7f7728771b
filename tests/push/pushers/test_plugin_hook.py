"""The ``chatly_push`` hook comes before the server's own delivery: a plugin
that answers True delivers (the gateway gets nothing), False rejects the
pushkey (the pusher is removed), None leaves it to the gateway."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from homeserver.plugins import hookimpl
from homeserver.plugins.api import PluginAPI
from homeserver.plugins.types import PushDelivery
from tests.push.pushers.kit import PushHarness
from tests.support.server import TestServer

# What the plugin answered for each pushkey, and what it was given.
ANSWERS: dict[str, bool | None] = {}
SEEN: list[PushDelivery] = []


@attrs.frozen(kw_only=True)
class Settings:
    pass


class PushPlugin:
    """Answers ``chatly_push`` from ``ANSWERS`` by pushkey."""

    CONFIG = Settings

    def __init__(self, api: PluginAPI, config: Settings) -> None:
        self.api = api

    @hookimpl
    async def chatly_push(self, delivery: PushDelivery) -> bool | None:
        SEEN.append(delivery)
        return ANSWERS.get(delivery.pushkey)


@pytest.fixture
def harness(make_server: Callable[..., TestServer]) -> Iterator[PushHarness]:
    ANSWERS.clear()
    SEEN.clear()
    entry: dict[str, Any] = {
        "name": "pushplugin",
        "module": "tests.push.pushers.test_plugin_hook:PushPlugin",
    }
    h = PushHarness(make_server, {"plugins": {"load": [entry]}})
    yield h
    h.close()


def test_the_plugin_decides_before_the_gateway(harness: PushHarness) -> None:
    ANSWERS.update({"taken": True, "refused": False, "passed": None})
    alice = harness.server.user("alice")
    bob = harness.server.user("bob")
    room = bob.create_room()
    bob.invite(room, alice.user_id)
    alice.join(room)
    for key in ("taken", "refused", "passed"):
        harness.set_pusher(alice, pushkey=key)
    event_id = bob.send(room, "hi")
    harness.pump(lambda: len(SEEN) == 3 and len(harness.gateway.delivered()) == 1)
    harness.settle()
    # Only the pusher no plugin took reached the gateway.
    [sent] = harness.gateway.delivered()
    assert sent["devices"][0]["pushkey"] == "passed"
    # The plugin saw the same notification, with the pusher's data.
    seen = {d.pushkey: d for d in SEEN}
    assert seen["taken"].notification["event_id"] == event_id
    assert seen["taken"].kind == "http"
    assert seen["taken"].user_id == alice.user_id
    assert seen["taken"].data["url"] == harness.url
    # The refused pushkey's pusher is gone.
    keys = sorted(p["pushkey"] for p in alice.get("/pushers").json["pushers"])
    assert keys == ["passed", "taken"]
