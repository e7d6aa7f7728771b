"""``synctl import-synapse`` end to end: a real Synapse from PyPI makes a
database, synctl imports it, the real Chatly server starts on it with the
imported signing key, and matrix-nio checks what users see."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nio
import pytest
import yaml

from tests.cli.import_synapse.source_cache import synapse_source_once
from tests.cli.import_synapse.synapse_source import PNG, PUSHER, SynapseSource
from tests.conftest import POSTGRES_DSN, postgres_databases
from tests.interop.client import HttpError, quote, request
from tests.ports import free_port
from tests.support.installs import installed_or_skip
from tests.support.s3 import Bucket

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


def synctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "synctl"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> SynapseSource:
    """A Synapse database with users, rooms, messages, push rules and media."""
    return synapse_source_once(tmp_path_factory.mktemp("synapse"))


@pytest.fixture
def chatly(tmp_path: Path, source: SynapseSource) -> Iterator[tuple[Path, str]]:
    """A Chatly data dir named as the Synapse server; stopped afterwards."""
    data = tmp_path / "chatly"
    port = free_port()
    init = synctl(
        "init",
        "--data-dir",
        str(data),
        "--server-name",
        source.server_name,
        "--http-port",
        str(port),
    )
    assert init.returncode == 0, init.stderr
    try:
        yield data, f"http://127.0.0.1:{port}"
    finally:
        synctl("stop", "--data-dir", str(data), "--timeout", "10")
        pid_file = data / "homeserver.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _import(
    data: Path,
    source: SynapseSource,
    postgres: str | None = None,
    *more: str,
    files: bool = True,
) -> subprocess.CompletedProcess[str]:
    where = (
        ["--from-postgres", postgres] if postgres else ["--from-sqlite", str(source.db)]
    )
    media = ["--media-store", str(source.media_store)] if files else []
    return synctl(
        "import-synapse",
        "--data-dir",
        str(data),
        *where,
        "--signing-key",
        str(source.signing_key),
        *media,
        *more,
    )


async def _check_accounts(url: str, source: SynapseSource) -> None:
    for name, password in source.passwords.items():
        client = nio.AsyncClient(url, f"@{name}:{source.server_name}")
        try:
            login = await client.login(password, device_name="after the move")
            assert isinstance(login, nio.LoginResponse), login
        finally:
            await client.close()
    for name, old in source.clients.items():
        if name in ("mallory", "guest"):
            continue
        client = nio.AsyncClient(url, old.user_id)
        client.restore_login(old.user_id, old.device_id, old.token)
        try:
            whoami = await client.whoami()
            assert isinstance(whoami, nio.WhoamiResponse), (name, whoami)
            assert whoami.device_id == old.device_id
            profile = await client.get_displayname(old.user_id)
            if name.startswith("alice"):
                assert profile.displayname == "Alice"
        finally:
            await client.close()
    wrong = nio.AsyncClient(url, f"@alice:{source.server_name}")
    try:
        assert isinstance(await wrong.login("not the password"), nio.LoginError)
    finally:
        await wrong.close()


async def _check_rooms(url: str, source: SynapseSource) -> None:
    for name in ("alice", "bob"):
        old = source.clients[name]
        client = nio.AsyncClient(url, old.user_id)
        client.restore_login(old.user_id, old.device_id, old.token)
        try:
            sync = await client.sync(timeout=0, full_state=True)
            assert isinstance(sync, nio.SyncResponse), sync
            assert set(sync.rooms.join) == set(source.rooms.values())
            assert client.rooms[source.rooms["lobby"]].display_name == "Lobby"
            lobby = source.rooms["lobby"]
            history = await client.room_messages(lobby, start="", limit=100)
            assert isinstance(history, nio.RoomMessagesResponse), history
            ids = [e.event_id for e in history.chunk]
            # Newest first, in the order Synapse had them.
            sent = [i for i in ids if i in source.messages[lobby]]
            assert sent == list(reversed(source.messages[lobby]))
            assert source.reaction_id in ids
            bodies = [getattr(e, "body", None) for e in history.chunk]
            assert "oops" not in bodies  # redacted on Synapse, still redacted
            secret = await client.room_messages(
                source.rooms["private"], start="", limit=100
            )
            assert [
                e.body for e in secret.chunk if isinstance(e, nio.RoomMessageText)
            ] == ["a secret"]
            # The room goes on from where Synapse left it.
            sent_now = await client.room_send(
                lobby, "m.room.message", {"msgtype": "m.text", "body": f"{name} here"}
            )
            assert isinstance(sent_now, nio.RoomSendResponse), sent_now
            after = await client.room_messages(lobby, start="", limit=1)
            assert after.chunk[0].event_id == sent_now.event_id
        finally:
            await client.close()


def _get(url: str, path: str, token: str) -> Any:
    return request("GET", f"{url}/_matrix/client/v3{path}", token=token)


def _get_raw(url: str, path: str, token: str) -> bytes:
    req = urllib.request.Request(
        url + path, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return bytes(resp.read())


async def _check_the_rest(url: str, source: SynapseSource) -> None:
    alice, bob = source.clients["alice"], source.clients["bob"]
    lobby = source.rooms["lobby"]
    settings = _get(
        url,
        f"/user/{quote(alice.user_id)}/account_data/org.example.settings",
        alice.token,
    )
    assert settings == {"theme": "dark"}
    tags = _get(
        url, f"/user/{quote(alice.user_id)}/rooms/{quote(lobby)}/tags", alice.token
    )
    assert tags == {"tags": {"u.work": {"order": 0.5}}}
    rule = _get(url, "/pushrules/global/content/cakes", alice.token)
    assert rule["pattern"] == "cake" and rule["actions"] == ["notify"]
    suppress = "/pushrules/global/override/.m.rule.suppress_notices/enabled"
    assert _get(url, suppress, alice.token) == {"enabled": False}
    message = "/pushrules/global/underride/.m.rule.message/actions"
    assert _get(url, message, alice.token) == {"actions": []}
    pushers = _get(url, "/pushers", alice.token)["pushers"]
    assert [(p["app_id"], p["pushkey"], p["data"]) for p in pushers] == [
        (PUSHER["app_id"], PUSHER["pushkey"], PUSHER["data"])
    ]
    # Carol shares no room with Alice: she finds her through the public lobby.
    carol = source.clients["carol"]
    found = request(
        "POST",
        f"{url}/_matrix/client/v3/user_directory/search",
        {"search_term": "alice"},
        token=carol.token,
    )
    assert [r["user_id"] for r in found["results"]] == [alice.user_id]
    public = _get(url, "/publicRooms", bob.token)
    assert [r["room_id"] for r in public["chunk"]] == [lobby]

    client = nio.AsyncClient(url, bob.user_id)
    client.restore_login(bob.user_id, bob.device_id, bob.token)
    try:
        alias = await client.room_resolve_alias(source.alias)
        assert isinstance(alias, nio.RoomResolveAliasResponse), alias
        assert alias.room_id == lobby
        sync = await client.sync(timeout=0, full_state=True)
        receipts = [
            e
            for e in sync.rooms.join[lobby].ephemeral
            if isinstance(e, nio.ReceiptEvent)
        ]
        read = {(r.user_id, r.event_id) for e in receipts for r in e.receipts}
        assert (bob.user_id, source.messages[lobby][-1]) in read
        got = await client.download(mxc=source.media_mxc)
        assert isinstance(got, nio.DownloadResponse), got
        assert got.body == PNG
        thumb = _get_raw(
            url,
            f"/_matrix/client/v1/media/thumbnail/{source.media_mxc[6:]}"
            "?width=32&height=32&method=crop",
            bob.token,
        )
        assert thumb.startswith(PNG[:8])
    finally:
        await client.close()


def _check_flags(url: str, source: SynapseSource) -> None:
    """Mallory stays locked (and shadow-banned); the guest stays a guest
    (whose session ends: Synapse's guest tokens are macaroons, not stored)."""
    mallory, guest = source.clients["mallory"], source.clients["guest"]
    with pytest.raises(HttpError) as locked:
        _get(url, "/account/whoami", mallory.token)
    assert (locked.value.status, locked.value.errcode) == (401, "M_USER_LOCKED")
    admin = _get_admin(url, f"/v2/users/{quote(mallory.user_id)}", source)
    assert admin["shadow_banned"] is True and admin["locked"] is True
    assert admin["is_guest"] is False
    as_guest = _get_admin(url, f"/v2/users/{quote(guest.user_id)}", source)
    assert as_guest["is_guest"] is True
    token = _get_admin(url, "/v1/registration_tokens/invite-only", source)
    assert (token["uses_allowed"], token["completed"]) == (3, 0)


def _check_to_device(url: str, source: SynapseSource) -> None:
    phone, bob = source.clients["alice_phone"], source.clients["bob"]
    body = _get(url, "/sync?timeout=0", phone.token)
    notes = [
        (e["type"], e["sender"], e["content"])
        for e in body.get("to_device", {}).get("events", [])
    ]
    assert notes == [("org.example.note", bob.user_id, {"note": "for later"})]


def _get_admin(url: str, path: str, source: SynapseSource) -> Any:
    token = source.clients["alice"].token
    return request("GET", f"{url}/_synapse/admin{path}", token=token)


def _check_keys(url: str, source: SynapseSource) -> None:
    alice, bob = source.clients["alice"], source.clients["bob"]
    keys = source.keys
    post = f"{url}/_matrix/client/v3/keys"
    query = request(
        "POST", f"{post}/query", {"device_keys": {alice.user_id: []}}, token=bob.token
    )
    device = query["device_keys"][alice.user_id][alice.device_id]
    device.pop("unsigned", None)
    assert device == keys["device"]
    master = query["master_keys"][alice.user_id]
    assert master["keys"] == keys["master"]["keys"]
    claimed = request(
        "POST",
        f"{post}/claim",
        {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}},
        token=bob.token,
    )
    got = claimed["one_time_keys"][alice.user_id][alice.device_id]
    assert [v["key"] for v in got.values()] == ["otk1"]
    again = request(
        "POST",
        f"{post}/claim",
        {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}},
        token=bob.token,
    )
    fallback = again["one_time_keys"][alice.user_id][alice.device_id]
    assert [v["key"] for v in fallback.values()] == ["fb1"]
    backup = _get(url, "/room_keys/version", alice.token)
    assert backup["version"] == keys["version"]
    assert backup["auth_data"] == keys["auth_data"]
    session = _get(
        url,
        f"/room_keys/keys/!someroom:example.org/session1?version={keys['version']}",
        alice.token,
    )
    assert session == keys["session"]


def test_import_then_start(chatly: tuple[Path, str], source: SynapseSource) -> None:
    data, url = chatly
    result = _import(data, source)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "users: 5 imported" in result.stdout
    assert (data / "signing.key").read_bytes() == source.signing_key.read_bytes()

    start = synctl("start", "--data-dir", str(data))
    assert start.returncode == 0, start.stdout + start.stderr
    asyncio.run(_check_accounts(url, source))
    # Their bcrypt hashes became argon2id when they logged in.
    db = sqlite3.connect(data / "homeserver.db")
    hashes = dict(db.execute("SELECT user_id, password_hash FROM users").fetchall())
    db.close()
    logged_in = [f"@{name}:{source.server_name}" for name in source.passwords]
    assert all(hashes[u].startswith("$argon2id$") for u in logged_in), hashes
    # Mallory did not log in: hers is still Synapse's bcrypt.
    assert hashes[source.clients["mallory"].user_id].startswith("$2b$")
    assert "self-check passed" in result.stdout
    assert "signatures of this server verified" in result.stdout
    asyncio.run(_check_rooms(url, source))
    asyncio.run(_check_the_rest(url, source))
    _check_keys(url, source)
    _check_flags(url, source)
    _check_to_device(url, source)


def test_media_already_in_s3_is_imported_as_pointers(
    chatly: tuple[Path, str], source: SynapseSource, s3_bucket: Bucket
) -> None:
    """Synapse with synapse-s3-storage-provider: the files sit in a bucket at
    the media store's relative paths. Imported without --media-store (the
    metadata only), Chatly pointed at that bucket serves them."""
    data, url = chatly
    for path in sorted(source.media_store.rglob("*")):
        if path.is_file():
            key = "media/" + path.relative_to(source.media_store).as_posix()
            s3_bucket.client.put_object(
                Bucket=s3_bucket.name, Key=key, Body=path.read_bytes()
            )
    config = yaml.safe_load((data / "homeserver.yaml").read_text())
    storage = s3_bucket.storage_config(prefix="media/")
    storage["s3"]["mode"] = "s3_only"
    config.setdefault("media", {})["storage"] = storage
    (data / "homeserver.yaml").write_text(yaml.safe_dump(config))
    result = _import(data, source, None, files=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-check passed" in result.stdout
    start = synctl("start", "--data-dir", str(data))
    assert start.returncode == 0, start.stdout + start.stderr
    bob = source.clients["bob"]

    async def download() -> None:
        client = nio.AsyncClient(url, bob.user_id)
        client.restore_login(bob.user_id, bob.device_id, bob.token)
        try:
            got = await client.download(mxc=source.media_mxc)
            assert isinstance(got, nio.DownloadResponse), got
            assert got.body == PNG
        finally:
            await client.close()

    asyncio.run(download())
    store = data / "media_store"  # s3_only: nothing was copied to disk
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*"))


def _rows(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_import_resumes_and_refuses_a_running_server(
    chatly: tuple[Path, str], source: SynapseSource
) -> None:
    data, _url = chatly
    # Stopped part way through the events (--limit), as by an interruption.
    part = _import(data, source, None, "--limit", "10")
    assert part.returncode == 0, part.stdout + part.stderr
    assert "events: stopped after 10 events (--limit)" in part.stdout
    assert "room_state" not in part.stdout
    assert "self-check" not in part.stdout
    first = _import(data, source)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "users: already imported" in first.stdout
    assert "events: resuming after 10 events" in first.stdout
    assert "self-check passed" in first.stdout
    synapse_db = sqlite3.connect(f"file:{source.db}?mode=ro", uri=True)
    assert _rows(sqlite3.connect(data / "homeserver.db"), "events") == _rows(
        synapse_db, "events"
    )
    synapse_db.close()
    again = _import(data, source)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "users: already imported" in again.stdout
    assert "self-check passed" in again.stdout
    # An interruption leaves steps unfinished: they are redone, and what
    # they had written already is not written twice.
    db = sqlite3.connect(data / "homeserver.db")
    with db:
        db.execute("UPDATE synapse_import_steps SET done_ts = NULL")
        db.execute("DELETE FROM synapse_import_steps WHERE step = 'events'")
    before = {
        t: _rows(db, t) for t in ("events", "receipts", "local_media", "device_inbox")
    }
    redo = _import(data, source)
    assert redo.returncode == 0, redo.stdout + redo.stderr
    assert "events: importing" in redo.stdout
    assert {t: _rows(db, t) for t in before} == before
    db.close()
    start = synctl("start", "--data-dir", str(data))
    assert start.returncode == 0, start.stdout + start.stderr
    running = _import(data, source)
    assert running.returncode == 1
    assert "stop it first" in running.stderr


def test_wrong_server_name_and_missing_database(
    tmp_path: Path, source: SynapseSource
) -> None:
    data = tmp_path / "other"
    init = synctl("init", "--data-dir", str(data), "--server-name", "other.test")
    assert init.returncode == 0, init.stderr
    wrong = _import(data, source)
    assert wrong.returncode == 1
    assert f"server.server_name '{source.server_name}'" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    missing = synctl(
        "import-synapse",
        "--data-dir",
        str(data),
        "--from-sqlite",
        str(tmp_path / "nope.db"),
    )
    assert missing.returncode == 1
    assert "no Synapse database at" in missing.stderr


def test_import_from_postgres_into_postgres(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Synapse on PostgreSQL, imported with --from-postgres into a Chatly on
    PostgreSQL (HS_TEST_POSTGRES, as in CI)."""
    if not POSTGRES_DSN:
        pytest.skip("HS_TEST_POSTGRES is not set")
    databases = postgres_databases(request.config)
    synapse_db = databases.create("hs_interop", empty=True)
    chatly_db = databases.create("hs_interop", empty=True)
    data = tmp_path / "chatly"
    try:
        synapse_dsn = f"{POSTGRES_DSN} dbname={synapse_db}"
        source = installed_or_skip(
            "Synapse with PostgreSQL",
            lambda: synapse_source_once(tmp_path / "synapse", synapse_dsn),
        )
        port = free_port()
        init = synctl(
            "init",
            "--data-dir",
            str(data),
            "--server-name",
            source.server_name,
            "--http-port",
            str(port),
        )
        assert init.returncode == 0, init.stderr
        for key, value in (
            ("database.dsn", f"{POSTGRES_DSN} dbname={chatly_db}"),
            ("database.engine", "postgres"),
        ):
            done = synctl("config", "set", "--data-dir", str(data), key, value)
            assert done.returncode == 0, done.stderr
        result = _import(data, source, synapse_dsn)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "self-check passed" in result.stdout
        again = _import(data, source, synapse_dsn)
        assert "events: already imported" in again.stdout
        start = synctl("start", "--data-dir", str(data))
        assert start.returncode == 0, start.stdout + start.stderr
        url = f"http://127.0.0.1:{port}"
        asyncio.run(_check_accounts(url, source))
        asyncio.run(_check_rooms(url, source))
        asyncio.run(_check_the_rest(url, source))
        _check_keys(url, source)
    finally:
        synctl("stop", "--data-dir", str(data), "--timeout", "10")
        databases.drop(synapse_db)
        databases.drop(chatly_db)


def test_an_event_that_cannot_be_imported_is_named(
    chatly: tuple[Path, str], source: SynapseSource, tmp_path: Path
) -> None:
    """A room of a version Chatly does not know (an experimental one): the
    import stops at its first event, names it, and imports nothing of it."""
    data, _url = chatly
    copy = tmp_path / "synapse-copy.db"
    shutil.copyfile(source.db, copy)
    db = sqlite3.connect(copy)
    with db:
        db.execute(
            "UPDATE rooms SET room_version = 'org.example.unknown' WHERE room_id = ?",
            (source.rooms["private"],),
        )
    first = db.execute(
        "SELECT event_id FROM events WHERE room_id = ? ORDER BY stream_ordering",
        (source.rooms["private"],),
    ).fetchone()[0]
    db.close()
    result = synctl(
        "import-synapse", "--data-dir", str(data), "--from-sqlite", str(copy)
    )
    assert result.returncode == 1
    assert f"could not import event {first}" in result.stderr
    assert "unknown room version 'org.example.unknown'" in result.stderr
    assert "Traceback" not in result.stderr
    ours = sqlite3.connect(data / "homeserver.db")
    assert (
        ours.execute(
            "SELECT COUNT(*) FROM events WHERE room_id = ?", (source.rooms["private"],)
        ).fetchone()[0]
        == 0
    )
    ours.close()
