"""synadm (the Synapse admin CLI, from PyPI) manages media on a running
server unchanged: lists a user's and a room's media, quarantines by file,
user and room, protects, unquarantines and deletes, each checked through the
server's own downloads and the admin API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningServer
from tests.e2e.synadm import Synadm, http, registered

pytestmark = pytest.mark.integration


def _upload(server: RunningServer, token: str, data: bytes) -> str:
    code, body = http(
        server, "POST", "/_matrix/media/v3/upload", data, token, "text/plain"
    )
    assert code == 200, body
    return str(json.loads(body)["content_uri"]).rsplit("/", 1)[1]


def _served(server: RunningServer, token: str, mid: str) -> bool:
    """Whether the (authenticated) download serves ``mid``: new media is not
    on the legacy route while enable_authenticated_media is on (the default)."""
    path = f"/_matrix/client/v1/media/download/localhost/{mid}"
    code, _ = http(server, "GET", path, token=token)
    assert code in (200, 404), code
    return code == 200


def _room_with(server: RunningServer, token: str, mids: list[str]) -> str:
    code, body = http(server, "POST", "/_matrix/client/v3/createRoom", {}, token)
    assert code == 200, body
    room = str(json.loads(body)["room_id"])
    for n, mid in enumerate(mids):
        content = {"msgtype": "m.file", "body": "f", "url": f"mxc://localhost/{mid}"}
        path = f"/_matrix/client/v3/rooms/{room}/send/m.room.message/t{n}"
        assert http(server, "PUT", path, content, token)[0] == 200
    return room


def test_synadm_media_commands(running_server: RunningServer, tmp_path: Path) -> None:
    server = running_server
    synadm = Synadm(server, registered(server, "admin", admin=True), tmp_path / "home")
    alice = registered(server, "alice")
    a, b, c = (_upload(server, alice, f"file {n}".encode()) for n in range(3))
    room = _room_with(server, alice, [a, b])

    listed = synadm.json("media", "list", "-u", "@alice:localhost")
    assert listed["total"] == 3
    assert {m["media_id"] for m in listed["media"]} == {a, b, c}
    assert synadm.json("media", "list", "-r", room) == {
        "local": [f"mxc://localhost/{a}", f"mxc://localhost/{b}"],
        "remote": [],
    }

    assert synadm.json("media", "quarantine", "-i", a) == {}
    assert not _served(server, alice, a)
    assert synadm.json("media", "unquarantine", "-i", a) == {}
    assert _served(server, alice, a)

    assert synadm.json("media", "protect", c) == {}
    assert synadm.json("media", "quarantine", "-u", "@alice:localhost") == {
        "num_quarantined": 2
    }
    assert [_served(server, alice, m) for m in (a, b, c)] == [False, False, True]
    synadm.json("media", "unquarantine", "-U", f"mxc://localhost/{a}")
    assert synadm.json("media", "quarantine", "-r", room) == {"num_quarantined": 2}
    assert not _served(server, alice, a)

    assert synadm.json("media", "delete", "-i", b) == {
        "deleted_media": [b],
        "total": 1,
    }
    # By age: everything made before now, except quarantined and protected.
    synadm.json("media", "unquarantine", "-i", a)
    deleted = synadm.json("media", "delete", "--before-days", "0")
    assert deleted == {"deleted_media": [a], "total": 1}
    assert [_served(server, alice, m) for m in (a, b, c)] == [False, False, True]
    remaining = synadm.json("media", "list", "-u", "@alice:localhost")
    assert [m["media_id"] for m in remaining["media"]] == [c]
    assert remaining["media"][0]["safe_from_quarantine"] is True
    # Nothing of other servers is cached here: the purge deletes nothing.
    assert synadm.json("media", "purge", "--before-days", "0") == {"deleted": 0}
