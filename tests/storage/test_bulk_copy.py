"""Rows of a new event by COPY (``storage/bulk_copy.py``), on both engines:
every value survives the text format, queued writes keep their order, and a
COPY that fails takes the whole transaction with it."""

from __future__ import annotations

import enum
import json

import pytest

from homeserver.storage.bulk_copy import COPY_MIN_ROWS, copy_new_rows, copy_text
from homeserver.storage.database import Database, Transaction
from homeserver.storage.stores.push_actions import (
    EventPushActions,
    UserActions,
    insert_push_actions_txn,
)
from tests.storage.test_database import run

AWKWARD = ["tab\there", "new\nline", "back\\slash", "cr\rhere", "\\N", "é ☃", ""]


def test_copy_text_escapes_what_the_format_reserves() -> None:
    text = copy_text([("a\tb", None, 5, True), ("c\\d\n", "", -1, False)])
    assert text == "a\\tb\t\\N\t5\tt\nc\\\\d\\n\t\t-1\tf\n"
    assert copy_text([]) == ""
    with pytest.raises(TypeError):
        copy_text([(1.5,)])


class _Name(str):
    pass


class _Level(enum.IntEnum):
    HIGH = 2


def test_copy_text_repeated_values_and_subclasses() -> None:
    """A value repeated down the rows is written the same in each (it is
    escaped once); subclasses of str and int are written as their values."""
    rows = [("x\ty", 1, True)] * 3 + [(_Name("a\nb"), _Level.HIGH, 0)]
    assert copy_text(rows) == "x\\ty\t1\tt\n" * 3 + "a\\nb\t2\t0\n"


def _actions(users: list[str], event_id: str = "$new") -> EventPushActions:
    return EventPushActions(
        event_id=event_id,
        room_id="!r:hs",
        thread_id="main",
        received_ts=1234,
        users=tuple(
            UserActions(u, ["notify", {"set_tweak": "sound", "value": u}], i == 0)
            for i, u in enumerate(users)
        ),
    )


def _stored(db: Database, event_id: str) -> list[tuple[str, int, str, int]]:
    rows = run(
        db.run_read(
            "read",
            lambda txn: txn.query(
                "SELECT user_id, highlight, actions, stream_ordering"
                " FROM event_push_actions WHERE event_id = ? ORDER BY user_id",
                (event_id,),
            ),
        )
    )
    return [(r.user_id, r.highlight, r.actions, r.stream_ordering) for r in rows]


def _copies(txn: Transaction) -> bool:
    return not txn.engine.single_threaded


@pytest.mark.parametrize("count", [3, COPY_MIN_ROWS, 300])
def test_a_new_events_actions_are_stored_whole(db: Database, count: int) -> None:
    """Every row and every awkward character arrives, by COPY or INSERT,
    after the writes queued before it in the same transaction."""
    users = sorted(f"@{AWKWARD[i % len(AWKWARD)]}{i}:hs" for i in range(count))
    used: list[bool] = []

    def write(txn: Transaction) -> None:
        txn.execute_later(
            "INSERT INTO users (user_id, created_ts) VALUES (?, ?)", ("@q:hs", 1)
        )
        used.append(_copies(txn) and count >= COPY_MIN_ROWS)
        insert_push_actions_txn(txn, _actions(users), 42, new_event=True)

    run(db.run_interaction("write", write))
    stored = _stored(db, "$new")
    assert [s[0] for s in stored] == users
    assert stored[0][1] == 1 and all(s[1] == 0 for s in stored[1:])
    assert all(s[3] == 42 for s in stored)
    for user_id, _, actions, _ in stored:
        assert json.loads(actions) == [
            "notify",
            {"set_tweak": "sound", "value": user_id},
        ]
    users_rows = run(
        db.run_read(
            "u",
            lambda txn: txn.query("SELECT user_id FROM users WHERE user_id = '@q:hs'"),
        )
    )
    assert len(users_rows) == 1
    assert used == [not db.engine.single_threaded and count >= COPY_MIN_ROWS]


def test_a_failed_copy_writes_nothing(db: Database) -> None:
    """A row that breaks a constraint fails the COPY, and the transaction
    leaves nothing behind: not the queued write before it either. (On
    SQLite the rows go in as INSERT ... ON CONFLICT DO NOTHING, as before.)"""
    users = [f"@u{i}:hs" for i in range(COPY_MIN_ROWS)]
    run(
        db.run_interaction(
            "first",
            lambda txn: insert_push_actions_txn(txn, _actions(users[:1]), 1),
        )
    )

    def write(txn: Transaction) -> None:
        txn.execute_later(
            "INSERT INTO users (user_id, created_ts) VALUES (?, ?)", ("@q:hs", 1)
        )
        # users[0] already has a row for $new: the primary key refuses it
        insert_push_actions_txn(txn, _actions(users), 2, new_event=True)
        txn.execute("SELECT 1")

    if db.engine.single_threaded:
        run(db.run_interaction("write", write))
        assert [s[0] for s in _stored(db, "$new")] == sorted(users)
        return
    with pytest.raises(db.engine.IntegrityError):
        run(db.run_interaction("write", write))
    assert [s[0] for s in _stored(db, "$new")] == users[:1]
    found = run(
        db.run_read(
            "u",
            lambda txn: txn.query("SELECT user_id FROM users WHERE user_id = '@q:hs'"),
        )
    )
    assert found == []


def test_copy_new_rows_leaves_few_rows_to_the_caller(db: Database) -> None:
    def attempt(txn: Transaction) -> bool:
        return copy_new_rows(txn, "users", ["user_id", "created_ts"], [("@few:hs", 1)])

    assert run(db.run_interaction("few", attempt)) is False
