"""synadm (the Synapse admin CLI, from PyPI) manages rooms on a running
server unchanged: lists and searches them, shows one with its members and
state, makes a user join, purges history and polls the purge, deletes a
room (v2, then its delete status; and v1 with a new room for the members),
and shows the server version. Each change is checked through the client API."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.conftest import RunningServer, synctl_server
from tests.e2e.synadm import (
    Synadm,
    client,
    last_json,
    registered,
    send_text,
    timeline_bodies,
)

pytestmark = pytest.mark.integration


def _finished(synadm: Synadm, *args: str) -> Any:
    """Poll a status command until the job is no longer running (bounded)."""
    for _ in range(200):
        status = last_json(synadm.run(*args).stdout)
        if status.get("status") not in ("scheduled", "active"):
            return status
    raise AssertionError(f"{args} still running: {status}")


def test_synadm_room_commands(running_server: RunningServer, tmp_path: Path) -> None:
    server = running_server
    synadm = Synadm(server, registered(server, "admin", admin=True), tmp_path / "home")
    alice = registered(server, "alice")
    bob = registered(server, "bob")
    create = {"name": "Lobby", "preset": "public_chat", "room_alias_name": "lobby"}
    lobby = client(server, "POST", "/createRoom", alice, create)["room_id"]
    client(server, "POST", f"/join/{quote(lobby)}", bob, {})
    quiet = client(server, "POST", "/createRoom", alice, {"name": "Quiet"})["room_id"]

    listed = synadm.json("room", "list")
    assert listed["total_rooms"] == 2
    assert [r["name"] for r in listed["rooms"]] == ["Lobby", "Quiet"]
    assert [r["room_id"] for r in synadm.json("room", "search", "quie")["rooms"]] == [
        quiet
    ]
    details = synadm.json("room", "details", lobby)
    assert details["canonical_alias"] == "#lobby:localhost"
    assert details["joined_members"] == 2 and details["joined_local_members"] == 2
    members = synadm.json("room", "members", lobby)
    assert members == {"members": ["@alice:localhost", "@bob:localhost"], "total": 2}
    state = synadm.json("room", "state", lobby)["state"]
    assert {"m.room.create", "m.room.name", "m.room.member"} <= {
        e["type"] for e in state
    }
    assert "server_version" in synadm.json("version")

    # Purge history up to an event: what came before it goes.
    for n in range(3):
        send_text(server, alice, lobby, f"old {n}")
    cutoff = send_text(server, bob, lobby, "cutoff")
    send_text(server, alice, lobby, "new")
    started = last_json(
        synadm.run("history", "purge", lobby, "-i", cutoff, "--delete-local").stdout
    )
    status = _finished(synadm, "history", "purge-status", started["purge_id"])
    assert status == {"status": "complete"}
    assert timeline_bodies(server, alice, lobby) == ["new", "cutoff"]

    # Delete (v2): the members leave, the room is gone, the status says so.
    result = synadm.run("room", "delete", quiet, "--block")
    delete_id = last_json(result.stdout)["delete_id"]
    status = _finished(synadm, "room", "delete-status", "-d", delete_id)
    assert status["status"] == "complete", status
    assert status["shutdown_room"]["kicked_users"] == ["@alice:localhost"]
    by_room = synadm.json("room", "delete-status", "-r", quiet)
    assert [r["delete_id"] for r in by_room["results"]] == [delete_id]
    assert quiet not in [r["room_id"] for r in synadm.json("room", "list")["rooms"]]
    assert synadm.json("room", "block-status", quiet)["block"] is True
    assert quiet not in client(server, "GET", "/joined_rooms", alice)["joined_rooms"]

    # An admin makes a local user join (the room is public: no invite).
    registered(server, "carol")
    assert synadm.json("room", "join", "#lobby:localhost", "carol") == {
        "room_id": lobby
    }

    # Delete (v1) with a new room that the members are moved into.
    result = synadm.run(
        "room", "delete", lobby, "--v1", "-u", "moderator", "-m", "Closed for spam"
    )
    done = last_json(result.stdout)
    assert done["kicked_users"] == [
        "@alice:localhost",
        "@bob:localhost",
        "@carol:localhost",
    ]
    assert done["local_aliases"] == ["#lobby:localhost"]
    new_room = done["new_room_id"]
    assert client(server, "GET", "/joined_rooms", bob)["joined_rooms"] == [new_room]
    assert timeline_bodies(server, bob, new_room) == ["Closed for spam"]
    # synadm refuses a room the server no longer knows.
    gone = synadm.run("room", "details", lobby)
    assert "M_NOT_FOUND" in gone.stdout + gone.stderr


def test_synadm_server_notices_and_event_reports(tmp_path: Path) -> None:
    settings = {"server_notices.system_mxid_localpart": "notices"}
    with synctl_server(tmp_path / "data", settings) as server:
        synadm = Synadm(
            server, registered(server, "admin", admin=True), tmp_path / "home"
        )
        alice = registered(server, "alice")
        sent = synadm.run("notice", "send", "alice", "Maintenance tonight")
        assert "event_id" in sent.stdout, sent.stdout
        invites = client(server, "GET", "/sync", alice)["rooms"]["invite"]
        assert len(invites) == 1
        notices_room = next(iter(invites))
        client(server, "POST", f"/join/{quote(notices_room)}", alice, {})
        assert timeline_bodies(server, alice, notices_room) == ["Maintenance tonight"]

        room = client(server, "POST", "/createRoom", alice, {})["room_id"]
        event_id = send_text(server, alice, room, "report me")
        path = f"/rooms/{quote(room)}/report/{quote(event_id)}"
        client(server, "POST", path, alice, {"reason": "spam"})
        reports = synadm.json("raw", "v1/event_reports")
        assert reports["total"] == 1
        assert reports["event_reports"][0]["event_id"] == event_id
        detail = synadm.json(
            "raw", f"v1/event_reports/{reports['event_reports'][0]['id']}"
        )
        assert detail["event_json"]["content"]["body"] == "report me"
