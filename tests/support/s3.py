"""A real S3 API for tests: a ``moto_server`` process on a loopback port.

``moto_s3`` (session-scoped, one process per xdist worker, killed at the end)
starts it; ``s3_bucket`` gives each test a fresh, empty bucket and a boto3
client to check objects with. moto is in the ``test`` extra: under CI=true a
missing moto fails the test, elsewhere it skips.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from tests.ports import free_port

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
# moto accepts any credentials; these keep boto3 off the real AWS chain.
ACCESS_KEY = "testing-key"
SECRET_KEY = "testing-secret"
REGION = "us-east-1"


def _require_moto() -> None:
    try:
        import boto3  # noqa: F401
        import moto.server  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but moto[server] or boto3 is missing: {exc}")
        pytest.skip(f"moto[server] is not installed: {exc}")


def s3_client(endpoint_url: str) -> Any:
    """A boto3 client of the moto server at ``endpoint_url``."""
    import boto3

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


@attrs.define
class MotoServer:
    """A running ``moto_server``."""

    proc: subprocess.Popen[bytes]
    endpoint_url: str
    log: Any

    def logs(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]


def _start() -> MotoServer:
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = MotoServer(proc, f"http://127.0.0.1:{port}", log)
    client = s3_client(server.endpoint_url)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited:\n{server.logs()}")
        try:
            client.list_buckets()
            return server
        except Exception:  # noqa: BLE001 - not listening yet
            if time.monotonic() > deadline:
                _stop(server)
                raise RuntimeError(
                    f"moto_server did not answer in {START_TIMEOUT:.0f}s:\n"
                    f"{server.logs()}"
                ) from None
            time.sleep(0.1)


def _stop(server: MotoServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()
    server.log.close()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoServer]:
    """One moto_server for this test process, stopped at the end."""
    _require_moto()
    server = _start()
    try:
        yield server
    finally:
        _stop(server)


@attrs.frozen
class Bucket:
    """A fresh bucket on the moto server, with a client to inspect it."""

    name: str
    endpoint_url: str
    client: Any

    def keys(self) -> list[str]:
        """Every key in the bucket, sorted."""
        answer = self.client.list_objects_v2(Bucket=self.name)
        return sorted(obj["Key"] for obj in answer.get("Contents", []))

    def get(self, key: str) -> bytes:
        body = self.client.get_object(Bucket=self.name, Key=key)["Body"]
        data: bytes = body.read()
        return data

    def storage_config(self, **extra: Any) -> dict[str, Any]:
        """A ``media.storage`` config section for this bucket."""
        s3 = {
            "bucket": self.name,
            "endpoint_url": self.endpoint_url,
            "region": REGION,
            "access_key_id": ACCESS_KEY,
            "secret_access_key": SECRET_KEY,
            **extra,
        }
        return {"backend": "s3", "s3": s3}


@pytest.fixture
def s3_bucket(moto_s3: MotoServer) -> Bucket:
    """A new, empty bucket for one test."""
    client = s3_client(moto_s3.endpoint_url)
    name = f"test-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return Bucket(name, moto_s3.endpoint_url, client)
