"""The admin API of the outbound queues."""

from __future__ import annotations

from tests.federation.sending_helpers import (
    delivered_bodies,
    install_transport,
    public_room,
    remote_join,
    say,
)
from tests.support.server import TestServer

DESTINATIONS = "/_synapse/admin/v1/federation/destinations"


def test_destinations_show_backoff_and_backlog_and_reset(server: TestServer) -> None:
    transport = install_transport(server)
    _, admin = server.register("admin", admin=True)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    transport.behaviour["remote.one"] = "down"
    say(server, token, room_id, "queued")
    server.advance(0)

    assert server.request("GET", DESTINATIONS, token=token).code == 403
    listed = server.request("GET", DESTINATIONS, token=admin)
    assert listed.code == 200, listed.json
    assert listed.json["total"] == 1
    [entry] = listed.json["destinations"]
    assert entry["destination"] == "remote.one"
    assert entry["retry_interval"] == 5000
    assert entry["failure_ts"] is not None
    assert entry["pending_pdus"] == 1
    one = server.request("GET", f"{DESTINATIONS}/remote.one", token=admin)
    assert one.json == entry
    assert server.request("GET", f"{DESTINATIONS}/nowhere", token=admin).code == 404

    transport.behaviour["remote.one"] = "ok"
    resp = server.request(
        "POST", f"{DESTINATIONS}/remote.one/reset_connection", {}, admin
    )
    assert resp.code == 200
    server.advance(0)  # no need to wait for the backoff
    assert delivered_bodies(transport, "remote.one") == ["queued"]
    entry = server.request("GET", f"{DESTINATIONS}/remote.one", token=admin).json
    assert entry["pending_pdus"] == 0
    assert entry["retry_interval"] == 0 and entry["failure_ts"] is None


def test_destination_rooms(server: TestServer) -> None:
    """GET .../destinations/{destination}/rooms (synapse-admin's tab): the
    rooms the destination is in, by room ID, paged, with the position last
    sent there."""
    transport = install_transport(server)
    _, admin = server.register("admin", admin=True)
    _, token = server.register("alice")
    rooms = sorted(public_room(server, token) for _ in range(3))
    for room_id in rooms:
        remote_join(server, room_id, "@bob:remote.one")
    public_room(server, token)  # remote.one is not in this one
    say(server, token, rooms[0], "sent")
    server.advance(0)
    assert delivered_bodies(transport, "remote.one") == ["sent"]

    path = f"{DESTINATIONS}/remote.one/rooms"
    first = server.request("GET", f"{path}?limit=2", token=admin)
    assert first.code == 200, first.json
    assert [r["room_id"] for r in first.json["rooms"]] == rooms[:2]
    assert first.json["total"] == 3 and first.json["next_token"] == "2"
    sent = first.json["rooms"][0]["stream_ordering"]
    assert sent > 0
    rest = server.request("GET", f"{path}?from=2", token=admin).json
    assert [r["room_id"] for r in rest["rooms"]] == rooms[2:]
    assert "next_token" not in rest
    backwards = server.request("GET", f"{path}?dir=b", token=admin).json
    assert [r["room_id"] for r in backwards["rooms"]] == rooms[::-1]
    assert server.request("GET", f"{path}?dir=x", token=admin).code == 400
    missing = server.request("GET", f"{DESTINATIONS}/nowhere/rooms", token=admin)
    assert missing.code == 404
