"""synadm (the Synapse admin CLI, from PyPI) manages users on a running
server unchanged: lists and searches them, shows one, creates and modifies
one, resets a password, lists a user's media, shadow-bans, and deactivates
(which it asks the server about first: details and memberships). Each
change is checked through the server's own client API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from tests.conftest import ONE_ENGINE, postgres_databases
from tests.e2e.conftest import RunningServer, synctl_server
from tests.e2e.synadm import Synadm, http, last_json, registered

pytestmark = pytest.mark.integration


# The admin user API's SQL runs on both engines in process
# (tests/accounts/test_user_admin*.py).
@pytest.fixture(params=ONE_ENGINE)
def users_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[RunningServer]:
    """A server started with synctl: on a PostgreSQL database of its own
    with HS_TEST_POSTGRES (as in CI), else on SQLite."""
    # Rate limits off: the test logs carol in back to back (a faster synctl
    # made that exceed the login bucket); rate limiting has its own tests.
    unlimited = {"rate_limiting.enabled": "false"}
    if request.param == "sqlite":
        with synctl_server(tmp_path / "data", unlimited) as server:
            yield server
        return
    databases = postgres_databases(request.config)
    name = databases.create(prefix="hs_synadm", empty=True)
    # The DSN first: the config is checked after each change.
    settings = {
        "database.dsn": f"{databases.admin_dsn} dbname={name}",
        "database.engine": "postgres",
        **unlimited,
    }
    try:
        with synctl_server(tmp_path / "data", settings) as server:
            yield server
        # The accounts went to PostgreSQL indeed.
        conn = psycopg2.connect(settings["database.dsn"])
        with conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM users")
            assert cur.fetchone()[0] >= 3
        conn.close()
    finally:
        databases.drop(name)


def _login(server: RunningServer, user: str, password: str) -> int:
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": password,
    }
    return http(server, "POST", "/_matrix/client/v3/login", body)[0]


def test_synadm_user_commands(users_server: RunningServer, tmp_path: Path) -> None:
    server = users_server
    synadm = Synadm(server, registered(server, "admin", admin=True), tmp_path / "home")
    alice = registered(server, "alice")
    registered(server, "bob")

    listed = synadm.json("user", "list")
    assert listed["total"] == 3
    assert [u["name"] for u in listed["users"]] == [
        "@admin:localhost",
        "@alice:localhost",
        "@bob:localhost",
    ]
    assert [u["name"] for u in synadm.json("user", "list", "-n", "ali")["users"]] == [
        "@alice:localhost"
    ]
    admins = synadm.json("user", "list", "-a")["users"]
    assert [u["name"] for u in admins] == ["@admin:localhost"]
    paged = synadm.json("user", "list", "-l", "2")
    assert paged["next_token"] == "2" and len(paged["users"]) == 2

    details = synadm.json("user", "details", "@alice:localhost")
    assert details["name"] == "@alice:localhost"
    assert details["admin"] is False and details["deactivated"] is False
    assert details["displayname"] == "alice"

    # Create with modify (the server answers 201), then change her.
    created = last_json(
        synadm.run(
            "user", "modify", "@carol:localhost", "-P", "carol password 1",
            "-n", "Carol", "-t", "email", "carol@example.org",
        ).stdout
    )  # fmt: skip
    assert created["name"] == "@carol:localhost"
    assert created["displayname"] == "Carol"
    assert created["threepids"][0]["address"] == "carol@example.org"
    assert _login(server, "carol", "carol password 1") == 200
    changed = last_json(
        synadm.run("user", "modify", "@carol:localhost", "-n", "Caroline", "-a").stdout
    )
    assert changed["displayname"] == "Caroline" and changed["admin"] is True

    assert (
        synadm.json("user", "password", "@carol:localhost", "-p", "other pass 2") == {}
    )
    assert _login(server, "carol", "carol password 1") == 403
    assert _login(server, "carol", "other pass 2") == 200

    code, body = http(
        server, "POST", "/_matrix/media/v3/upload", b"alice's file", alice, "text/plain"
    )
    assert code == 200, body
    media_id = json.loads(body)["content_uri"].rsplit("/", 1)[1]
    media = synadm.json("user", "media", "@alice:localhost")
    assert media["total"] == 1
    assert media["media"][0]["media_id"] == media_id

    whois = synadm.json("user", "whois", "@alice:localhost")
    # Two sessions: synctl register-user's and the login's.
    assert whois["user_id"] == "@alice:localhost" and len(whois["devices"]) == 2

    assert synadm.json("user", "shadow-ban", "@bob:localhost") == {}
    assert synadm.json("user", "details", "@bob:localhost")["shadow_banned"] is True
    assert synadm.json("user", "shadow-ban", "-u", "@bob:localhost") == {}

    code, body = http(server, "POST", "/_matrix/client/v3/createRoom", {}, alice)
    assert code == 200, body
    room = json.loads(body)["room_id"]
    assert synadm.json("user", "membership", "@alice:localhost") == {
        "joined_rooms": [room],
        "total": 1,
    }
    result = synadm.run("user", "deactivate", "@alice:localhost", "--gdpr-erase")
    assert last_json(result.stdout) == {"id_server_unbind_result": "success"}
    assert (
        http(server, "GET", "/_matrix/client/v3/account/whoami", token=alice)[0] == 401
    )
    assert "@alice:localhost" not in [
        u["name"] for u in synadm.json("user", "list")["users"]
    ]
    gone = synadm.json("user", "list", "-d", "-n", "alice")["users"]
    assert [(u["name"], u["deactivated"], u["erased"]) for u in gone] == [
        ("@alice:localhost", True, True)
    ]
    assert synadm.json("user", "membership", "@alice:localhost")["total"] == 0
