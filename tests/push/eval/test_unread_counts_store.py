"""UnreadCountsStore on both engines: many users' counts in one transaction,
the same room asked by two queries of one user counted once."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from twisted.internet.task import Clock as FakeReactor

from homeserver.storage.database import Database, inline_runner
from homeserver.storage.engines import Engine
from homeserver.storage.migrations import prepare_database
from homeserver.storage.stores.push_actions import READ_RECEIPT_TYPES, Counts
from homeserver.storage.stores.unread_counts import UnreadCountsStore, UnreadQuery
from homeserver.util.clock import Clock
from tests.push.eval.test_push_actions_store import add, run


@pytest.fixture
def db(make_engine: Callable[[], Engine]) -> Iterator[Database]:
    database = Database(make_engine(), inline_runner, txn_retries=3)
    run(prepare_database(database))
    yield database
    database.close()


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
