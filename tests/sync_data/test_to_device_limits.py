"""sendToDevice bounds and rate limits: how many devices and servers one
request may address, requests per user, and servers never sent to before.
Everything is checked before anything is stored."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import count_rows
from tests.harness import FakeResponse, TestServer
from tests.sync_data.helpers import assert_error, put, q


def send(server: TestServer, tok: str, messages: Any, txn_id: str) -> FakeResponse:
    return put(server, f"/sendToDevice/m.test/{q(txn_id)}", {"messages": messages}, tok)


def stored(server: TestServer) -> dict[str, int]:
    return {
        table: count_rows(server, table)
        for table in (
            "device_inbox",
            "federation_destinations",
            "federation_outbox_edus",
        )
    }


def test_too_many_devices_in_one_request(make_server: Any) -> None:
    server = make_server({"to_device": {"max_messages_per_request": 10}})
    bob, _ = server.register("bob")
    _, token = server.register("alice")
    before = stored(server)
    many = {f"@u{i}:test": {"D": {}} for i in range(10)}
    resp = send(server, token, {**many, bob: {"*": {}}}, "t1")
    assert_error(resp, 413, "M_TOO_LARGE")
    assert "at most 10" in resp.json["error"]
    assert stored(server) == before
    assert send(server, token, many, "t2").code == 200


def test_fifty_thousand_unknown_local_users_are_refused_at_once(
    server: TestServer,
) -> None:
    """The default bound (1,000 devices) stops a request to 50,000 users
    before any lookup."""
    _, token = server.register("alice")
    lookups: list[Any] = []
    real = server.hs.device_store.get_device_ids

    async def counting(user_ids: Any) -> Any:
        lookups.append(len(user_ids))
        return await real(user_ids)

    server.hs.device_store.get_device_ids = counting  # type: ignore[method-assign]
    resp = send(server, token, {f"@u{i}:test": {"D": {}} for i in range(50_000)}, "t")
    assert_error(resp, 413, "M_TOO_LARGE")
    assert lookups == []
    resp = send(server, token, {f"@u{i}:test": {"D": {}} for i in range(1000)}, "t2")
    assert resp.code == 200
    assert lookups == [1000]  # one batched lookup, not one per user


def test_too_many_servers_in_one_request(make_server: Any) -> None:
    server = make_server({"to_device": {"max_servers_per_request": 5}})
    _, token = server.register("alice")
    before = stored(server)
    resp = send(server, token, {f"@u:s{i}.example": {"D": {}} for i in range(6)}, "t1")
    assert_error(resp, 413, "M_TOO_LARGE")
    assert stored(server) == before


def test_two_thousand_servers_create_no_destinations(server: TestServer) -> None:
    _, token = server.register("alice")
    before = stored(server)
    resp = send(
        server, token, {f"@u:s{i}.example": {"D": {}} for i in range(2000)}, "t1"
    )
    assert_error(resp, 413, "M_TOO_LARGE")
    assert stored(server) == before


def test_new_destinations_are_rate_limited(make_server: Any) -> None:
    server = make_server(
        {
            "rate_limiting": {
                "enabled": True,
                "new_destinations": {"per_second": 0.1, "burst_count": 5},
            }
        }
    )
    bob, _ = server.register("bob")
    _, token = server.register("alice")

    def servers(first: int, last: int) -> dict[str, Any]:
        return {f"@u:s{i}.example": {"D": {}} for i in range(first, last)}

    assert send(server, token, servers(0, 3), "t1").code == 200
    # Known servers cost nothing: these three again, plus two new ones.
    assert send(server, token, servers(0, 5), "t2").code == 200
    before = stored(server)
    resp = send(server, token, {**servers(5, 7), bob: {"*": {}}}, "t3")
    assert_error(resp, 429, "M_LIMIT_EXCEEDED")
    assert resp.json["retry_after_ms"] > 0
    assert stored(server) == before  # bob got nothing either
    # More new servers than the burst allows can never pass: 413.
    assert_error(send(server, token, servers(10, 16), "t4"), 413, "M_TOO_LARGE")
    server.advance(20)
    assert send(server, token, {**servers(5, 7), bob: {"*": {}}}, "t3").code == 200


def test_to_device_requests_are_rate_limited_per_user(make_server: Any) -> None:
    server = make_server(
        {
            "rate_limiting": {
                "enabled": True,
                "to_device": {"per_second": 1, "burst_count": 2},
            }
        }
    )
    bob, _ = server.register("bob")
    _, alice = server.register("alice")
    _, admin = server.register("root", admin=True)
    for txn in ("t1", "t2"):
        assert send(server, alice, {bob: {"*": {}}}, txn).code == 200
    assert_error(send(server, alice, {bob: {"*": {}}}, "t3"), 429, "M_LIMIT_EXCEEDED")
    for n in range(5):  # admins are exempt
        assert send(server, admin, {bob: {"*": {}}}, f"a{n}").code == 200
    server.advance(1)
    assert send(server, alice, {bob: {"*": {}}}, "t3").code == 200
