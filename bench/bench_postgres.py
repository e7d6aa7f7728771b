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
