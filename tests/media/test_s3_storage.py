"""The S3 back ends against a real S3 API (moto_server), checked with boto3."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer

from homeserver.config.sections.media_storage import S3StorageConfig
from homeserver.services.media.s3_storage import (
    CachedS3MediaStorage,
    S3MediaStorage,
    make_s3_client,
)
from homeserver.services.media.storage import LocalMediaStorage, media_path
from homeserver.storage.database import inline_runner
from tests.media.test_storage import run
from tests.support.s3 import Bucket


def s3_config(b: Bucket, **extra: Any) -> S3StorageConfig:
    settings = b.storage_config(**extra)["s3"]
    return S3StorageConfig(**settings)


def s3_storage(b: Bucket, runner: Any = inline_runner, **extra: Any) -> Any:
    config = s3_config(b, **extra)
    return S3MediaStorage(make_s3_client(config), config, runner)


def all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_store_fetch_exists_delete(s3_bucket: Bucket) -> None:
    storage = s3_storage(s3_bucket, prefix="media/", storage_class="STANDARD_IA")
    path = media_path("abcdefgh")
    assert run(storage.exists(path)) is False
    assert run(storage.fetch(path)) is None

    run(storage.store(path, b"\x00bytes\xff"))
    key = "media/local_content/ab/cd/efgh"
    assert s3_bucket.keys() == [key]
    assert s3_bucket.get(key) == b"\x00bytes\xff"
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=key)
    assert head["StorageClass"] == "STANDARD_IA"
    assert run(storage.exists(path)) is True
    assert run(storage.fetch(path)) == b"\x00bytes\xff"

    run(storage.delete(path))
    assert s3_bucket.keys() == []
    assert run(storage.exists(path)) is False
    run(storage.delete(path))  # deleting a missing object is fine


def test_without_a_prefix_keys_are_the_paths(s3_bucket: Bucket) -> None:
    storage = s3_storage(s3_bucket)
    run(storage.store("thumbnails/ab/cd/efgh/32-32-image-png-crop", b"t"))
    assert s3_bucket.keys() == ["thumbnails/ab/cd/efgh/32-32-image-png-crop"]


@pytest.mark.parametrize("bad", ["/abs", "../up", "a/../b", "a//b", ""])
def test_paths_that_are_not_plain_relative_ones_are_refused(
    s3_bucket: Bucket, bad: str
) -> None:
    storage = s3_storage(s3_bucket)
    with pytest.raises(ValueError):
        run(storage.store(bad, b"x"))
    assert s3_bucket.keys() == []


def test_a_missing_bucket_fails_loudly(s3_bucket: Bucket) -> None:
    storage = s3_storage(s3_bucket, bucket="no-such-bucket")
    with pytest.raises(Exception, match="NoSuchBucket"):
        run(storage.store(media_path("abcdefgh"), b"x"))
    with pytest.raises(Exception, match="NoSuchBucket"):
        run(storage.fetch(media_path("abcdefgh")))


class ThreadRunner:
    """Runs each call on a fresh thread (as the io pool does), waiting for it."""

    def __call__(self, fn: Callable[[], Any]) -> defer.Deferred[Any]:
        out: list[Any] = []

        def target() -> None:
            try:
                out.append((True, fn()))
            except BaseException as exc:  # noqa: BLE001 - handed back below
                out.append((False, exc))

        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
        ok, value = out[0]
        return defer.succeed(value) if ok else defer.fail(value)


class ThreadCheckingClient:
    """A real boto3 client that records the thread of every call made on it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[tuple[str, bool]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            on_main = threading.current_thread() is threading.main_thread()
            self.calls.append((name, on_main))
            return method(*args, **kwargs)

        return call


def test_every_boto3_call_runs_on_the_runner_s_thread(s3_bucket: Bucket) -> None:
    config = s3_config(s3_bucket)
    client = ThreadCheckingClient(make_s3_client(config))
    storage = S3MediaStorage(client, config, ThreadRunner())
    path = media_path("abcdefgh")
    run(storage.store(path, b"x"))
    assert run(storage.fetch(path)) == b"x"
    assert run(storage.exists(path)) is True
    run(storage.delete(path))
    assert run(storage.fetch(path)) is None
    assert [name for name, _ in client.calls] == [
        "put_object",
        "get_object",
        "head_object",
        "delete_object",
        "get_object",
    ]
    assert not any(on_main for _, on_main in client.calls)


def cached(b: Bucket, root: Path, **extra: Any) -> CachedS3MediaStorage:
    return CachedS3MediaStorage(
        LocalMediaStorage(root, inline_runner), s3_storage(b, **extra)
    )


def test_cache_mode_writes_both_and_refills_the_local_copy(
    s3_bucket: Bucket, tmp_path: Path
) -> None:
    storage = cached(s3_bucket, tmp_path, prefix="p/")
    path = media_path("abcdefgh")
    run(storage.store(path, b"data"))
    local = tmp_path / path
    assert local.read_bytes() == b"data"
    assert s3_bucket.get("p/" + path) == b"data"

    local.unlink()
    assert run(storage.exists(path)) is True
    assert run(storage.fetch(path)) == b"data"
    assert local.read_bytes() == b"data"  # fetched back from S3

    run(storage.delete(path))
    assert s3_bucket.keys() == []
    assert all_files(tmp_path) == []
    assert run(storage.fetch(path)) is None


def test_cache_mode_a_failed_s3_write_leaves_no_local_file(
    s3_bucket: Bucket, tmp_path: Path
) -> None:
    storage = cached(s3_bucket, tmp_path, bucket="no-such-bucket")
    with pytest.raises(Exception, match="NoSuchBucket"):
        run(storage.store(media_path("abcdefgh"), b"data"))
    assert all_files(tmp_path) == []
