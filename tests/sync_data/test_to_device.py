"""Send-to-device messaging: HTTP, idempotency, exactly-once delivery, deletion.

Spec: client-server API, "Send-to-Device messaging".
"""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.composition import build_homeserver
from homeserver.storage.database import inline_runner
from tests.support import User, q
from tests.support.server import TEST_SIGNING_KEY, FakeResponse, TestServer
from tests.sync_data.helpers import assert_error, finish, token, wait


@pytest.fixture
def users(server: TestServer) -> dict[str, Any]:
    """alice on device A1; bob on devices B1 and B2; carol on C1."""
    alice, _ = server.register("alice")
    bob, _ = server.register("bob")
    carol, _ = server.register("carol")
    return {
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "A1": server.login("alice", device_id="A1"),
        "B1": server.login("bob", device_id="B1"),
        "B2": server.login("bob", device_id="B2"),
        "C1": server.login("carol", device_id="C1"),
    }


def send_to_device(
    user: User,
    messages: Any,
    txn_id: str,
    event_type: str = "m.room_key_request",
) -> FakeResponse:
    body = messages if isinstance(messages, bytes) else {"messages": messages}
    return user.put(f"/sendToDevice/{q(event_type)}/{q(txn_id)}", body)


def inbox(
    server: TestServer,
    user_id: str,
    device_id: str,
    since: int = 0,
    upto: int | None = None,
    limit: int = 100,
) -> tuple[list[dict[str, Any]], int]:
    end = token(server).get("to_device") if upto is None else upto
    return server.get_success(  # type: ignore[no-any-return]
        server.hs.sync_data.to_device.get_to_device(
            user_id, device_id, since, end, limit
        )
    )


def contents(messages: list[dict[str, Any]]) -> list[Any]:
    return [m["content"] for m in messages]


def test_message_reaches_only_the_named_device(server: TestServer, users: dict) -> None:
    bob = users["bob"]
    resp = send_to_device(users["A1"], {bob: {"B1": {"n": 1}}}, "t1")
    assert resp.code == 200 and resp.json == {}
    messages, reached = inbox(server, bob, "B1")
    assert messages == [
        {"type": "m.room_key_request", "sender": users["alice"], "content": {"n": 1}}
    ]
    assert reached == token(server).get("to_device")
    assert inbox(server, bob, "B2")[0] == []


def test_star_means_every_device(server: TestServer, users: dict) -> None:
    bob = users["bob"]
    before = token(server).get("to_device")
    send_to_device(users["A1"], {bob: {"*": {"n": 1}}}, "t1")
    # One message (and one stream position) per device, the register
    # helper's login included.
    devices = server.get_success(server.hs.accounts.stores.devices.get_devices(bob))
    assert len(devices) == 3
    assert token(server).get("to_device") == before + 3
    assert contents(inbox(server, bob, "B1")[0]) == [{"n": 1}]
    assert contents(inbox(server, bob, "B2")[0]) == [{"n": 1}]


def test_unknown_devices_users_and_remote_users_are_skipped(
    server: TestServer, users: dict
) -> None:
    bob = users["bob"]
    resp = send_to_device(
        users["A1"],
        {
            bob: {"NOPE": {"n": 1}, "B1": {"n": 2}},
            "@nobody:test": {"*": {"n": 3}},
            "@remote:elsewhere.example": {"X": {"n": 4}},
        },
        "t1",
    )
    assert resp.code == 200, resp.json
    assert contents(inbox(server, bob, "B1")[0]) == [{"n": 2}]
    rows = server.get_success(
        server.db.run_interaction(
            "count", lambda txn: txn.query_one("SELECT COUNT(*) FROM device_inbox")
        )
    )
    assert rows[0] == 1


def test_same_txn_id_is_sent_once(server: TestServer, users: dict) -> None:
    bob = users["bob"]
    for _ in range(2):
        resp = send_to_device(users["A1"], {bob: {"B1": {"n": 1}}}, "same")
        assert resp.code == 200
    assert contents(inbox(server, bob, "B1")[0]) == [{"n": 1}]
    # The same transaction ID from another device is another transaction.
    a2 = server.login("alice", device_id="A2")
    send_to_device(a2, {bob: {"B1": {"n": 2}}}, "same")
    assert contents(inbox(server, bob, "B1")[0]) == [{"n": 1}, {"n": 2}]


def test_exactly_once_then_deleted(server: TestServer, users: dict) -> None:
    bob = users["bob"]
    to_device = server.hs.sync_data.to_device
    send_to_device(users["A1"], {bob: {"B1": {"n": 1}, "B2": {"n": 1}}}, "t1")
    first, p1 = inbox(server, bob, "B1")
    assert contents(first) == [{"n": 1}]
    send_to_device(users["A1"], {bob: {"B1": {"n": 2}}}, "t2")
    # The next sync (since p1) confirms the first batch: it is deleted, and
    # only the new message comes.
    server.get_success(to_device.delete_to_device_up_to(bob, "B1", p1))
    second, p2 = inbox(server, bob, "B1", since=p1)
    assert contents(second) == [{"n": 2}]
    assert inbox(server, bob, "B1", since=0)[0] == second
    server.get_success(to_device.delete_to_device_up_to(bob, "B1", p2))
    assert inbox(server, bob, "B1", since=0)[0] == []
    # B2's copy is its own.
    assert contents(inbox(server, bob, "B2")[0]) == [{"n": 1}]


def test_a_window_is_exactly_its_messages(server: TestServer, users: dict) -> None:
    bob = users["bob"]
    p0 = token(server).get("to_device")
    send_to_device(users["A1"], {bob: {"B1": {"n": 1}}}, "t1")
    p1 = token(server).get("to_device")
    send_to_device(users["A1"], {bob: {"B1": {"n": 2}}}, "t2")
    p2 = token(server).get("to_device")
    assert p0 < p1 < p2
    assert contents(inbox(server, bob, "B1", p0, p1)[0]) == [{"n": 1}]
    assert contents(inbox(server, bob, "B1", p1, p2)[0]) == [{"n": 2}]
    assert inbox(server, bob, "B1", p2, p2) == ([], p2)


def test_limit_returns_the_position_reached(server: TestServer, users: dict) -> None:
    bob = users["bob"]
    for i in range(5):
        send_to_device(users["A1"], {bob: {"B1": {"n": i}}}, f"t{i}")
    upto = token(server).get("to_device")
    seen: list[Any] = []
    since = 0
    for _ in range(3):
        messages, reached = inbox(server, bob, "B1", since, upto, limit=2)
        seen += contents(messages)
        since = reached
    assert seen == [{"n": i} for i in range(5)]
    assert since == upto


def test_a_message_wakes_only_its_recipient(server: TestServer, users: dict) -> None:
    bob_wait = wait(server, users["bob"])
    carol_wait = wait(server, users["carol"])
    send_to_device(users["A1"], {users["bob"]: {"B1": {}}}, "t1")
    assert bob_wait.called
    finish(server, carol_wait)


@pytest.mark.parametrize(
    ("messages", "errcode"),
    [
        (None, "M_BAD_JSON"),
        ([], "M_BAD_JSON"),
        ({"@bob:test": []}, "M_BAD_JSON"),
        ({"@bob:test": {"B1": "hello"}}, "M_BAD_JSON"),
        ({"bob": {"B1": {}}}, "M_INVALID_PARAM"),
    ],
)
def test_malformed_messages_are_400(
    server: TestServer, users: dict, messages: Any, errcode: str
) -> None:
    resp = send_to_device(users["A1"], messages, "t1")
    assert_error(resp, 400, errcode)
    assert inbox(server, users["bob"], "B1")[0] == []


def test_body_errors_and_auth(server: TestServer, users: dict) -> None:
    # An absent required field is M_MISSING_PARAM (spec "Common error codes"),
    # a wrong shape M_BAD_JSON.
    resp = users["A1"].put("/sendToDevice/m.x/t1", {})
    assert_error(resp, 400, "M_MISSING_PARAM")
    resp = users["A1"].put("/sendToDevice/m.x/t1", {"messages": {"@b:test": 5}})
    assert_error(resp, 400, "M_BAD_JSON")
    resp = users["A1"].put("/sendToDevice/m.x/t1", b"{nope")
    assert_error(resp, 400, "M_NOT_JSON")
    resp = users["A1"].put(f"/sendToDevice/{'x' * 256}/t1", {"messages": {}})
    assert_error(resp, 400, "M_INVALID_PARAM")
    resp = server.request(
        "PUT", "/_matrix/client/v3/sendToDevice/m.x/t1", {"messages": {}}
    )
    assert_error(resp, 401, "M_MISSING_TOKEN")


def test_deleting_a_device_drops_its_inbox(server: TestServer, users: dict) -> None:
    bob = users["bob"]
    send_to_device(users["A1"], {bob: {"*": {"n": 1}}}, "t1")
    server.get_success(server.hs.accounts.stores.devices.delete_devices(bob, ["B2"]))
    assert inbox(server, bob, "B2")[0] == []
    assert contents(inbox(server, bob, "B1")[0]) == [{"n": 1}]


def test_stream_never_restarts_lower(
    server: TestServer, users: dict, tmp_path: Any
) -> None:
    """Even with every inbox emptied, a restart continues above old positions,
    so a client's since token never skips or deletes new messages."""
    bob = users["bob"]
    send_to_device(users["A1"], {bob: {"*": {"n": 1}}}, "t1")
    position = token(server).get("to_device")
    for device in ("B1", "B2"):
        server.get_success(
            server.hs.sync_data.to_device.delete_to_device_up_to(bob, device, position)
        )
    restarted = build_homeserver(
        config=server.config,
        data_dir=tmp_path,
        reactor=server.reactor,
        db=server.db,
        blocking_runner=inline_runner,
        signing_key=TEST_SIGNING_KEY,
    )
    server.get_success(restarted.setup())
    assert restarted.core.notifier.current_token().get("to_device") == position
