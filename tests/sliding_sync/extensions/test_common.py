"""What every extension shares (MSC4508): enabled, unknown keys, malformed
common fields, and extensions together on one connection."""

from __future__ import annotations

from typing import Any

from tests.sliding_sync.core.test_sliding_sync import SS
from tests.sliding_sync.extensions.kit import ON, Conn
from tests.support.server import TestServer

ALL_FIVE = ("to_device", "e2ee", "account_data", "receipts", "typing")


def test_disabled_and_unknown_are_left_out(server: TestServer) -> None:
    alice = server.user("alice")
    alice.create_room()
    extensions: dict[str, Any] = {
        "typing": {"enabled": False},
        "receipts": {},
        "org.example.unknown": {"enabled": True, "whatever": [1]},
        "account_data": ON,
        "e2ee": None,  # null: not asked for
    }
    assert set(Conn(alice, extensions).sync()) == {"account_data"}


def test_all_at_once_first_response_shapes(server: TestServer) -> None:
    alice = server.user("alice")
    alice.create_room()
    section = Conn(alice, {k: ON for k in ALL_FIVE}).sync()
    assert set(section) == set(ALL_FIVE)
    assert section["to_device"]["events"] == []
    assert section["to_device"]["next_batch"].isdigit()
    assert set(section["e2ee"]) == {
        "device_one_time_keys_count",
        "device_unused_fallback_key_types",
    }
    assert section["receipts"] == {"rooms": {}}
    assert section["typing"] == {"rooms": {}}
    assert set(section["account_data"]) == {"global", "rooms"}


def test_malformed_common_fields(server: TestServer) -> None:
    alice = server.user("alice")
    bad: list[tuple[str, dict[str, Any]]] = [
        ("typing", {"enabled": 1}),
        ("receipts", {**ON, "lists": "all"}),
        ("account_data", {**ON, "rooms": [1]}),
        ("e2ee", {"enabled": "true"}),
    ]
    for key, config in bad:
        resp = alice.post(SS, {"extensions": {key: config}}, expect=400).json
        assert resp["errcode"] == "M_BAD_JSON", (key, config)


def test_a_bad_extension_leaves_the_connection_as_it_was(server: TestServer) -> None:
    alice = server.user("alice")
    conn = Conn(alice, {"typing": ON})
    conn.sync()
    pos = conn.pos
    body = conn.request_body(extensions={"to_device": {**ON, "since": "x"}})
    alice.post(SS, body, expect=400)
    conn.sync()  # the same pos still works: nothing was acknowledged or lost
    assert conn.pos != pos
