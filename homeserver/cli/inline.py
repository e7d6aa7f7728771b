"""Running database coroutines in synctl, where no reactor runs: the database
is opened with the inline runner, so every call completes at once."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.python.failure import Failure

from homeserver.cli.datadir import DataDir
from homeserver.storage.database import Database, inline_runner
from homeserver.storage.engines import engine_for
from homeserver.storage.migrations import prepare_database

T = TypeVar("T")


def wait(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine whose database calls complete inline; its result."""
    d = defer.ensureDeferred(coro)
    results: list[Any] = []
    d.addBoth(results.append)
    assert results, "a database call did not complete inline"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]  # type: ignore[no-any-return]


def open_database(data_dir: DataDir) -> Database:
    """The data directory's database, opened inline and migrated."""
    config = data_dir.load_config()
    db = Database(engine_for(config.database, data_dir.root), inline_runner)
    wait(prepare_database(db))
    return db
