"""The Synapse databases of the import tests, made once and kept between runs.

Making one starts a real Synapse from PyPI and fills it over its API
(synapse_source.py); on PostgreSQL, Synapse migrates an empty database first,
which takes minutes on a busy machine. What it makes depends only on Synapse's
version and the scripts that drive it, so the first run keeps what Synapse
left under ``~/.cache/chatly-tests/synapse-source-<key>/`` (as the tiers keep
their installs, tests/support/venvs.py): its data directory (signing key,
media store, SQLite database), a plain ``pg_dump`` of its PostgreSQL database,
and what the script recorded (users, tokens, rooms, events). Later runs copy
the directory and restore the dump into a fresh database. The key hashes the
Synapse version, the engine (with PostgreSQL's major version) and the scripts,
so changing any of them makes the database again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import attrs

from tests.cli.import_synapse import synapse_source
from tests.cli.import_synapse.synapse_source import (
    SynapseSource,
    build_synapse_source,
    use_postgres,
)
from tests.interop import client as interop_client
from tests.interop import synapse as interop_synapse
from tests.interop.client import Client
from tests.support.venvs import cache_dir

_SCRIPTS = (synapse_source, interop_synapse, interop_client)
_DUMP = "synapse.sql"
_RECORD = "source.json"
_DUMP_TIMEOUT = 300


def synapse_source_once(data: Path, postgres_dsn: str | None = None) -> SynapseSource:
    """``build_synapse_source(data, postgres_dsn)``, from the cache when a
    previous run made the same one (restored into ``postgres_dsn``'s empty
    database on PostgreSQL)."""
    kept = cache_dir() / f"synapse-source-{_key(postgres_dsn)}"
    kept.parent.mkdir(parents=True, exist_ok=True)
    with open(kept.parent / f".{kept.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (kept / _RECORD).exists():
            _keep(build_synapse_source(data, postgres_dsn), kept, postgres_dsn)
            return _load(kept, data)
    shutil.copytree(kept / "data", data, dirs_exist_ok=True)
    if postgres_dsn:
        use_postgres(data, postgres_dsn)
        _psql(postgres_dsn, "-f", str(kept / _DUMP))
    return _load(kept, data)


def _key(postgres_dsn: str | None) -> str:
    digest = hashlib.sha256(interop_synapse.SYNAPSE_VERSION.encode())
    if postgres_dsn:
        digest.update(
            b"postgres "
            + _psql(postgres_dsn, "-c", "SHOW server_version_num")[:2].encode()
        )
    for path in (*(str(m.__file__) for m in _SCRIPTS), __file__):
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def _keep(source: SynapseSource, kept: Path, postgres_dsn: str | None) -> None:
    """Copy what Synapse made to ``kept``, written whole or not at all."""
    partial = kept.with_name(kept.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(
        source.data, partial / "data", ignore=shutil.ignore_patterns("*.log")
    )
    if postgres_dsn:
        dump = subprocess.run(
            [
                "pg_dump",
                "--no-owner",
                "--no-privileges",
                "-f",
                str(partial / _DUMP),
                "-d",
                postgres_dsn,
            ],
            capture_output=True,
            text=True,
            timeout=_DUMP_TIMEOUT,
        )
        if dump.returncode != 0:
            raise RuntimeError(f"pg_dump of Synapse's database failed: {dump.stderr}")
    record = attrs.asdict(source, recurse=False, filter=lambda a, _: a.name != "data")
    record["clients"] = {name: _client(c) for name, c in source.clients.items()}
    (partial / _RECORD).write_text(json.dumps(record))
    shutil.rmtree(kept, ignore_errors=True)
    partial.rename(kept)


def _client(client: Client) -> dict[str, str]:
    return {
        "base_url": client.base_url,
        "user_id": client.user_id,
        "token": client.token,
        "device_id": client.device_id,
    }


def _load(kept: Path, data: Path) -> SynapseSource:
    record: dict[str, Any] = json.loads((kept / _RECORD).read_text())
    record["clients"] = {name: Client(**c) for name, c in record["clients"].items()}
    return SynapseSource(data=data, **record)


def _psql(dsn: str, *args: str) -> str:
    done = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", dsn, *args],
        capture_output=True,
        text=True,
        timeout=_DUMP_TIMEOUT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()
