"""The to_device extension: its own since, acknowledgement, paging, wake-up."""

from __future__ import annotations

from itertools import count
from typing import Any

from tests.sliding_sync.extensions.kit import ON, Conn
from tests.support.client import User
from tests.support.server import TestServer

_txn = count()


def send_to(sender: User, target: User, n: int = 1) -> None:
    for i in range(n):
        sender.put(
            f"/sendToDevice/m.test/td{next(_txn)}",
            {"messages": {target.user_id: {target.device_id: {"n": i}}}},
            expect=200,
        )


def numbers(section: dict[str, Any]) -> list[int]:
    return [e["content"]["n"] for e in section["events"]]


def test_initial_then_incremental_with_own_since(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    send_to(bob, alice, 2)
    conn = Conn(alice, {"to_device": ON})
    first = conn.sync()["to_device"]
    assert numbers(first) == [0, 1]
    assert first["events"][0]["sender"] == bob.user_id
    assert first["events"][0]["type"] == "m.test"
    # next_batch acknowledges: nothing again, and a new message only
    second = conn.sync(extensions={"to_device": {**ON, "since": first["next_batch"]}})
    assert second["to_device"]["events"] == []
    send_to(bob, alice)
    since = second["to_device"]["next_batch"]
    third = conn.sync(extensions={"to_device": {**ON, "since": since}})
    assert numbers(third["to_device"]) == [0]
    assert int(third["to_device"]["next_batch"]) > int(since)


def test_messages_are_deleted_only_once_acknowledged(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    send_to(bob, alice, 2)
    first = Conn(alice, {"to_device": ON}).sync()["to_device"]
    assert numbers(first) == [0, 1]
    # no since given back (lost response): a new connection gets them again
    again = Conn(alice, {"to_device": ON}, conn_id="other").sync()["to_device"]
    assert numbers(again) == [0, 1]
    # since = next_batch acknowledges: gone, for every connection of the device
    acked = Conn(alice, {"to_device": {**ON, "since": first["next_batch"]}})
    assert acked.sync()["to_device"]["events"] == []
    fresh = Conn(alice, {"to_device": ON}, conn_id="third").sync()["to_device"]
    assert fresh["events"] == []
    # and /sync of the same device has nothing either
    assert alice.sync()["to_device"]["events"] == []


def test_only_the_requesting_device(server: TestServer) -> None:
    alice = server.user("alice")
    phone = server.login("alice")
    bob = server.user("bob")
    send_to(bob, phone)
    assert Conn(alice, {"to_device": ON}).sync()["to_device"]["events"] == []
    assert numbers(Conn(phone, {"to_device": ON}).sync()["to_device"]) == [0]


def test_limit_pages_and_the_rest_returns_at_once(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    send_to(bob, alice, 5)
    conn = Conn(alice, {"to_device": {**ON, "limit": 2}})
    seen: list[int] = []
    since = None
    for _ in range(3):
        config: dict[str, Any] = {**ON, "limit": 2}
        if since is not None:
            config["since"] = since
        # a pos is carried along: these are incremental requests, and one with
        # messages left does not wait
        section = conn.sync(extensions={"to_device": config}, timeout=30_000)
        seen += numbers(section["to_device"])
        since = section["to_device"]["next_batch"]
    assert seen == [0, 1, 2, 3, 4]


def test_long_poll_wakes_on_a_message(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    conn = Conn(alice, {"to_device": ON})
    since = conn.sync()["to_device"]["next_batch"]
    conn.body["extensions"] = {"to_device": {**ON, "since": since}}
    pending = conn.start(server)
    server.advance(1)
    assert not pending.done
    send_to(bob, alice)
    assert pending.done
    assert numbers(conn.finish(pending)["to_device"]) == [0]


def test_a_quiet_long_poll_times_out_with_the_same_since(server: TestServer) -> None:
    alice = server.user("alice")
    conn = Conn(alice, {"to_device": ON})
    since = conn.sync()["to_device"]["next_batch"]
    conn.body["extensions"] = {"to_device": {**ON, "since": since}}
    pending = conn.start(server, timeout_ms=5000)
    server.advance(1)
    assert not pending.done
    server.advance(5)
    section = conn.finish(pending)["to_device"]
    assert section == {"next_batch": since, "events": []}


def test_bad_config(server: TestServer) -> None:
    alice = server.user("alice")
    bad: list[dict[str, Any]] = [
        {**ON, "since": 5},
        {**ON, "since": "s12"},
        {**ON, "limit": "10"},
        {"enabled": "yes"},
    ]
    for config in bad:
        resp = alice.post(
            "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync",
            {"extensions": {"to_device": config}},
            expect=400,
        ).json
        assert resp["errcode"] == "M_BAD_JSON", config


def test_ignored_users_messages_are_dropped(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    alice.put(
        f"/user/{alice.user_id}/account_data/m.ignored_user_list",
        {"ignored_users": {bob.user_id: {}}},
        expect=200,
    )
    send_to(bob, alice)
    send_to(carol, alice)
    section = Conn(alice, {"to_device": ON}).sync()["to_device"]
    assert [e["sender"] for e in section["events"]] == [carol.user_id]
