"""``synctl room list|delete`` and ``synctl purge-history`` against a running
server, each checked through the client and admin APIs."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.e2e.conftest import RunningServer, synctl
from tests.e2e.synadm import client, http, registered, send_text, timeline_bodies

pytestmark = pytest.mark.integration


def _synctl(server: RunningServer, *args: str) -> str:
    return synctl(*args, "--data-dir", str(server.data_dir), "--quiet").stdout


def test_synctl_room_and_purge_history(running_server: RunningServer) -> None:
    server = running_server
    admin = registered(server, "admin", admin=True)
    alice = registered(server, "alice")
    create = {"name": "Lobby", "preset": "public_chat", "room_alias_name": "lobby"}
    lobby = client(server, "POST", "/createRoom", alice, create)["room_id"]
    quiet = client(server, "POST", "/createRoom", alice, {"name": "Quiet"})["room_id"]

    lines = _synctl(server, "room", "list").splitlines()
    assert [line.split("\t") for line in lines] == [
        [lobby, "1", "#lobby:localhost", "Lobby"],
        [quiet, "1", "-", "Quiet"],
    ]
    piped = synctl("room", "list", "--data-dir", str(server.data_dir))
    assert piped.stderr == "2 rooms\n"  # no progress bar off a terminal
    listed = json.loads(_synctl(server, "room", "list", "--search", "qui", "--json"))
    assert [r["room_id"] for r in listed] == [quiet]

    for n in range(3):
        send_text(server, alice, lobby, f"old {n}")
    cutoff = send_text(server, alice, lobby, "cutoff")
    out = _synctl(
        server, "purge-history", lobby, "--before-event", cutoff, "--delete-local"
    )
    assert out.strip() == f"purged the history of {lobby}"
    assert timeline_bodies(server, alice, lobby) == ["cutoff"]
    bad = synctl("purge-history", lobby, "--before-ts", "1",
                 "--data-dir", str(server.data_dir), check=False)  # fmt: skip
    assert bad.returncode == 1 and "no event to be purged" in bad.stderr

    out = _synctl(server, "room", "delete", quiet, lobby, "--block",
                  "--new-room-user", "moderator", "--message", "Closed")  # fmt: skip
    assert f"deleted {quiet} (1 members out)" in out
    assert f"deleted {lobby} (1 members out)" in out
    joined = client(server, "GET", "/joined_rooms", alice)["joined_rooms"]
    # One new room per deleted room, as Synapse.
    assert len(joined) == 2 and not {quiet, lobby} & set(joined)
    assert all(timeline_bodies(server, alice, room) == ["Closed"] for room in joined)
    code, _ = http(
        server, "GET", f"/_synapse/admin/v1/rooms/{quote(lobby)}", token=admin
    )
    assert code == 404
    again = synctl("room", "delete", lobby, "--data-dir", str(server.data_dir),
                   check=False)  # fmt: skip
    assert again.returncode == 1 and "Unknown room id" in again.stderr
