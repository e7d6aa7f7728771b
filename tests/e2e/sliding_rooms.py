"""The set-up both sliding-sync client tiers share (test_sliding_nio.py and
test_js_sdk_sliding.py): a server, Alice and Bob, and three rooms in a known
recency order.

Bob creates Alpha, Bravo and Charlie (in that order) and invites Alice, who
joins all three; then Bob writes in Alpha. By recency (bump stamp) the list is
Alpha, Charlie, Bravo. Alice has global account data and tags Bravo.
"""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pytest

from tests.e2e.conftest import RunningServer, synctl_server
from tests.interop.client import request

NAMES = ("Alpha", "Bravo", "Charlie")
ACCOUNT_DATA_TYPE = "org.chatly.sliding_test"
ACCOUNT_DATA = {"set": "before the client logged in"}
TAGS = {"tags": {"m.favourite": {"order": 0.5}}}

JsonDict = dict[str, Any]


@attrs.frozen
class User:
    """A user registered over HTTP (the token is of the registration's device)."""

    user_id: str
    device_id: str
    access_token: str
    password: str


@attrs.frozen
class Story:
    """What the test set up and what the client saw."""

    alice: User
    bob: User
    rooms: dict[str, str]  # name -> room ID
    seen: JsonDict

    def named(self, room_ids: Iterable[str]) -> list[str]:
        """Room names for room IDs (an unknown ID stays as it is)."""
        by_id = {rid: name for name, rid in self.rooms.items()}
        return [by_id.get(rid, rid) for rid in room_ids]


@contextmanager
def sliding_server(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[RunningServer]:
    """A synctl server for one module; it registers more than the default
    per-address limits allow."""
    data_dir = tmp_path_factory.mktemp(name) / "data"
    with synctl_server(data_dir, {"rate_limiting.enabled": "false"}) as server:
        yield server


def api(server: RunningServer, path: str) -> str:
    return f"{server.url}/_matrix/client/v3{path}"


def register(server: RunningServer, name: str) -> User:
    localpart = f"{name}-{secrets.token_hex(3)}"
    password = f"{localpart} long password"
    answer = request(
        "POST",
        api(server, "/register"),
        {
            "username": localpart,
            "password": password,
            "auth": {"type": "m.login.dummy"},
        },
    )
    return User(
        answer["user_id"], answer["device_id"], answer["access_token"], password
    )


def send_text(server: RunningServer, user: User, room_id: str, body: str) -> str:
    room = urllib.parse.quote(room_id)
    answer = request(
        "PUT",
        api(server, f"/rooms/{room}/send/m.room.message/{secrets.token_hex(8)}"),
        {"msgtype": "m.text", "body": body},
        token=user.access_token,
    )
    return str(answer["event_id"])


def three_rooms(server: RunningServer, alice: User, bob: User) -> dict[str, str]:
    """Alpha, Bravo and Charlie (name -> room ID), most recent Alpha, Charlie, Bravo."""
    rooms: dict[str, str] = {}
    for name in NAMES:
        created = request(
            "POST",
            api(server, "/createRoom"),
            {"preset": "private_chat", "name": name, "invite": [alice.user_id]},
            token=bob.access_token,
        )
        rooms[name] = created["room_id"]
        room = urllib.parse.quote(created["room_id"])
        request(
            "POST", api(server, f"/rooms/{room}/join"), {}, token=alice.access_token
        )
    send_text(server, bob, rooms["Alpha"], "the latest word")
    user = urllib.parse.quote(alice.user_id)
    request(
        "PUT",
        api(server, f"/user/{user}/account_data/{ACCOUNT_DATA_TYPE}"),
        ACCOUNT_DATA,
        token=alice.access_token,
    )
    bravo = urllib.parse.quote(rooms["Bravo"])
    request(
        "PUT",
        api(server, f"/user/{user}/rooms/{bravo}/account_data/m.tag"),
        TAGS,
        token=alice.access_token,
    )
    return rooms
