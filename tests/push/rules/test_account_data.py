"""The rules as ``m.push_rules`` global account data: in every initial /sync,
in an incremental one only when they changed, waking a long-poll, in sliding
sync's account_data extension, through GET account_data (never PUT), and
still in step after a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.sliding_sync.extensions.kit import ON, Conn
from tests.support import TestServer, User
from tests.support.urls import CLIENT

RULES = "/pushrules/global"
TYPE = "m.push_rules"


def push_rules_in(events: list[dict[str, Any]]) -> list[Any]:
    """The contents of the ``m.push_rules`` events among account data events."""
    return [e["content"] for e in events if e["type"] == TYPE]


def synced_rules(user: User, since: str | None = None) -> tuple[list[Any], str]:
    """``m.push_rules`` in a /sync's account data, and its next_batch."""
    body = user.sync(since)
    return push_rules_in(body["account_data"]["events"]), body["next_batch"]


def add_keyword(user: User, word: str) -> None:
    user.put(
        f"{RULES}/content/{word}", {"pattern": word, "actions": ["notify"]}, expect=200
    )


def test_initial_sync_always_has_the_rules(server: TestServer) -> None:
    alice = server.user("alice")
    found, _ = synced_rules(alice)
    assert found == [alice.get("/pushrules/", expect=200).json]
    assert found[0]["global"]["override"][0]["rule_id"] == ".m.rule.master"


def test_incremental_sync_only_when_changed(server: TestServer) -> None:
    alice, bob = server.user("alice"), server.user("bob")
    _, since = synced_rules(alice)
    found, since = synced_rules(alice, since)
    assert found == []
    add_keyword(alice, "cake")
    found, since = synced_rules(alice, since)
    assert len(found) == 1
    assert found[0] == alice.get("/pushrules/", expect=200).json
    assert found[0]["global"]["content"][0]["rule_id"] == "cake"
    # Other account data, and other users' rule changes, bring no rules.
    alice.put(f"/user/{alice.user_id}/account_data/org.example", {"a": 1}, expect=200)
    add_keyword(bob, "pie")
    found, since = synced_rules(alice, since)
    assert found == []
    alice.put(f"{RULES}/override/.m.rule.master/enabled", {"enabled": True}, expect=200)
    found, since = synced_rules(alice, since)
    assert found[0]["global"]["override"][0]["enabled"] is True
    alice.delete(f"{RULES}/content/cake", expect=200)
    found, _ = synced_rules(alice, since)
    assert [r["rule_id"] for r in found[0]["global"]["content"]] == [
        ".m.rule.contains_user_name"
    ]


def test_a_change_wakes_the_long_poll(server: TestServer) -> None:
    alice = server.user("alice")
    _, since = synced_rules(alice)
    pending = server.start_request(
        "GET", f"{CLIENT}/sync?since={since}&timeout=30000", alice.token
    )
    server.advance(1)
    assert not pending.done
    alice.put(f"{RULES}/underride/.m.rule.message/actions", {"actions": []}, expect=200)
    assert pending.done
    found = push_rules_in(pending.response().json["account_data"]["events"])
    message = [
        r for r in found[0]["global"]["underride"] if r["rule_id"] == ".m.rule.message"
    ]
    assert message[0]["actions"] == []


def test_a_refused_change_moves_nothing(server: TestServer) -> None:
    alice = server.user("alice")
    _, since = synced_rules(alice)
    alice.put(f"{RULES}/content/x", {"actions": []}, expect=400)
    alice.delete(f"{RULES}/content/nope", expect=404)
    found, _ = synced_rules(alice, since)
    assert found == []


def test_account_data_api(server: TestServer) -> None:
    alice = server.user("alice")
    path = f"/user/{alice.user_id}/account_data/{TYPE}"
    add_keyword(alice, "tea")
    assert alice.get(path, expect=200).json == alice.get("/pushrules/", expect=200).json
    resp = alice.put(path, {"global": {}}, expect=405)
    assert resp.json["errcode"] == "M_BAD_JSON"
    assert alice.get(path, expect=200).json["global"]["content"][0]["rule_id"] == "tea"
    server.user("bob").get(path, expect=403)
    # There are no room-level push rules: room account data of that type
    # cannot be set (405 M_BAD_JSON, as Synapse) and is not there (404).
    room_id = alice.create_room()
    in_room = f"/user/{alice.user_id}/rooms/{room_id}/account_data/{TYPE}"
    resp = alice.put(in_room, {"global": {}}, expect=405)
    assert resp.json["errcode"] == "M_BAD_JSON"
    assert alice.get(in_room, expect=404).json["errcode"] == "M_NOT_FOUND"


def test_sliding_sync_extension_has_the_rules(server: TestServer) -> None:
    alice = server.user("alice")
    conn = Conn(alice, {"account_data": ON})
    first = push_rules_in(conn.sync()["account_data"]["global"])
    assert first == [alice.get("/pushrules/", expect=200).json]
    assert conn.sync()["account_data"]["global"] == []
    add_keyword(alice, "soup")
    found = push_rules_in(conn.sync()["account_data"]["global"])
    assert found[0]["global"]["content"][0]["rule_id"] == "soup"


def test_rules_and_positions_survive_a_restart(
    server: TestServer, tmp_path: Path
) -> None:
    alice = server.user("alice")
    add_keyword(alice, "one")
    add_keyword(alice, "two")
    _, since = synced_rules(alice)
    restarted = TestServer(server.db.engine, None, tmp_path)
    alice = alice.on(restarted)
    # The account_data stream resumes after the rules' last position: an
    # unchanged user gets nothing, a change after the old token is seen.
    found, _ = synced_rules(alice, since)
    assert found == []
    content = alice.get(f"{RULES}/", expect=200).json["content"]
    assert [r["rule_id"] for r in content][:2] == ["two", "one"]
    add_keyword(alice, "three")
    found, _ = synced_rules(alice, since)
    assert [r["rule_id"] for r in found[0]["global"]["content"]][:3] == [
        "three",
        "two",
        "one",
    ]
