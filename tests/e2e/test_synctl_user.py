"""``synctl user`` against a running server: list, create, modify
(display name, lock, shadow-ban, password) and deactivate, each checked
through the server's client and admin APIs; synctl's own session token is
gone afterwards."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.e2e.conftest import RunningServer, synctl
from tests.e2e.synadm import http, registered

pytestmark = pytest.mark.integration


def _user(server: RunningServer, *args: str) -> str:
    return synctl("user", *args, "--data-dir", str(server.data_dir), "--quiet").stdout


def _login(server: RunningServer, user: str, password: str) -> tuple[int, dict]:
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": password,
    }
    code, raw = http(server, "POST", "/_matrix/client/v3/login", body)
    return code, json.loads(raw)


def test_synctl_user(running_server: RunningServer) -> None:
    server = running_server
    # No admin yet: synctl says how to make one.
    failed = synctl("user", "list", "--data-dir", str(server.data_dir), check=False)
    assert failed.returncode == 1 and "register-user" in failed.stderr
    registered(server, "admin", admin=True)
    alice = registered(server, "alice")

    out = _user(server, "create", "bob", "--password", "bob password 1",
                "--displayname", "Bob", "--email", "bob@example.org")  # fmt: skip
    assert out.strip() == "created @bob:localhost"
    assert _login(server, "bob", "bob password 1")[0] == 200
    again = synctl("user", "create", "bob", "--password", "x" * 12,
                   "--data-dir", str(server.data_dir), check=False)  # fmt: skip
    assert again.returncode == 1 and "exists already" in again.stderr

    lines = _user(server, "list").splitlines()
    assert [line.split("\t")[0] for line in lines] == [
        "@admin:localhost",
        "@alice:localhost",
        "@bob:localhost",
    ]
    assert lines[0].split("\t")[1] == "admin" and lines[2].split("\t")[3] == "Bob"
    # Off a terminal (a pipe here) no bar is drawn: no "\r0user" fragments.
    piped = synctl("user", "list", "--data-dir", str(server.data_dir))
    assert piped.stdout.splitlines() == lines
    assert "\r" not in piped.stderr and "0user" not in piped.stderr
    listed = json.loads(_user(server, "list", "--name", "bo", "--json"))
    assert [u["name"] for u in listed] == ["@bob:localhost"]

    out = _user(server, "modify", "@alice:localhost", "--displayname", "Alice A.",
                "--lock", "--shadow-ban")  # fmt: skip
    assert out.split("\t")[:2] == ["@alice:localhost", "locked,shadow_banned"]
    code, body = http(server, "GET", "/_matrix/client/v3/account/whoami", token=alice)
    assert (code, json.loads(body)["errcode"]) == (401, "M_USER_LOCKED")
    _user(server, "modify", "alice", "--no-lock", "--no-shadow-ban",
          "--password", "alice password 2", "--as", "admin")  # fmt: skip
    assert _login(server, "alice", "alice password 2")[0] == 200
    not_admin = synctl("user", "list", "--as", "alice", "--data-dir",
                       str(server.data_dir), check=False)  # fmt: skip
    assert (
        not_admin.returncode == 1 and "not an active server admin" in not_admin.stderr
    )

    out = _user(server, "deactivate", "alice", "@bob:localhost", "--erase")
    assert out.splitlines() == [
        "deactivated @alice:localhost",
        "deactivated @bob:localhost",
    ]
    assert _login(server, "bob", "bob password 1")[1]["errcode"] == "M_USER_DEACTIVATED"
    gone = json.loads(_user(server, "list", "--deactivated", "--json"))
    assert {u["name"]: u["erased"] for u in gone} == {
        "@admin:localhost": False,
        "@alice:localhost": True,
        "@bob:localhost": True,
    }
    bad = synctl("user", "deactivate", "nobody", "--data-dir", str(server.data_dir),
                 "--quiet", check=False)  # fmt: skip
    assert bad.returncode == 1 and "M_NOT_FOUND" in bad.stderr

    # synctl's session token went with each command.
    with sqlite3.connect(server.data_dir / "homeserver.db") as db:
        left = db.execute(
            "SELECT COUNT(*) FROM access_tokens WHERE device_id = 'SYNCTL'"
        ).fetchone()
    assert left == (0,)
