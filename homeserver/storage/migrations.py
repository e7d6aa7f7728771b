"""Versioned schema migrations, applied at start.

Schema files live in ``storage/schema/NNNN_name.sql``; a file named
``NNNN_name.postgres.sql`` or ``NNNN_name.sqlite.sql`` applies to that engine
only. Each migration runs in its own transaction with its version bump.
"""

from __future__ import annotations

import logging
import re
import time
from importlib import resources
from typing import Any

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.engines import split_statements

logger = logging.getLogger(__name__)
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|postgres))?\.sql$")


@attrs.frozen
class Migration:
    """One numbered schema change."""

    version: int
    name: str
    sql: str


class SchemaTooNewError(Exception):
    """The database was written by a newer server than this one."""


def load_migrations(engine_name: str) -> list[Migration]:
    """Every migration for ``engine_name``, in order."""
    found: dict[int, Migration] = {}
    entries = []
    for entry in resources.files("homeserver.storage.schema").iterdir():
        match = _FILE.match(entry.name)
        if match and match.group(3) in (None, engine_name):
            entries.append((match, entry))
    # A version's shared file first, then its engine's file (which may use
    # the tables the shared one creates); directory order is arbitrary.
    entries.sort(key=lambda pair: (int(pair[0].group(1)), pair[0].group(3) or ""))
    for match, entry in entries:
        version = int(match.group(1))
        sql = entry.read_text()
        if version in found:
            sql = found[version].sql + "\n" + sql
        found[version] = Migration(version, match.group(2), sql)
    return [found[v] for v in sorted(found)]


def latest_version(engine_name: str = "sqlite") -> int:
    """The schema version this code writes."""
    migrations = load_migrations(engine_name)
    return migrations[-1].version if migrations else 0


def _applied_versions_txn(txn: Transaction) -> set[int]:
    txn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER NOT NULL, name TEXT NOT NULL, applied_ts BIGINT NOT NULL)"
    )
    return {int(row.version) for row in txn.query("SELECT version FROM schema_version")}


def _apply_txn(txn: Transaction, migration: Migration) -> None:
    # Another process may have applied it meanwhile (workers starting together).
    if migration.version in _applied_versions_txn(txn):
        return
    for statement in split_statements(migration.sql):
        txn.cursor.execute(statement)
    txn.execute(
        "INSERT INTO schema_version (version, name, applied_ts) VALUES (?, ?, ?)",
        (migration.version, migration.name, int(time.time() * 1000)),
    )


async def prepare_database(db: Database, progress: Any = None) -> int:
    """Bring the schema up to date.

    Args:
        db: the database.
        progress: optional callable told about each migration applied.

    Returns:
        The schema version now in force.

    Raises:
        SchemaTooNewError: if the database is from a newer version of the server.
    """
    migrations = load_migrations(db.engine.name)
    latest = migrations[-1].version if migrations else 0
    applied = await db.run_interaction("schema_version", _applied_versions_txn)
    current = max(applied, default=0)
    if current > latest:
        raise SchemaTooNewError(
            f"The database has schema version {current}, but this server only knows "
            f"versions up to {latest}. It was used by a newer Chatly; upgrade the "
            "server (or restore a backup taken before the upgrade)."
        )
    # Every migration not yet applied runs, also one numbered below the newest
    # applied: versions developed side by side can land in either order.
    for migration in migrations:
        if migration.version in applied:
            continue
        logger.info(
            "applying schema migration %04d_%s", migration.version, migration.name
        )
        if progress is not None:
            progress(migration)
        await db.run_interaction(f"migrate_{migration.version}", _apply_txn, migration)
    return latest
