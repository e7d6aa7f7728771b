"""End to end: a real server on local disk, ``synctl media migrate`` as a
process, then the same server on S3 only (a real moto_server), over HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
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


def test_an_interrupted_migration_resumes(s3_bucket: Bucket, tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = data / "media_store"
    files = {
        f"local_content/{i:03d}/aa/file{i}": b"%d" % i * (i + 1) for i in range(300)
    }
    for path, content in files.items():
        (store / path).parent.mkdir(parents=True, exist_ok=True)
        (store / path).write_bytes(content)
    storage = s3_bucket.storage_config()
    del storage["s3"]["access_key_id"], storage["s3"]["secret_access_key"]
    config = {"server": {"server_name": "example.com"}, "media": {"storage": storage}}
    (data / "homeserver.yaml").write_text(json.dumps(config))
    d = str(data)

    proc = subprocess.Popen(
        [sys.executable, str(REPO / "synctl"), "media", "migrate", "--to", "s3"]
        + ["--data-dir", d, "--jobs", "1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **AWS_ENV},
    )
    assert proc.stderr is not None
    # Ctrl-C once the progress bar shows a few files copied.
    seen = b""
    while not re.search(rb"\b([5-9]|\d\d+)/300\b", seen):
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    if proc.returncode == 130:
        assert "synctl: interrupted" in err.decode()
    else:  # it finished before the signal came
        assert proc.returncode == 0, err
    copied = len(s3_bucket.keys())
    assert copied >= 5

    resume = synctl("media", "migrate", "--to", "s3", "--data-dir", d)
    assert resume.returncode == 0, resume.stderr
    assert "300/300" in resume.stderr
    assert f"uploaded {300 - copied} files" in resume.stdout
    assert f"{copied} already in the bucket" in resume.stdout
    listing = s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name, MaxKeys=1000)
    sizes = {obj["Key"]: obj["Size"] for obj in listing["Contents"]}
    assert sizes == {path: len(content) for path, content in files.items()}
