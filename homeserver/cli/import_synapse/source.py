"""Reading a Synapse database (SQLite file or PostgreSQL DSN), read-only.

Queries are written with ``?`` placeholders and converted for psycopg2. Rows
come back as dicts, streamed in batches so a large table never sits in
memory at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from homeserver.cli.errors import CliError

BATCH = 500


class SynapseDatabase:
    """A connection to the Synapse database being imported.

    Args:
        connection: a DB-API connection (sqlite3 or psycopg2).
        postgres: whether it is PostgreSQL (``%s`` placeholders).
        where: how to name it in messages.
    """

    def __init__(self, connection: Any, *, postgres: bool, where: str) -> None:
        self.connection = connection
        self.postgres = postgres
        self.where = where

    @classmethod
    def open_sqlite(cls, path: Path) -> SynapseDatabase:
        """Open a Synapse SQLite file read-only.

        Raises:
            CliError: there is no such file, or it is not a Synapse database.
        """
        if not path.is_file():
            raise CliError(f"no Synapse database at {path}")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        return cls(conn, postgres=False, where=str(path)).checked()

    @classmethod
    def open_postgres(cls, dsn: str) -> SynapseDatabase:
        """Connect to a Synapse PostgreSQL database.

        Raises:
            CliError: the connection failed, or it is not a Synapse database.
        """
        import psycopg2

        try:
            conn = psycopg2.connect(dsn)
        except psycopg2.Error as exc:
            raise CliError(f"cannot connect to {dsn!r}: {exc}".strip()) from None
        conn.set_session(readonly=True, autocommit=True)
        return cls(conn, postgres=True, where="the PostgreSQL database").checked()

    def checked(self) -> SynapseDatabase:
        """Self, once it looks like a Synapse database with a schema we know."""
        try:
            row = self.one("SELECT version FROM schema_version")
        except Exception:
            raise CliError(
                f"{self.where} is not a Synapse database (no schema_version table)"
            ) from None
        if row is None or int(row["version"]) < 80:
            raise CliError(
                f"{self.where} has Synapse schema version "
                f"{row and row['version']}; upgrade Synapse (1.100 or later) "
                "and start it once before importing"
            )
        return self

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def rows(self, sql: str, args: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """The rows of a query, as dicts, fetched in batches."""
        cursor = self.connection.cursor()
        try:
            cursor.execute(self._sql(sql), tuple(args))
            names = [d[0] for d in cursor.description]
            while batch := cursor.fetchmany(BATCH):
                for row in batch:
                    yield dict(zip(names, row, strict=True))
        finally:
            cursor.close()

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Every row of a query."""
        return list(self.rows(sql, args))

    def one(self, sql: str, args: Sequence[Any] = ()) -> dict[str, Any] | None:
        """The first row of a query, or None."""
        return next(self.rows(sql, args), None)

    def count(self, table: str, where: str = "") -> int:
        """How many rows ``table`` has (``where``: an SQL condition)."""
        clause = f" WHERE {where}" if where else ""
        row = self.one(f"SELECT COUNT(*) AS n FROM {table}{clause}")
        return int(row["n"]) if row else 0

    def server_name(self) -> str | None:
        """The server name, read from the first local user's ID."""
        row = self.one("SELECT name FROM users ORDER BY creation_ts LIMIT 1")
        if row is None:
            return None
        return str(row["name"]).split(":", 1)[1]

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()
