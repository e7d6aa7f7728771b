"""Evaluation reads no rules from the database per member: a warm room's
message costs no rule query, one user's rule change one query, and a cold
start one query for every member of the room at once (counted in database
transactions, not timed)."""

from __future__ import annotations

from pathlib import Path

from tests.sliding_sync.core.test_cost import _spent, _transactions
from tests.support import TestServer

LOAD = "get_push_rules"
MEMBERS = 6


def rule_loads(before: dict[str, float]) -> float:
    return _spent(before).get(LOAD, 0)


def test_rule_loads_per_event(server: TestServer, tmp_path: Path) -> None:
    users = [server.user(f"u{i}") for i in range(MEMBERS)]
    owner, bob = users[0], users[1]
    room_id = owner.create_room(preset="public_chat")
    for user in users[1:]:
        user.join(room_id)
    owner.send(room_id, "warm up")

    before = _transactions()
    owner.send(room_id, "warm")
    assert rule_loads(before) == 0

    bob.put("/pushrules/global/content/x", {"pattern": "x", "actions": []}, expect=200)
    before = _transactions()
    owner.send(room_id, "after bob's change")
    assert rule_loads(before) == 1

    restarted = TestServer(server.db.engine, None, tmp_path)
    before = _transactions()
    owner.on(restarted).send(room_id, "cold")
    assert rule_loads(before) == 1
    # Every member but the sender was evaluated with the rules of that load.
    counts = bob.on(restarted).sync()["rooms"]["join"][room_id]["unread_notifications"]
    assert counts["notification_count"] == 4
