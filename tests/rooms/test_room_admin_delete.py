"""Deleting rooms (v1 now, v2 in the background with a status) and purging
history through the admin API, checked through the client API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.api.helpers import count_rows
from tests.support.server import TestServer

V1 = "/_synapse/admin/v1"
V2 = "/_synapse/admin/v2"
C = "/_matrix/client/v3"


def _room(server: TestServer, token: str, **body: Any) -> str:
    resp = server.request("POST", f"{C}/createRoom", body, token=token)
    assert resp.code == 200, resp.json
    return str(resp.json["room_id"])


def _send(server: TestServer, token: str, room: str, body: str) -> str:
    resp = server.request(
        "POST", f"{C}/rooms/{quote(room)}/send/m.room.message",
        {"msgtype": "m.text", "body": body}, token=token,
    )  # fmt: skip
    assert resp.code == 200, resp.json
    return str(resp.json["event_id"])


def _timeline(server: TestServer, token: str, room: str) -> list[str]:
    resp = server.request(
        "GET", f"{C}/rooms/{quote(room)}/messages?dir=b&limit=100", token=token
    )
    assert resp.code == 200, resp.json
    return [
        e["content"].get("body")  # None once redacted
        for e in resp.json["chunk"]
        if e["type"] == "m.room.message"
    ]


def test_delete_v1_moves_members_blocks_and_purges(server: TestServer) -> None:
    _, root = server.register("root", admin=True)
    _, alice = server.register("alice")
    _, bob = server.register("bob")
    room = _room(server, alice, preset="public_chat", room_alias_name="bad")
    server.request("POST", f"{C}/join/{quote(room)}", {}, token=bob)
    _send(server, alice, room, "bad content")
    body = {
        "new_room_user_id": "@moderator:test",
        "room_name": "Gone",
        "message": "This room was shut down",
        "block": True,
    }
    resp = server.request("DELETE", f"{V1}/rooms/{quote(room)}", body, token=root)
    assert resp.code == 200, resp.json
    assert resp.json["kicked_users"] == ["@alice:test", "@bob:test"]
    assert resp.json["failed_to_kick_users"] == []
    assert resp.json["local_aliases"] == ["#bad:test"]
    new_room = resp.json["new_room_id"]
    # The members are in the new room, which carries the message.
    joined = server.request("GET", f"{C}/joined_rooms", token=bob).json["joined_rooms"]
    assert joined == [new_room]
    assert _timeline(server, bob, new_room) == ["This room was shut down"]
    alias = server.request("GET", f"{C}/directory/room/{quote('#bad:test')}")
    assert alias.json["room_id"] == new_room
    # The old room is gone from the database and blocked.
    assert server.request("GET", f"{V1}/rooms/{quote(room)}", token=root).code == 404
    assert (
        server.get_success(
            server.hs.core.db.run_interaction(
                "t",
                lambda txn: txn.query(
                    "SELECT event_id FROM events WHERE room_id = ?", (room,)
                ),
            )
        )
        == []
    )
    # The room's version was remembered by the sends; the purge forgot it.
    assert server.get_success(server.hs.core.room_state.get_room_version(room)) is None
    blocked = server.request("GET", f"{V1}/rooms/{quote(room)}/block", token=root)
    assert blocked.json["block"] is True
    assert server.request("POST", f"{C}/join/{quote(room)}", {}, token=bob).code in (
        403,
        404,
    )


def test_delete_v1_errors(server: TestServer) -> None:
    _, root = server.register("root", admin=True)
    unknown = quote("!unknown:test")
    resp = server.request("DELETE", f"{V1}/rooms/{unknown}", {}, token=root)
    assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND")
    resp = server.request(
        "DELETE", f"{V1}/rooms/{unknown}", {"block": True}, token=root
    )
    assert resp.code == 200 and resp.json["kicked_users"] == []
    assert server.request("GET", f"{V1}/rooms/{unknown}/block", token=root).json[
        "block"
    ]
    resp = server.request(
        "DELETE", f"{V1}/rooms/{unknown}", {"purge": "no"}, token=root
    )
    assert resp.code == 400
    resp = server.request("DELETE", f"{V1}/rooms/{unknown}", None, token=root)
    assert resp.code == 400  # the body must be at least {}


def test_delete_v2_with_status(server: TestServer) -> None:
    _, root = server.register("root", admin=True)
    _, alice = server.register("alice")
    room = _room(server, alice)
    _send(server, alice, room, "hello")
    events_before = count_rows(server, "events")
    resp = server.request(
        "DELETE", f"{V2}/rooms/{quote(room)}", {"purge": True}, token=root
    )
    assert resp.code == 200, resp.json
    delete_id = resp.json["delete_id"]
    server.advance(1)
    status = server.request("GET", f"{V2}/rooms/delete_status/{delete_id}", token=root)
    assert status.code == 200, status.json
    assert status.json == {
        "delete_id": delete_id,
        "room_id": room,
        "status": "complete",
        "shutdown_room": {
            "kicked_users": ["@alice:test"],
            "failed_to_kick_users": [],
            "local_aliases": [],
            "new_room_id": None,
        },
    }
    by_room = server.request(
        "GET", f"{V2}/rooms/{quote(room)}/delete_status", token=root
    )
    assert by_room.json == {"results": [status.json]}
    assert count_rows(server, "events") < events_before
    assert (
        server.request("GET", f"{C}/joined_rooms", token=alice).json["joined_rooms"]
        == []
    )
    missing = server.request("GET", f"{V2}/rooms/delete_status/nope", token=root)
    assert (missing.code, missing.json["errcode"]) == (404, "M_NOT_FOUND")
    unknown = server.request("DELETE", f"{V2}/rooms/{quote('!x:test')}", {}, token=root)
    assert unknown.code == 404


def _purge(server: TestServer, root: str, path: str, body: dict[str, Any]) -> None:
    """Start a purge, let it run, and check that it completed."""
    resp = server.request("POST", path, body, token=root)
    assert resp.code == 200, resp.json
    server.advance(1)
    status = server.request(
        "GET", f"{V1}/purge_history_status/{resp.json['purge_id']}", token=root
    )
    assert status.json == {"status": "complete"}


def test_purge_history_keeps_state_local_events_and_the_latest(
    server: TestServer,
) -> None:
    _, root = server.register("root", admin=True)
    _, alice = server.register("alice")
    room = _room(server, alice, name="Purged", preset="public_chat")
    for n in range(5):
        _send(server, alice, room, f"m{n}")
    cutoff = _send(server, alice, room, "m5")
    _send(server, alice, room, "m6")
    path = f"{V1}/purge_history/{quote(room)}"
    # Local events are kept unless asked.
    resp = server.request("POST", path, {"purge_up_to_event_id": cutoff}, token=root)
    assert resp.code == 200, resp.json
    server.advance(1)
    status = server.request(
        "GET", f"{V1}/purge_history_status/{resp.json['purge_id']}", token=root
    )
    assert status.json == {"status": "complete"}
    _purge(server, root, f"{path}/{quote(cutoff)}", {"delete_local_events": True})
    assert _timeline(server, alice, room) == ["m6", "m5"]
    # The state is intact and the room still works.
    name = server.request(
        "GET", f"{C}/rooms/{quote(room)}/state/m.room.name/", token=alice
    )
    assert name.json == {"name": "Purged"}
    _send(server, alice, room, "m7")
    assert _timeline(server, alice, room) == ["m7", "m6", "m5"]
    sync = server.request("GET", f"{C}/sync", token=alice)
    assert sync.code == 200 and room in sync.json["rooms"]["join"]
    # Up to the latest event: it stays (a forward extremity is never purged),
    # and the room's auth is whole: someone new can join and speak.
    latest = _send(server, alice, room, "m8")
    resp = server.request(
        "POST", f"{path}/{quote(latest)}", {"delete_local_events": True}, token=root
    )
    server.advance(1)
    assert server.request(
        "GET", f"{V1}/purge_history_status/{resp.json['purge_id']}", token=root
    ).json == {"status": "complete"}
    assert _timeline(server, alice, room) == ["m8"]
    _, bob = server.register("bob")
    assert server.request("POST", f"{C}/join/{quote(room)}", {}, token=bob).code == 200
    _send(server, bob, room, "hello from bob")
    assert _timeline(server, bob, room) == ["hello from bob", "m8"]
    members = server.request("GET", f"{V1}/rooms/{quote(room)}/members", token=root)
    assert members.json["members"] == ["@alice:test", "@bob:test"]


def test_purge_history_up_to_a_time(server: TestServer) -> None:
    """purge_up_to_ts: what was sent before that time goes, except (as in
    Synapse) the last event before it; later events stay."""
    server.advance(100)
    _, root = server.register("root", admin=True)
    _, alice = server.register("alice")
    room = _room(server, alice, preset="public_chat")
    for n in range(3):
        _send(server, alice, room, f"old {n}")
    server.advance(60)
    cutoff_ms = server.hs.core.clock.time_msec()
    server.advance(60)
    _send(server, alice, room, "new")
    body = {"purge_up_to_ts": cutoff_ms, "delete_local_events": True}
    _purge(server, root, f"{V1}/purge_history/{quote(room)}", body)
    assert _timeline(server, alice, room) == ["new", "old 2"]


def test_purge_history_errors(server: TestServer) -> None:
    server.advance(100)
    _, root = server.register("root", admin=True)
    _, alice = server.register("alice")
    room = _room(server, alice)
    other = _room(server, alice)
    elsewhere = _send(server, alice, other, "x")
    path = f"{V1}/purge_history/{quote(room)}"
    resp = server.request("POST", path, {}, token=root)
    assert resp.code == 400
    resp = server.request("POST", path, {"purge_up_to_event_id": elsewhere}, token=root)
    assert resp.code == 400
    resp = server.request(
        "POST",
        f"{V1}/purge_history/{quote('!no:test')}",
        {"purge_up_to_ts": 1},
        token=root,
    )
    assert resp.code == 404
    resp = server.request("POST", path, {"purge_up_to_ts": 1}, token=root)
    assert resp.code == 400  # nothing that old
    missing = server.request("GET", f"{V1}/purge_history_status/nope", token=root)
    assert missing.code == 404


def test_server_version_and_background_jobs(server: TestServer) -> None:
    _, root = server.register("root", admin=True)
    version = server.request("GET", f"{V1}/server_version")
    assert version.code == 200 and isinstance(version.json["server_version"], str)
    status = server.request("GET", f"{V1}/background_updates/status", token=root)
    assert status.json == {"enabled": True, "current_updates": {}}
    enabled = server.request("GET", f"{V1}/background_updates/enabled", token=root)
    assert enabled.json == {"enabled": True}
    pause = server.request(
        "POST", f"{V1}/background_updates/enabled", {"enabled": False}, token=root
    )
    assert pause.code == 400


def test_redact_all_of_a_users_events(server: TestServer) -> None:
    _, root = server.register("root", admin=True)
    _, alice = server.register("alice")
    _, spammer = server.register("spammer")
    room = _room(server, alice, preset="public_chat")
    other = _room(server, alice, preset="public_chat")
    for r in (room, other):
        server.request("POST", f"{C}/join/{quote(r)}", {}, token=spammer)
        _send(server, spammer, r, "spam")
    kept = _send(server, alice, room, "fine")
    path = f"{V1}/user/{quote('@spammer:test')}/redact"
    resp = server.request("POST", path, {"rooms": [], "reason": "spam"}, token=root)
    assert resp.code == 200, resp.json
    server.advance(1)
    status = server.request(
        "GET", f"{V1}/user/redact_status/{resp.json['redact_id']}", token=root
    )
    assert status.json == {"status": "complete", "failed_redactions": {}}
    for r in (room, other):
        assert _timeline(server, alice, r) == (["fine", None] if r == room else [None])
    fine = server.request(
        "GET", f"{C}/rooms/{quote(room)}/event/{quote(kept)}", token=alice
    )
    assert fine.json["content"]["body"] == "fine"
    bad = server.request("POST", path, {"reason": "x"}, token=root)
    assert bad.code == 400  # rooms is required
    missing = server.request("GET", f"{V1}/user/redact_status/nope", token=root)
    assert missing.code == 404


def test_a_job_interrupted_by_a_restart_shows_failed(server: TestServer) -> None:
    _, root = server.register("root", admin=True)
    tasks = server.hs.room_admin.tasks
    server.get_success(tasks.store.insert_task("p1", "purge_history", "!r:test", {}, 0))
    status = server.request("GET", f"{V1}/purge_history_status/p1", token=root)
    assert status.json == {"status": "active"}
    running = server.request("GET", f"{V1}/background_updates/status", token=root)
    assert running.json["current_updates"]["main"]["name"].startswith("purge_history")
    # What the server does at startup.
    server.get_success(tasks.fail_unfinished())
    status = server.request("GET", f"{V1}/purge_history_status/p1", token=root)
    assert status.json == {"status": "failed", "error": "The server restarted"}
