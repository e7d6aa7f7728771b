"""Database.watch_writes on both engines: which writes a watcher hears of,
only its own tables', and plain INSERTs only when it asks for them."""

from __future__ import annotations

from homeserver.storage.database import Database, Transaction
from tests.storage.test_database import run


def _write(db: Database, *statements: tuple[str, tuple[object, ...]]) -> None:
    def txn_fn(txn: Transaction) -> None:
        for sql, args in statements:
            txn.execute(sql, args)

    run(db.run_interaction("write", txn_fn))


def test_each_watcher_hears_of_writes_to_its_own_tables(db: Database) -> None:
    heard: list[str] = []
    published: list[list[str]] = []
    db.watch_writes(["e2e_one_time_keys"], lambda: heard.append("keys"), inserts=True)
    db.watch_writes(["access_tokens"], lambda: heard.append("tokens"))
    db.on_watched_write = lambda tables: published.append(sorted(tables))
    add_key = (
        "INSERT INTO e2e_one_time_keys"
        " (user_id, device_id, algorithm, key_id, key_json) VALUES (?, ?, ?, ?, ?)",
        ("@a:test", "D", "signed_curve25519", "K1", "{}"),
    )
    # A plain INSERT: heard by the watcher that asked for inserts only.
    _write(db, add_key)
    assert heard == ["keys"]
    assert published == [["e2e_one_time_keys"]]
    # A DELETE of the other table: its watcher only.
    _write(db, ("DELETE FROM access_tokens WHERE token_hash = ?", ("nothing",)))
    assert heard == ["keys", "tokens"]
    # A read is no write; a failed transaction tells nobody.
    run(db.run_interaction("read", lambda txn: txn.query("SELECT 1")))

    def fails(txn: Transaction) -> None:
        txn.execute("DELETE FROM e2e_one_time_keys", ())
        raise ValueError("no")

    try:
        run(db.run_interaction("fails", fails))
    except ValueError:
        pass
    assert heard == ["keys", "tokens"]
    # Both tables in one transaction: both watchers, once each.
    _write(
        db,
        ("DELETE FROM e2e_one_time_keys", ()),
        ("DELETE FROM access_tokens WHERE token_hash = ?", ("nothing",)),
    )
    assert sorted(heard[2:]) == ["keys", "tokens"]
    assert published[-1] == ["access_tokens", "e2e_one_time_keys"]
    # What another process published: the named tables' watchers, or (no
    # names: after a gap) every one.
    db.run_write_watchers(["access_tokens"])
    assert heard[4:] == ["tokens"]
    db.run_write_watchers()
    assert sorted(heard[5:]) == ["keys", "tokens"]
