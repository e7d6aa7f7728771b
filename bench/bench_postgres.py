"""Throw-away PostgreSQL databases for a benchmark run, and how each server
is pointed at one.

Each database is created with UTF8 and the C collation (Synapse refuses
anything else) and dropped again at the end of the run.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2
import servers
from psycopg2.extensions import parse_dsn


@contextmanager
def database(dsn: str, name: str) -> Iterator[str]:
    """A fresh database ``name`` on the server of ``dsn``; yields its DSN."""
    admin = psycopg2.connect(dsn)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cur.execute(
                f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' LC_COLLATE 'C' "
                "LC_CTYPE 'C' TEMPLATE template0"
            )
        yield f"{dsn} dbname={name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}"


def chatly_settings(dsn: str) -> tuple[tuple[str, str], ...]:
    """``synctl config set`` pairs that put Chatly on ``dsn``."""
    # The DSN first: engine postgres without one does not validate.
    return (("database.dsn", dsn), ("database.engine", "postgres"))


def synapse_database(dsn: str) -> dict[str, Any]:
    """Synapse's ``database`` section for ``dsn`` (psycopg2 keyword args)."""
    args: dict[str, Any] = dict(parse_dsn(dsn))
    args.update({"cp_min": 2, "cp_max": 8})
    return {"name": "psycopg2", "args": args}


def ensure_psycopg2(python: Path) -> None:
    """Install psycopg2-binary into Synapse's virtualenv if it lacks psycopg2
    (Synapse's ``postgres`` extra)."""
    probe = [str(python), "-c", "import psycopg2"]
    if subprocess.run(probe, capture_output=True, timeout=120).returncode == 0:
        return
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "psycopg2-binary"],
        check=True,
        timeout=600,
    )


class BackendCpu:
    """CPU time of the PostgreSQL backends serving one database.

    The backends are found in ``pg_stat_activity`` (``datname``) through an
    admin connection of our own (to the server's ``postgres`` database, so its
    own backend is never counted), and their CPU read from /proc: this needs
    PostgreSQL on this machine and a user that may read its processes (root).
    A backend that exits between two readings takes its CPU with it, so the
    figure is a lower bound; the servers keep pooled connections, so in
    practice nothing is lost.
    """

    def __init__(self, admin_dsn: str, dbname: str) -> None:
        self.dbname = dbname
        self.conn = psycopg2.connect(admin_dsn)
        self.conn.autocommit = True

    def snapshot(self) -> dict[int, float]:
        """Each backend's CPU seconds so far, by pid."""
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s",
                (self.dbname,),
            )
            pids = [row[0] for row in cur.fetchall()]
        found: dict[int, float] = {}
        for pid in pids:
            try:
                found[pid] = servers.cpu_seconds(pid)
            except OSError:  # gone, or not on this machine
                pass
        return found

    @staticmethod
    def delta(before: dict[int, float], after: dict[int, float]) -> float:
        """CPU seconds spent between two snapshots (new backends count whole)."""
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())

    def close(self) -> None:
        self.conn.close()
