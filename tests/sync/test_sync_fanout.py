"""One event waking many long-polling /sync requests: what they share is read
once (services/sync/shared_windows.py), their per-user look-ups go together
(util/turn_batch.py), and each still gets its own answer.

Counted through /metrics (transactions by name), not timed.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from tests.e2ee.keys import Device
from tests.support import CLIENT, User, bodies
from tests.support.metrics import Samples, delta, parse_samples
from tests.support.server import PendingRequest, TestServer

WINDOWS = 'name="sync_windows"'
UNREAD = 'name="sync_unread_counts"'
KEY_COUNTS = 'name="get_e2e_key_counts"'


def _metrics(server: TestServer) -> Samples:
    resp = server.request("GET", "/metrics")
    assert resp.code == 200
    return parse_samples(resp.body.decode())


def _long_poll(
    server: TestServer, token: str, since: str, room_filter: Any = None
) -> PendingRequest:
    path = f"{CLIENT}/sync?since={since}&timeout=30000"
    if room_filter is not None:
        path += "&filter=" + urllib.parse.quote(json.dumps(room_filter))
    pending = server.start_request("GET", path, token)
    assert not pending.done
    return pending


def _timeline(pending: PendingRequest, room_id: str) -> Any:
    assert pending.done
    return pending.response().json["rooms"]["join"][room_id]["timeline"]


def _caught_up(members: list[User]) -> dict[str, str]:
    """Each member's token once nothing is left to sync (the first passes
    bring the others' presence)."""
    since = {m.user_id: m.sync()["next_batch"] for m in members}
    for _ in range(2):
        for m in members:
            since[m.user_id] = m.sync(since[m.user_id], timeout=0)["next_batch"]
    return since


def _room_of_six(server: TestServer) -> tuple[User, str, list[User]]:
    """alice's public room, and six members of it."""
    alice = server.user("alice")
    room_id = alice.create_room(preset="public_chat")
    members = [server.user(f"member{i}") for i in range(6)]
    for member in members:
        member.join(room_id)
    return alice, room_id, members


def test_woken_syncers_read_the_room_window_once(make_server: Any) -> None:
    server = make_server({"metrics": {"enabled": True}})
    alice, room_id, members = _room_of_six(server)
    alice.send(room_id, "before")
    since = _caught_up(members)
    polls = [_long_poll(server, m.token, since[m.user_id]) for m in members]
    before = _metrics(server)
    alice.send(room_id, "ping")
    after = _metrics(server)
    timelines = [_timeline(p, room_id) for p in polls]
    assert all(bodies(t["events"]) == ["ping"] for t in timelines)
    assert len({t["prev_batch"] for t in timelines}) == 1
    # Six syncers woken, one read of the room's new events.
    assert delta(before, after, "homeserver_db_txn_seconds_count", WINDOWS) == 1


def test_syncers_at_other_positions_or_limits_get_their_own_window(
    make_server: Any,
) -> None:
    server = make_server({"metrics": {"enabled": True}})
    alice = server.user("alice")
    bob, carol, dave = (server.user(n) for n in ("bob", "carol", "dave"))
    room_id = alice.create_room(preset="public_chat")
    for user in (bob, carol, dave):
        user.join(room_id)
    early = {u.user_id: u.sync()["next_batch"] for u in (bob, dave)}
    alice.send(room_id, "one")
    carol_poll = _long_poll(server, carol.token, carol.sync()["next_batch"])
    alice.send(room_id, "two")
    carol_timeline = _timeline(carol_poll, room_id)
    assert bodies(carol_timeline["events"]) == ["two"]
    assert carol_timeline["limited"] is False
    # The same room and position, from an earlier token: not carol's window.
    bob_room = bob.sync(early[bob.user_id])["rooms"]["join"][room_id]
    assert bodies(bob_room["timeline"]["events"]) == ["one", "two"]
    assert bob_room["timeline"]["limited"] is False
    # The same token as bob's, another limit: not bob's window either.
    limit_one = json.dumps({"room": {"timeline": {"limit": 1}}})
    dave_room = dave.sync(early[dave.user_id], filter=limit_one)["rooms"]["join"][
        room_id
    ]
    assert bodies(dave_room["timeline"]["events"]) == ["two"]
    assert dave_room["timeline"]["limited"] is True
    assert dave_room["timeline"]["prev_batch"] == carol_timeline["prev_batch"]


def test_woken_syncers_share_their_per_user_look_ups(make_server: Any) -> None:
    """Unread counts and device key counts of every woken syncer: one
    transaction each for all of them, and none while they wait; each still
    gets its own figures."""
    server = make_server({"metrics": {"enabled": True}})
    alice, room_id, members = _room_of_six(server)
    device = Device.of(members[0])
    keys = {
        "device_keys": device.device_keys(),
        "one_time_keys": device.one_time_keys(3),
    }
    members[0].post("/keys/upload", keys, expect=200)
    first = alice.send(room_id, "before")
    members[1].post(f"/rooms/{room_id}/receipt/m.read/{first}", {}, expect=200)
    since = _caught_up(members)
    before = _metrics(server)
    polls = [_long_poll(server, m.token, since[m.user_id]) for m in members]
    waiting = _metrics(server)
    alice.send(room_id, "ping")
    after = _metrics(server)
    answers = [p.response().json for p in polls]
    unread = [
        a["rooms"]["join"][room_id]["unread_notifications"]["notification_count"]
        for a in answers
    ]
    assert unread == [2, 1, 2, 2, 2, 2]
    one_time = [a["device_one_time_keys_count"]["signed_curve25519"] for a in answers]
    assert one_time == [3, 0, 0, 0, 0, 0]
    for name in (UNREAD, KEY_COUNTS):
        # Nothing is computed while a token is current: the syncs just wait.
        assert delta(before, waiting, "homeserver_db_txn_seconds_count", name) == 0
    assert delta(waiting, after, "homeserver_db_txn_seconds_count", UNREAD) == 1
    # The key counts are remembered from the syncs that caught up (no key
    # was uploaded or claimed since): no transaction at all.
    assert delta(waiting, after, "homeserver_db_txn_seconds_count", KEY_COUNTS) == 0
    hits = 'hit="True",name="e2e_key_counts"'
    assert delta(waiting, after, "homeserver_cache_lookups_total", hits) == 6
    # For all six: their receipts, their joins (five have no receipt) and
    # their counts (each read up to one position), one statement each.
    job = 'kind="job",name="sync_unread_counts"'
    assert delta(waiting, after, "homeserver_db_statements_total", job) == 3
