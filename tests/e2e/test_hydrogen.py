"""Hydrogen, a real web client, logs in to a real server through its own UI,
sends a message and shows the reply: the path a new user takes, end to end.

Hydrogen comes from npm (hydrogen-view-sdk, bundled as hydrogen-web's own entry
point does), runs in Debian's Chromium and is driven by playwright-core; the
server is started with synctl; the other user talks plain HTTP. Chromium and
the npm packages are installed on first use (tests/e2e/web_client.py). Without
CI set, a machine that cannot install them skips this test; with CI set, that
is a failure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from tests.e2e.conftest import RunningServer
from tests.e2e.web_client import (
    ChatScript,
    build_hydrogen,
    ensure_chromium,
    ensure_node_modules,
    static_server,
)
from tests.interop.client import quote, request

# Installing Chromium and the npm packages on a new machine takes a minute or two.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("browser"),
    pytest.mark.timeout(600),
]

PASSWORD = "correct horse battery staple"
ROOM_NAME = "Browser check"
SCRIPT_TIMEOUT = 90.0
MESSAGE_TIMEOUT = 75.0


@attrs.frozen
class BrowserTools:
    """What the browser tier runs on."""

    chromium: Path
    node_modules: Path


@attrs.frozen
class Account:
    """A registered user and one of its access tokens."""

    user_id: str
    localpart: str
    token: str


@pytest.fixture(scope="session")
def browser_tools() -> BrowserTools:
    """Debian's Chromium and the npm packages, installed on first use."""
    try:
        return BrowserTools(ensure_chromium(), ensure_node_modules())
    except Exception as exc:  # noqa: BLE001 - any failure means no browser tier
        if os.environ.get("CI"):
            pytest.fail(f"CI: cannot install the browser tier's tools: {exc}")
        pytest.skip(f"cannot install the browser tier's tools: {exc}")


@pytest.fixture(scope="session")
def hydrogen_url(
    browser_tools: BrowserTools, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Hydrogen, built from the npm packages, served on a loopback port."""
    app = build_hydrogen(browser_tools.node_modules, tmp_path_factory.mktemp("app"))
    with static_server(app) as url:
        yield url


def register(server: RunningServer, localpart: str) -> Account:
    """Open registration with the dummy stage, as a plain HTTP client does."""
    body = request(
        "POST",
        f"{server.url}/_matrix/client/v3/register",
        {
            "username": localpart,
            "password": PASSWORD,
            "auth": {"type": "m.login.dummy"},
        },
    )
    return Account(body["user_id"], localpart, body["access_token"])


def shared_room(server: RunningServer, owner: Account, guest: Account) -> str:
    """A named private room that both users have joined."""
    api = f"{server.url}/_matrix/client/v3"
    room_id: str = request(
        "POST",
        f"{api}/createRoom",
        {"name": ROOM_NAME, "preset": "private_chat", "invite": [guest.user_id]},
        token=owner.token,
    )["room_id"]
    request("POST", f"{api}/rooms/{quote(room_id)}/join", {}, token=guest.token)
    return room_id


def find_message(
    server: RunningServer, reader: Account, room_id: str, sender: str, body: str
) -> dict[str, Any] | None:
    """The newest m.room.message ``body`` from ``sender``, read via /messages."""
    page = request(
        "GET",
        f"{server.url}/_matrix/client/v3/rooms/{quote(room_id)}/messages"
        "?dir=b&limit=20",
        token=reader.token,
    )
    for event in page.get("chunk", []):
        content = event.get("content", {})
        if (
            event.get("type") == "m.room.message"
            and event.get("sender") == sender
            and content.get("body") == body
        ):
            return dict(event)
    return None


def wait_for_message(
    server: RunningServer,
    reader: Account,
    room_id: str,
    sender: str,
    body: str,
    script: ChatScript,
) -> dict[str, Any]:
    """Poll /messages until the browser's message is there (or the script dies)."""
    deadline = time.monotonic() + MESSAGE_TIMEOUT
    while time.monotonic() < deadline:
        found = find_message(server, reader, room_id, sender, body)
        if found is not None:
            return found
        if not script.running():
            pytest.fail(
                f"the browser script exited {script.proc.returncode} before the "
                f"message reached the server:\n{script.report()}"
            )
        time.sleep(0.25)
    script.stop()
    pytest.fail(
        f"the browser's message did not reach the server within "
        f"{MESSAGE_TIMEOUT:.0f}s:\n{script.report()}"
    )


def test_hydrogen_logs_in_sends_and_sees_the_reply(
    running_server: RunningServer,
    browser_tools: BrowserTools,
    hydrogen_url: str,
    tmp_path: Path,
) -> None:
    alice = register(running_server, "alice")
    bob = register(running_server, "bob")
    room_id = shared_room(running_server, bob, alice)
    message = "Hello from Hydrogen"
    reply = "Hello back from bob over plain HTTP"

    script = ChatScript(
        tmp_path,
        browser_tools.node_modules,
        browser_tools.chromium,
        app=hydrogen_url,
        homeserver=running_server.url,
        user=alice.localpart,
        password=PASSWORD,
        room=ROOM_NAME,
        message=message,
        reply=reply,
        timeout=str(int(SCRIPT_TIMEOUT)),
    )
    try:
        sent = wait_for_message(
            running_server, bob, room_id, alice.user_id, message, script
        )
        assert sent["content"]["msgtype"] == "m.text", sent
        request(
            "PUT",
            f"{running_server.url}/_matrix/client/v3/rooms/{quote(room_id)}"
            "/send/m.room.message/reply1",
            {"msgtype": "m.text", "body": reply},
            token=bob.token,
        )
        code = script.wait(SCRIPT_TIMEOUT)
        if code != 0:
            pytest.fail(f"the browser script exited {code}:\n{script.report()}")
    except pytest.fail.Exception:
        raise  # its message holds the script's report
    except BaseException:
        # Anything else that failed on this side: stop the script (it takes a
        # screenshot) and show what the page did; pytest prints it on failure.
        script.stop()
        print(script.report())
        raise
    finally:
        script.stop()
