"""Outbound transactions: who gets each event, batching, backoff, dropping,
and a dead destination never delaying a live one."""

from __future__ import annotations

from collections.abc import Callable

from homeserver.federation.errors import HttpResponseError, RequestSendFailed
from tests.federation.sending_helpers import (
    delivered_bodies,
    install_transport,
    public_room,
    remote_join,
    say,
)
from tests.support.server import TestServer


def test_local_events_go_to_every_joined_remote_server(server: TestServer) -> None:
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    remote_join(server, room_id, "@carol:remote.two")
    say(server, token, room_id, "hello")
    server.advance(0)
    assert delivered_bodies(transport, "remote.one") == ["hello"]
    assert delivered_bodies(transport, "remote.two") == ["hello"]
    # Remote users' own events are not ours to send, and history from before
    # a server joined is not pushed to it.
    senders = {
        pdu["sender"]
        for txn in transport.transactions("remote.one")
        for pdu in txn["pdus"]
    }
    assert senders == {"@alice:test"}
    assert "test" not in {d for d, _, _ in transport.sent}
    txn = transport.transactions("remote.one")[0]
    assert txn["origin"] == "test"
    assert isinstance(txn["origin_server_ts"], int)


def test_leave_goes_to_the_servers_still_in_the_room(server: TestServer) -> None:
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    remote_join(server, room_id, "@bob:remote.two")
    server.get_success(
        server.hs.rooms.event_creation.send(
            room_id,
            "@bob:remote.two",
            "m.room.member",
            {"membership": "leave"},
            "@bob:remote.two",
        )
    )
    resp = server.request(
        "POST", f"/_matrix/client/v3/rooms/{room_id}/leave", {}, token
    )
    assert resp.code == 200
    server.advance(0)
    leaves = [
        pdu["state_key"]
        for txn in transport.transactions("remote.one")
        for pdu in txn["pdus"]
        if pdu["type"] == "m.room.member"
    ]
    assert leaves == ["@alice:test"]
    assert transport.transactions("remote.two") == []


def test_kicked_remote_user_server_gets_the_kick(server: TestServer) -> None:
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    resp = server.request(
        "POST",
        f"/_matrix/client/v3/rooms/{room_id}/kick",
        {"user_id": "@bob:remote.one"},
        token,
    )
    assert resp.code == 200, resp.json
    server.advance(0)
    pdus = [p for t in transport.transactions("remote.one") for p in t["pdus"]]
    assert [(p["state_key"], p["content"]["membership"]) for p in pdus] == [
        ("@bob:remote.one", "leave")
    ]


def test_batches_hold_at_most_50_pdus_in_order(server: TestServer) -> None:
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    transport.behaviour["remote.one"] = "down"
    for i in range(120):
        say(server, token, room_id, f"m{i}")
    server.advance(0)
    assert transport.transactions("remote.one") == []
    transport.behaviour["remote.one"] = "ok"
    server.advance(3600)
    sizes = [len(t["pdus"]) for t in transport.transactions("remote.one")]
    assert sizes == [50, 50, 20]
    assert delivered_bodies(transport, "remote.one") == [f"m{i}" for i in range(120)]
    ids = transport.txn_ids()
    assert len(ids) == len(set(ids))


def test_backoff_doubles_up_to_the_cap_and_is_persisted(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"federation": {"max_retry_interval": "30s"}})
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    transport.behaviour["remote.one"] = "down"
    attempts: list[float] = []
    real = transport._answer

    async def counting(destination: str, path: str, body: object) -> object:
        attempts.append(server.reactor.seconds())
        return await real(destination, path, body)

    transport._answer = counting  # type: ignore[method-assign]
    say(server, token, room_id, "hello")
    server.advance(0)
    for _ in range(200):
        server.advance(1)
    gaps = [round(b - a) for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[:4] == [5, 10, 20, 30]
    assert set(gaps[3:]) == {30}
    backoff = server.get_success(server.hs.federation.outbox.get_backoff("remote.one"))
    assert backoff.retry_interval == 30_000
    assert backoff.failure_ts is not None
    transport.behaviour["remote.one"] = "ok"
    server.advance(30)
    assert delivered_bodies(transport, "remote.one") == ["hello"]
    backoff = server.get_success(server.hs.federation.outbox.get_backoff("remote.one"))
    assert backoff.retry_interval == 0 and backoff.failure_ts is None


def test_dead_destination_does_not_delay_a_live_one(server: TestServer) -> None:
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:dead.example")
    remote_join(server, room_id, "@carol:live.example")
    transport.behaviour["dead.example"] = "hang"
    for i in range(5):
        say(server, token, room_id, f"m{i}")
        server.advance(0)
    assert delivered_bodies(transport, "live.example") == [f"m{i}" for i in range(5)]
    assert transport.transactions("dead.example") == []
    # Only one transaction is ever in flight for the hanging destination.
    assert len(transport.hanging) == 1


def test_refused_transaction_is_dropped_and_the_queue_moves_on(
    server: TestServer,
) -> None:
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    transport.behaviour["remote.one"] = HttpResponseError(
        400, {"errcode": "M_BAD_JSON", "error": "no"}
    )
    say(server, token, room_id, "refused")
    server.advance(0)
    transport.behaviour["remote.one"] = "ok"
    say(server, token, room_id, "accepted")
    server.advance(0)
    assert delivered_bodies(transport, "remote.one") == ["accepted"]


def test_non_retriable_failure_drops(server: TestServer) -> None:
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:blocked.example")
    transport.behaviour["blocked.example"] = RequestSendFailed(
        "blacklisted", retriable=False
    )
    say(server, token, room_id, "never")
    server.advance(0)
    pending = server.get_success(
        server.hs.federation.outbox.get_pending("blocked.example", 50, 100)
    )
    assert pending == ([], [])
    backoff = server.get_success(
        server.hs.federation.outbox.get_backoff("blocked.example")
    )
    assert backoff.retry_interval == 0


def test_server_error_is_retried(server: TestServer) -> None:
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    transport.behaviour["remote.one"] = HttpResponseError(502, None)
    say(server, token, room_id, "kept")
    server.advance(0)
    transport.behaviour["remote.one"] = "ok"
    server.advance(5)
    assert delivered_bodies(transport, "remote.one") == ["kept"]


def test_nothing_is_queued_for_servers_outside_the_whitelist(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"federation": {"domain_whitelist": ["remote.one"]}})
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    remote_join(server, room_id, "@carol:remote.two")
    say(server, token, room_id, "hello")
    server.advance(0)
    assert delivered_bodies(transport, "remote.one") == ["hello"]
    assert {d for d, _, _ in transport.sent} == {"remote.one"}
    pending = server.get_success(
        server.hs.federation.outbox.get_pending("remote.two", 50, 100)
    )
    assert pending == ([], [])


def test_rooms_without_remote_members_cost_no_queue_writes(server: TestServer) -> None:
    install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    before = server.get_success(server.hs.federation.outbox.get_position())
    for i in range(5):
        say(server, token, room_id, f"local only {i}")
    server.advance(0)
    assert server.get_success(server.hs.federation.outbox.get_position()) == before
    assert server.hs.federation.sender.position == (
        server.hs.core.persister.stream_ids.current_position()
    )


def test_batches_hold_at_most_100_edus(server: TestServer) -> None:
    transport = install_transport(server)
    _, token = server.register("alice")
    transport.behaviour["remote.one"] = "down"
    for i in range(120):
        resp = server.request(
            "PUT",
            f"/_matrix/client/v3/sendToDevice/m.test/t{i}",
            {"messages": {"@bob:remote.one": {"DEV": {"n": i}}}},
            token,
        )
        assert resp.code == 200
    server.advance(0)
    transport.behaviour["remote.one"] = "ok"
    server.advance(10)
    sizes = [len(t["edus"]) for t in transport.transactions("remote.one")]
    assert sizes == [100, 20]
    got = [
        e["messages"]["@bob:remote.one"]["DEV"]["n"]
        for e in transport.edus("remote.one", "m.direct_to_device")
    ]
    assert got == list(range(120))
