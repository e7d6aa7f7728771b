"""An acknowledged message survives ``kill -9`` (issue 17, part 3).

A real server process started with ``synctl`` — on a PostgreSQL cluster of the
test's own (default settings: ``fsync`` and ``synchronous_commit`` on; the
server's DSN is what an admin writes, no options), or on SQLite. Four users
send concurrently; at a random moment during sending the server is killed with
SIGKILL, and on PostgreSQL the postmaster and all its backends right after it,
so whatever only shared memory held is lost. Both are started again (PostgreSQL
runs crash recovery); every send that got 200 with an ``event_id`` must be in
/messages and /sync under that ID, once. Sends in flight at the crash are
retried with their transaction ID and must then be stored exactly once.
On PostgreSQL a second round then kills PostgreSQL alone under the running
server, which must reconnect when it is back, with the same checks.

The moment of the crash is random; the seed is printed, and ``HS_DURABILITY_SEED``
repeats a run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from homeserver.storage.engines import PostgresEngine
from tests.durability.senders import (
    API,
    SAFETY_NET_S,
    Sender,
    check_all_there_once,
    retry_and_check,
    send_until_crash,
)
from tests.e2e.conftest import RunningServer, synctl, synctl_server
from tests.e2e.synadm import http
from tests.support.pg_cluster import ThrowawayCluster

pytestmark = pytest.mark.integration

SENDERS = 4
MESSAGES_EACH = 12


@pytest.fixture
def rng() -> random.Random:
    seed = int(os.environ.get("HS_DURABILITY_SEED") or random.randrange(2**32))
    print(f"HS_DURABILITY_SEED={seed}")
    return random.Random(seed)


@pytest.fixture
def cluster() -> Iterator[ThrowawayCluster]:
    pg = ThrowawayCluster()
    try:
        pg.start()
        yield pg
    finally:
        pg.destroy()


def _register(server: RunningServer, localpart: str) -> str:
    code, raw = http(
        server,
        "POST",
        f"{API}/register",
        {
            "username": localpart,
            "password": f"{localpart} long password 9",
            "auth": {"type": "m.login.dummy"},
        },
    )
    assert code == 200, raw
    return str(json.loads(raw)["access_token"])


def _room_with_senders(server: RunningServer) -> tuple[str, list[Sender]]:
    tokens = [_register(server, f"sender{i}") for i in range(SENDERS)]
    code, raw = http(
        server, "POST", f"{API}/createRoom", {"preset": "public_chat"}, tokens[0]
    )
    assert code == 200, raw
    room_id = json.loads(raw)["room_id"]
    for token in tokens[1:]:
        code, raw = http(server, "POST", f"{API}/join/{room_id}", {}, token)
        assert code == 200, raw
    return room_id, _senders(server, room_id, tokens, "s")


def _senders(
    server: RunningServer, room_id: str, tokens: list[str], prefix: str
) -> list[Sender]:
    return [
        Sender(server, token, room_id, f"{prefix}{i}", MESSAGES_EACH)
        for i, token in enumerate(tokens)
    ]


def _kill9_server(server: RunningServer) -> None:
    """SIGKILL the process in synctl's pid file and wait until it is gone."""
    pid = int((server.data_dir / "homeserver.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + SAFETY_NET_S
    while Path(f"/proc/{pid}").exists():
        stat = Path(f"/proc/{pid}/stat").read_text(errors="replace")
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            break  # dead; its parent has not reaped it yet
        assert time.monotonic() < deadline, "the server survived kill -9"
        time.sleep(0.02)


@contextmanager
def _server(data_dir: Path, settings: dict[str, str]) -> Iterator[RunningServer]:
    settings = {"rate_limiting.enabled": "false", **settings}
    with synctl_server(data_dir, settings) as server:
        yield server


def test_postgres_acknowledged_messages_survive_kill9_of_server_and_postgres(
    tmp_path: Path, cluster: ThrowawayCluster, rng: random.Random
) -> None:
    cluster.execute("postgres", "CREATE DATABASE chatly")
    dsn = cluster.dsn("chatly")
    settings = {"database.dsn": dsn, "database.engine": "postgres"}
    with _server(tmp_path / "data", settings) as server:
        room_id, senders = _room_with_senders(server)

        def crash() -> None:
            _kill9_server(server)
            cluster.kill9()

        acknowledged = send_until_crash(senders, rng, crash)
        assert acknowledged > 0
        cluster.start()
        synctl("start", "--data-dir", str(server.data_dir))

        # What the server's own connections run with: PostgreSQL's defaults,
        # nothing relaxed by the DSN, the database, a role or a migration.
        conn = PostgresEngine(dsn).connect()
        try:
            with conn.cursor() as cur:
                for setting in ("synchronous_commit", "fsync", "full_page_writes"):
                    cur.execute(f"SHOW {setting}")
                    assert cur.fetchone() == ("on",), setting
        finally:
            conn.close()
        assert cluster.execute("chatly", "SELECT * FROM pg_db_role_setting") == []
        unlogged = "SELECT relname FROM pg_class WHERE relpersistence = 'u'"
        assert cluster.execute("chatly", unlogged) == []

        retry_and_check(senders)
        check_all_there_once(server, senders[0].token, room_id, senders)

        # PostgreSQL alone crashes under the running server, which reconnects
        # once it is back: what it acknowledged before is there too.
        tokens = [sender.token for sender in senders]
        more = _senders(server, room_id, tokens, "pg-only-s")
        assert send_until_crash(more, rng, cluster.kill9) > 0
        cluster.start()
        retry_and_check(more)
        check_all_there_once(server, tokens[0], room_id, senders + more)


def test_sqlite_acknowledged_messages_survive_kill9_of_server(
    tmp_path: Path, rng: random.Random
) -> None:
    with _server(tmp_path / "data", {}) as server:
        room_id, senders = _room_with_senders(server)
        acknowledged = send_until_crash(senders, rng, lambda: _kill9_server(server))
        assert acknowledged > 0
        synctl("start", "--data-dir", str(server.data_dir))
        retry_and_check(senders)
        check_all_there_once(server, senders[0].token, room_id, senders)
