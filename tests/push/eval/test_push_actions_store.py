"""PushActionsStore on both engines: unread after receipts (threads too),
badge counts, /notifications paging, per-thread counts and pruning; and
UnreadCountsStore's many users in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock as FakeReactor

from homeserver.storage.database import Database, inline_runner
from homeserver.storage.engines import Engine
from homeserver.storage.migrations import prepare_database
from homeserver.storage.stores.push_actions import (
    READ_RECEIPT_TYPES,
    Counts,
    EventPushActions,
    PushActionsStore,
    UserActions,
    insert_push_actions_txn,
    positions_from_receipts,
)
from homeserver.storage.stores.unread_counts import UnreadCountsStore, UnreadQuery
from homeserver.util.clock import Clock

NOTIFY = ["notify"]
HIGHLIGHT = ["notify", {"set_tweak": "highlight"}]


def run(d: Any) -> Any:
    results: list[Any] = []
    defer.ensureDeferred(d).addBoth(results.append)
    assert results
    if hasattr(results[0], "raiseException"):
        results[0].raiseException()
    return results[0]


@pytest.fixture
def db(make_engine: Callable[[], Engine]) -> Iterator[Database]:
    database = Database(make_engine(), inline_runner, txn_retries=3)
    run(prepare_database(database))
    yield database
    database.close()


def add(
    db: Database,
    ordering: int,
    users: dict[str, list[Any]],
    *,
    room: str = "!r:hs",
    thread: str = "main",
    ts: int = 1000,
) -> None:
    actions = EventPushActions(
        event_id=f"$e{ordering}",
        room_id=room,
        thread_id=thread,
        received_ts=ts,
        users=tuple(
            UserActions(u, a, len(a) > 1 and "highlight" in str(a))
            for u, a in users.items()
        ),
    )
    run(
        db.run_interaction(
            "add", lambda txn: insert_push_actions_txn(txn, actions, ordering)
        )
    )


def receipt(db: Database, user: str, ordering: int, thread: str = "") -> None:
    run(
        db.run_interaction(
            "receipt",
            lambda txn: txn.execute(
                "INSERT INTO receipts (room_id, receipt_type, user_id, thread_id,"
                " event_id, event_stream_ordering, ts, stream_id)"
                " VALUES (?, 'm.read', ?, ?, ?, ?, 0, ?)",
                ("!r:hs", user, thread, f"$e{ordering}", ordering, ordering),
            ),
        )
    )


def test_unread_badge_and_notifications(db: Database) -> None:
    store = PushActionsStore(db)
    add(db, 1, {"@a:hs": NOTIFY, "@b:hs": NOTIFY})
    add(db, 2, {"@a:hs": HIGHLIGHT})
    add(db, 3, {"@a:hs": NOTIFY}, thread="$e1")
    add(db, 4, {"@a:hs": NOTIFY}, room="!other:hs")
    unread = run(store.get_unread_push_actions("@a:hs", after=0, upto=10, limit=10))
    assert [a.event_id for a in unread] == ["$e1", "$e2", "$e3", "$e4"]
    assert unread[1].highlight and unread[1].actions == HIGHLIGHT
    assert unread[2].thread_id == "$e1"
    receipt(db, "@a:hs", 2)
    unread = run(store.get_unread_push_actions("@a:hs", after=0, upto=10, limit=10))
    assert [a.event_id for a in unread] == ["$e3", "$e4"]
    assert run(store.badge_count("@a:hs", by_room=False)) == 2
    assert run(store.badge_count("@a:hs", by_room=True)) == 2
    # A receipt in the thread reads the thread only.
    receipt(db, "@a:hs", 3, thread="$e1")
    assert run(store.badge_count("@a:hs", by_room=False)) == 1
    page = run(
        store.get_notifications("@a:hs", before=None, limit=2, only_highlight=False)
    )
    assert [(n.action.event_id, n.read) for n in page] == [
        ("$e4", False),
        ("$e3", True),
    ]
    rest = run(
        store.get_notifications(
            "@a:hs",
            before=page[-1].action.stream_ordering,
            limit=5,
            only_highlight=False,
        )
    )
    assert [n.action.event_id for n in rest] == ["$e2", "$e1"]
    high = run(
        store.get_notifications("@a:hs", before=None, limit=5, only_highlight=True)
    )
    assert [n.action.event_id for n in high] == ["$e2"]


def test_counts_by_thread_and_prune(db: Database) -> None:
    store = PushActionsStore(db)
    add(db, 1, {"@a:hs": NOTIFY})
    add(db, 2, {"@a:hs": HIGHLIGHT}, thread="$e1")
    add(db, 3, {"@a:hs": NOTIFY}, thread="$e1")
    add(db, 4, {"@a:hs": HIGHLIGHT}, ts=5000)
    positions = {"!r:hs": positions_from_receipts({"$e1": 2}, 0)}
    counts = run(store.count_unread("@a:hs", positions, 10))["!r:hs"]
    assert (counts.main.notifications, counts.main.highlights) == (2, 1)
    assert {t: (c.notifications, c.highlights) for t, c in counts.threads.items()} == {
        "$e1": (1, 0)
    }
    assert counts.total().notifications == 3
    # Only read actions older than the cut-off are pruned.
    receipt(db, "@a:hs", 4)
    assert run(store.delete_old_read_actions(2000)) == 3
    assert run(
        store.get_notifications("@a:hs", before=None, limit=9, only_highlight=False)
    )[0].read


def test_a_room_in_two_queries_of_one_user_counts_once(db: Database) -> None:
    """Two devices of one user, woken together, list overlapping rooms."""
    for ordering in (1, 2, 3):
        add(db, ordering, {"@a:hs": ["notify"], "@b:hs": ["notify"]})
    add(db, 4, {"@a:hs": ["notify"]}, room="!other:hs")
    store = UnreadCountsStore(db, READ_RECEIPT_TYPES, Clock(FakeReactor()))
    both = UnreadQuery("@a:hs", ("!other:hs", "!r:hs"), 10)
    one = UnreadQuery("@a:hs", ("!r:hs",), 10)
    other_user = UnreadQuery("@b:hs", ("!r:hs",), 10)
    for _ in range(2):  # counted whole, then going on from the kept counts
        found = run(store.get_unread_counts([both, one, other_user]))
        assert found[both]["!r:hs"].total() == Counts(3, 0)
        assert found[both]["!other:hs"].total() == Counts(1, 0)
        assert found[one]["!r:hs"].total() == Counts(3, 0)
        assert found[other_user]["!r:hs"].total() == Counts(3, 0)
