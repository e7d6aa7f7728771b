"""matrix-nio manages push rules against a real server process with its own
helpers (set, enable, actions, delete), reads them back as the
``PushRulesEvent`` of its sync, and its counts follow them."""

from __future__ import annotations

import asyncio

import nio
import pytest
from nio.api import PushRuleKind

from tests.conftest import ONE_ENGINE
from tests.e2e.conftest import RunningServer
from tests.e2e.nio_clients import registered_client, shared_room

pytestmark = pytest.mark.integration
# The push rules' and counts' SQL runs on both engines in process
# (tests/push/rules/test_api.py, tests/push/eval/test_counts.py).
ENGINES = ONE_ENGINE


async def _rules(
    client: nio.AsyncClient, since: str | None
) -> nio.PushRulesEvent | None:
    """The PushRulesEvent of a sync from ``since`` (None if it has none)."""
    synced = await client.sync(since=since, full_state=since is None)
    assert isinstance(synced, nio.SyncResponse), synced
    found = [e for e in synced.account_data_events if isinstance(e, nio.PushRulesEvent)]
    return found[0] if found else None


async def _counts(client: nio.AsyncClient, room_id: str) -> tuple[int, int]:
    synced = await client.sync(full_state=True)
    assert isinstance(synced, nio.SyncResponse), synced
    unread = synced.rooms.join[room_id].unread_notifications
    return unread.notification_count or 0, unread.highlight_count or 0


async def _story(server: RunningServer) -> None:
    alice = await registered_client(server, "alice")
    bob = await registered_client(server, "bob")
    try:
        initial = await _rules(alice, None)
        assert initial is not None
        assert initial.global_rules.override[0].id == ".m.rule.master"
        since = alice.next_batch
        assert await _rules(alice, since) is None

        highlight = [nio.PushNotify(), nio.PushSetTweak("highlight", True)]
        done = await alice.set_pushrule(
            "global", PushRuleKind.content, "cake", actions=highlight, pattern="cake"
        )
        assert isinstance(done, nio.SetPushRuleResponse), done
        changed = await _rules(alice, since)
        assert changed is not None
        first = changed.global_rules.content[0]
        assert (first.id, first.pattern, first.default) == ("cake", "cake", False)

        room_id = await shared_room(alice, bob, name="Rules")
        sent = await bob.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "cake time"}
        )
        assert isinstance(sent, nio.RoomSendResponse), sent
        assert await _counts(alice, room_id) == (1, 1)

        # The master rule mutes everything; silenced, nothing more counts.
        on = await alice.enable_pushrule(
            "global", PushRuleKind.override, ".m.rule.master", True
        )
        assert isinstance(on, nio.EnablePushRuleResponse), on
        await bob.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "cake"}
        )
        assert await _counts(alice, room_id) == (1, 1)
        off = await alice.enable_pushrule(
            "global", PushRuleKind.override, ".m.rule.master", False
        )
        assert isinstance(off, nio.EnablePushRuleResponse), off

        # The keyword's actions changed to a plain notification, then deleted.
        plain = await alice.set_pushrule_actions(
            "global", PushRuleKind.content, "cake", [nio.PushNotify()]
        )
        assert isinstance(plain, nio.SetPushRuleActionsResponse), plain
        await bob.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "cake!"}
        )
        assert await _counts(alice, room_id) == (2, 1)
        gone = await alice.delete_pushrule("global", PushRuleKind.content, "cake")
        assert isinstance(gone, nio.DeletePushRuleResponse), gone
        missing = await alice.delete_pushrule("global", PushRuleKind.content, "cake")
        assert isinstance(missing, nio.DeletePushRuleError), missing
        final = await _rules(alice, None)
        assert final is not None
        assert [r.id for r in final.global_rules.content] == [
            ".m.rule.contains_user_name"
        ]
    finally:
        for client in (alice, bob):
            await client.close()


def test_nio_manages_push_rules(running_server: RunningServer) -> None:
    asyncio.run(_story(running_server))
