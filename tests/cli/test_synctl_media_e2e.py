"""End to end: a real server on local disk, ``synctl media migrate`` as a
process, then the same server on S3 only (a real moto_server), over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_synctl_e2e import REPO, data_dir  # noqa: F401 - fixture
from tests.ports import free_port
from tests.support.s3 import ACCESS_KEY, SECRET_KEY, Bucket

pytestmark = pytest.mark.integration

FILES = [b"first file", b"second file" * 1000, b"\x89PNG third"]
# The credentials come from the standard AWS environment variables, not the
# config: synctl and the server it starts both find them there.
AWS_ENV = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}


def synctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "synctl"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **AWS_ENV},
    )


def http(
    method: str, url: str, body: bytes | None = None, **headers: str
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, body, headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def login(base: str, user: str, password: str) -> str:
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": password,
    }
    _, raw = http(
        "POST",
        f"{base}/_matrix/client/v3/login",
        json.dumps(body).encode(),
        **{"Content-Type": "application/json"},
    )
    token: str = json.loads(raw)["access_token"]
    return token


def download(base: str, token: str, uri: str) -> bytes:
    server_media = uri.removeprefix("mxc://")
    status, data = http(
        "GET",
        f"{base}/_matrix/client/v1/media/download/{server_media}",
        Authorization=f"Bearer {token}",
    )
    assert status == 200
    return data


def configure(d: str, settings: dict[str, Any]) -> None:
    for key, value in settings.items():
        result = synctl("config", "set", "--data-dir", d, key, str(value))
        assert result.returncode == 0, result.stderr


def test_migrate_a_running_store_then_serve_it_from_s3(
    data_dir: Path,  # noqa: F811 - the fixture
    s3_bucket: Bucket,
) -> None:
    d = str(data_dir)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    init = synctl(
        "init", "--data-dir", d, "--server-name", "s3.test", "--http-port", str(port)
    )
    assert init.returncode == 0, init.stderr
    configure(d, {"registration.registration_shared_secret": "s3-e2e-secret"})
    assert synctl("start", "--data-dir", d).returncode == 0
    assert synctl("register-user", "--data-dir", d, "alice", "pw-12345").returncode == 0
    token = login(base, "alice", "pw-12345")
    uris = []
    for data in FILES:
        _, raw = http(
            "POST",
            f"{base}/_matrix/media/v3/upload",
            data,
            Authorization=f"Bearer {token}",
            **{"Content-Type": "application/octet-stream"},
        )
        uris.append(json.loads(raw)["content_uri"])
    assert synctl("stop", "--data-dir", d).returncode == 0

    s3 = s3_bucket.storage_config(prefix="media/")["s3"]
    del s3["access_key_id"], s3["secret_access_key"]
    configure(d, {f"media.storage.s3.{key}": value for key, value in s3.items()})
    first = synctl("media", "migrate", "--to", "s3", "--data-dir", d, "--limit", "1")
    assert first.returncode == 0, first.stderr
    assert "1/3" in first.stderr
    assert "2 files left" in first.stdout
    assert len(s3_bucket.keys()) == 1

    configure(d, {"media.storage.backend": "s3", "media.storage.s3.mode": "s3_only"})
    rest = synctl("media", "migrate", "--to", "s3", "--data-dir", d, "--delete-local")
    assert rest.returncode == 0, rest.stderr
    assert "3/3" in rest.stderr
    assert (
        "uploaded 2 files" in rest.stdout and "1 already in the bucket" in rest.stdout
    )
    assert "deleted 3 local files" in rest.stdout
    store = data_dir / "media_store"
    assert not [p for p in store.rglob("*") if p.is_file()]
    assert len(s3_bucket.keys()) == 3

    start = synctl("start", "--data-dir", d)
    assert start.returncode == 0, start.stdout + start.stderr
    for uri, data in zip(uris, FILES, strict=True):
        assert download(base, token, uri) == data
    _, raw = http(
        "POST",
        f"{base}/_matrix/media/v3/upload",
        b"born in s3",
        Authorization=f"Bearer {token}",
    )
    uri = json.loads(raw)["content_uri"]
    assert download(base, token, uri) == b"born in s3"
    assert s3_bucket.get("media/local_content/" + _shard(uri)) == b"born in s3"
    assert not [p for p in store.rglob("*") if p.is_file()]


def _shard(uri: str) -> str:
    mid = uri.rsplit("/", 1)[1]
    return f"{mid[0:2]}/{mid[2:4]}/{mid[4:]}"
