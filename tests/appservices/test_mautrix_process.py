"""mautrix-python against a real server process (``mautrix_harness.py``):
its ``IntentAPI`` pings through us, and its ``AppService`` receives the
events and ephemeral events of its rooms from our transactions."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.appservices.mautrix_harness import AS_ID, DOMAIN, mautrix_bridge
from tests.e2e.synadm import http, registered

pytestmark = pytest.mark.integration

API = "/_matrix/client/v3"
# A safety net for a broken test, never an assertion about timing.
SAFETY_NET_S = 60.0


def _wait(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + SAFETY_NET_S
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def test_mautrix_pings_and_receives_events_and_typing(tmp_path: Path) -> None:
    with mautrix_bridge(tmp_path) as bridge:
        server, service = bridge.server, bridge.service
        duration = bridge.run(bridge.intent().appservice_ping(AS_ID, "ping-1"))
        assert isinstance(duration, int) and duration >= 0

        alice = registered(server, "alice")
        code, raw = http(
            server, "POST", f"{API}/createRoom", {"preset": "public_chat"}, token=alice
        )
        assert code == 200, raw
        room = json.loads(raw)["room_id"]
        puppet = bridge.intent(f"@irc_yan:{DOMAIN}")
        bridge.run(puppet.ensure_registered())
        bridge.run(puppet.ensure_joined(room))

        path = f"{API}/rooms/{quote(room)}/send/m.room.message/t1"
        body = {"msgtype": "m.text", "body": "to the bridge"}
        assert http(server, "PUT", path, body, token=alice)[0] == 200
        _wait(lambda: "to the bridge" in service.messages())

        typing = f"{API}/rooms/{quote(room)}/typing/@alice:{DOMAIN}"
        assert (
            http(
                server, "PUT", typing, {"typing": True, "timeout": 30000}, token=alice
            )[0]
            == 200
        )
        _wait(lambda: bool(service.ephemeral("m.typing")))
        assert service.ephemeral("m.typing")[-1]["content"]["user_ids"] == [
            f"@alice:{DOMAIN}"
        ]
