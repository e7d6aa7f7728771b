"""Look-ups that many callers make at the same time share one database read:
the events a new event's woken syncs all miss in the cache (on a client
reader, which did not write it), and their bundled children. A look-up made
after the cache was invalidated never joins a read that began before."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from homeserver.storage.database import Database, inline_runner
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.relations import RelationsStore
from tests.support.reactors import HeldRunner


def _held(db: Database) -> HeldRunner:
    runner = HeldRunner()
    db.runner = runner
    return runner


def _start(coro: Any) -> list[Any]:
    results: list[Any] = []
    defer.ensureDeferred(coro).addBoth(results.append)
    return results


def test_concurrent_misses_of_the_same_events_share_one_read(db: Database) -> None:
    events = EventStore(db)
    runner = _held(db)
    callers = [_start(events.get_events(["$a", "$b"])) for _ in range(5)]
    other = _start(events.get_events(["$c"]))
    assert len(runner.held) == 2
    runner.release()
    assert callers == [[{}]] * 5
    assert other == [{}]


def test_a_miss_after_an_invalidation_reads_again(db: Database) -> None:
    events = EventStore(db)
    runner = _held(db)
    first = _start(events.get_events(["$a"]))
    events.invalidate("$a")
    second = _start(events.get_events(["$a"]))
    events.forget_replicated([])
    third = _start(events.get_events(["$a"]))
    assert len(runner.held) == 3
    runner.release()
    assert first == second == third == [{}]


def test_concurrent_bundled_children_look_ups_share_one_read(db: Database) -> None:
    relations = RelationsStore(db)
    runner = _held(db)
    types = ["m.replace", "m.thread"]
    callers = [_start(relations.get_bundled_children(["$p"], types)) for _ in range(4)]
    assert len(runner.held) == 1
    runner.release()
    assert callers == [[{}]] * 4
    # Found childless: not read again.
    assert _start(relations.get_bundled_children(["$p"], types)) == [{}]
    assert runner.held == []


def test_a_child_written_during_a_read_makes_later_look_ups_read_again(
    db: Database,
) -> None:
    relations = RelationsStore(db)
    runner = _held(db)
    types = ["m.replace"]
    before = _start(relations.get_bundled_children(["$p"], types))
    relations.childless.invalidate("$p")
    after = _start(relations.get_bundled_children(["$p"], types))
    assert len(runner.held) == 2
    runner.release()
    assert before == after == [{}]
    # The read that began before the child was written noted nothing; the
    # later one did.
    db.runner = inline_runner
    assert relations.childless.unknown(["$p"], types) == []
