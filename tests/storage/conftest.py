"""The storage tests' database: a Database on the test engine, inline."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from homeserver.storage.database import Database, inline_runner
from homeserver.storage.engines import Engine
from homeserver.storage.migrations import prepare_database
from tests.storage.test_database import run


@pytest.fixture
def db(make_engine: Callable[[], Engine]) -> Iterator[Database]:
    database = Database(make_engine(), inline_runner, txn_retries=3)
    run(prepare_database(database))
    yield database
    database.close()
