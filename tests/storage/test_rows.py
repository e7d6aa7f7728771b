"""Rows by column name and batched IN-lists, alike on both engines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from homeserver.storage.database import (
    IN_BATCH,
    Database,
    Transaction,
    in_list,
    inline_runner,
)
from homeserver.storage.engines import Engine
from homeserver.storage.rows import Row, row_class
from tests.storage.test_database import run


@pytest.fixture
def db(make_engine: Callable[[], Engine]) -> Any:
    database = Database(make_engine(), inline_runner, txn_retries=3)
    run(
        database.run_interaction(
            "schema",
            lambda txn: txn.execute(
                "CREATE TABLE t (id INTEGER NOT NULL, name TEXT, Mixed TEXT)"
            ),
        )
    )
    run(
        database.run_interaction(
            "fill",
            lambda txn: txn.execute_many(
                "INSERT INTO t (id, name, Mixed) VALUES (?, ?, ?)",
                [(i, f"n{i}", f"m{i}") for i in range(1000)],
            ),
        )
    )
    yield database
    database.close()


def _query(db: Database, fn: Callable[[Transaction], Any]) -> Any:
    return run(db.run_interaction("q", fn))


def test_rows_are_tuples_with_named_columns(db: Database) -> None:
    rows = _query(
        db,
        lambda txn: txn.query(
            "SELECT id, name, Mixed, COUNT(*) AS n FROM t WHERE id < ?"
            " GROUP BY id, name, Mixed ORDER BY id",
            (2,),
        ),
    )
    first = rows[0]
    assert isinstance(first, Row)
    assert (first.id, first.name, first.n) == (0, "n0", 1)
    assert first.mixed == "m0"  # names are lower-cased on both engines
    assert first == (0, "n0", "m0", 1)  # still a tuple: unpacking, comparison
    ident, name, *_ = first
    assert (ident, name) == (0, "n0")
    with pytest.raises(AttributeError):
        first.nope  # noqa: B018


def test_query_one(db: Database) -> None:
    row = _query(db, lambda txn: txn.query_one("SELECT name FROM t WHERE id = 7"))
    assert row.name == "n7"
    assert (
        _query(db, lambda txn: txn.query_one("SELECT name FROM t WHERE id < 0")) is None
    )


def test_unnamed_and_repeated_columns_fall_back_to_positions() -> None:
    cls = row_class(("a", "COUNT(*)", "a", "class", "_x"))
    row = tuple.__new__(cls, (1, 2, 3, 4, 5))
    assert row.a == 1
    assert row._fields == ("a", "_1", "_2", "_3", "_4")


@pytest.mark.parametrize("count", [0, 1, 199, 200, 201, 999])
def test_query_in_batches_long_lists(db: Database, count: int) -> None:
    wanted = list(range(0, count * 2, 2))  # half of them exist below 1000
    rows = _query(
        db,
        lambda txn: txn.query_in(
            "SELECT id FROM t WHERE id >= ? AND id IN (?*) AND name <> ?",
            wanted,
            (0, "n4"),
        ),
    )
    assert sorted(r.id for r in rows) == [i for i in wanted if i < 1000 and i != 4]


def test_query_in_needs_one_marker(db: Database) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        _query(db, lambda txn: txn.query_in("SELECT id FROM t WHERE id IN (?)", [1]))


def test_in_list() -> None:
    assert in_list(["a", "b", "c"]) == "(?, ?, ?)"
    assert in_list(["a"]) == "(?)"


@pytest.mark.parametrize("count", [0, 1, 3, 250])
def test_insert_many_in_few_statements(db: Database, count: int) -> None:
    """insert_many writes every row in one statement per IN_BATCH values."""
    rows = [(5000 + i, f"n{i}") for i in range(count)]

    def insert(txn: Transaction) -> int:
        txn.insert_many("t", ("id", "name"), rows)
        return txn.statements

    statements = run(db.run_interaction("insert", insert))
    assert statements == -(-count // (IN_BATCH // 2))
    stored = _query(
        db, lambda txn: txn.query("SELECT id, name FROM t WHERE id >= 5000")
    )
    assert sorted(stored) == rows
