"""mautrix-python's ``IntentAPI``, unchanged, as an application service
client of a real server: it registers a puppet, masquerades as it to send a
message a normal user sees, and is refused outside its namespace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from mautrix.errors import MatrixRequestError
from mautrix.types import RoomCreatePreset

from tests.appservices.mautrix_harness import DOMAIN, mautrix_bridge
from tests.conftest import POSTGRES_DSN, postgres_databases
from tests.e2e.synadm import http, registered

pytestmark = pytest.mark.integration

API = "/_matrix/client/v3"


@pytest.fixture
def dsn(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A fresh PostgreSQL database when HS_TEST_POSTGRES is set (as in CI),
    else None (SQLite)."""
    if not POSTGRES_DSN:
        yield None
        return
    databases = postgres_databases(request.config)
    database = databases.create("hs_mautrix", empty=True)
    try:
        yield f"{POSTGRES_DSN} dbname={database}"
    finally:
        databases.drop(database)


def test_mautrix_puppet_sends_and_is_refused_outside_namespace(
    tmp_path: Path, dsn: str | None
) -> None:
    with mautrix_bridge(tmp_path, dsn) as bridge:
        server = bridge.server
        alice = registered(server, "alice")
        code, raw = http(
            server, "POST", f"{API}/createRoom", {"preset": "public_chat"}, token=alice
        )
        assert code == 200, raw
        room = json.loads(raw)["room_id"]

        puppet_id = f"@irc_zoe:{DOMAIN}"
        puppet = bridge.intent(puppet_id)
        bridge.run(puppet.ensure_registered())
        assert bridge.run(puppet.whoami()).user_id == puppet_id
        bridge.run(puppet.ensure_joined(room))
        event_id = bridge.run(puppet.send_text(room, "hello from mautrix"))

        code, raw = http(
            server,
            "GET",
            f"{API}/rooms/{quote(room)}/event/{quote(event_id)}",
            token=alice,
        )
        assert code == 200, raw
        seen = json.loads(raw)
        assert seen["sender"] == puppet_id
        assert seen["content"]["body"] == "hello from mautrix"

        # The bot creates a room of its own (acting as its sender).
        bot_room = bridge.run(
            bridge.intent().create_room(preset=RoomCreatePreset.PUBLIC)
        )
        assert str(bot_room).startswith("!")

        # Outside its namespace: refused, whatever it tries.
        registered(server, "bob")
        outsider = bridge.intent(f"@bob:{DOMAIN}")
        with pytest.raises(MatrixRequestError) as refused:
            bridge.run(outsider.send_text(room, "not mine"))
        assert refused.value.errcode == "M_EXCLUSIVE"
        with pytest.raises(MatrixRequestError) as not_registrable:
            bridge.run(bridge.intent(f"@carol:{DOMAIN}").ensure_registered())
        assert not_registrable.value.errcode == "M_EXCLUSIVE"
