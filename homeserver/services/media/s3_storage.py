"""Media files in an S3 bucket (AWS or a compatible store: MinIO, R2, Ceph).

Two back ends over ``MediaStorage`` (storage.py), chosen by
``media.storage.s3.mode``:

- ``S3MediaStorage`` (``s3_only``): objects at ``<prefix><relative path>``;
  nothing touches local disk, bodies go to and come from memory.
- ``CachedS3MediaStorage`` (``cache``): a ``LocalMediaStorage`` in front of an
  ``S3MediaStorage``: writes go to both, reads try local disk first and fall
  back to S3, writing what they fetched back to disk.

boto3 is blocking: every call runs through a ``Runner`` (a bounded thread pool
of its own in production), never on the reactor thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client import Counter, Histogram

from homeserver.config.sections.media_storage import S3StorageConfig
from homeserver.services.media.storage import LocalMediaStorage, MediaStorage
from homeserver.storage.database import Runner

logger = logging.getLogger(__name__)

# Error codes S3 (and moto, MinIO) answer for a key that is not there.
_MISSING = {"404", "NoSuchKey", "NotFound"}

S3_REQUESTS = Counter(
    "homeserver_media_s3_requests_total",
    "S3 requests of the media store, by operation and outcome (ok, missing, error)",
    ["operation", "outcome"],
)
S3_LATENCY = Histogram(
    "homeserver_media_s3_request_seconds",
    "Time of S3 requests of the media store (boto3's retries included)",
    ["operation"],
)

T = TypeVar("T")


def _measured(operation: str, call: Callable[[], T]) -> T:
    """Run one boto3 call, counting and timing it (on the calling thread)."""
    start = time.monotonic()
    outcome = "error"
    try:
        result = call()
        outcome = "ok"
        return result
    except Exception as exc:
        if is_missing(exc):
            outcome = "missing"
        raise
    finally:
        S3_LATENCY.labels(operation).observe(time.monotonic() - start)
        S3_REQUESTS.labels(operation, outcome).inc()


def make_s3_client(config: S3StorageConfig) -> Any:
    """A boto3 S3 client for ``config``.

    Without ``access_key_id``, boto3 finds credentials the standard way
    (environment, ~/.aws, instance or container role). The client is
    thread-safe, so one serves the whole pool.
    """
    import boto3  # imported here: servers on local storage never load it
    from botocore.config import Config

    session = boto3.session.Session()
    return session.client(
        "s3",
        region_name=config.region,
        endpoint_url=config.endpoint_url,
        aws_access_key_id=config.access_key_id,
        aws_secret_access_key=config.secret_access_key,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}),
    )


def is_missing(exc: Exception) -> bool:
    """Whether a botocore ``ClientError`` says the object does not exist."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    return str(response.get("Error", {}).get("Code")) in _MISSING


def object_key(prefix: str, path: str) -> str:
    """The key of the file at relative ``path``.

    Raises:
        ValueError: ``path`` is absolute or climbs out with ``..``.
    """
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"path {path!r} is not a plain relative path")
    return prefix + path


class S3MediaStorage(MediaStorage):
    """Files as objects of one bucket, keyed ``<prefix><path>``.

    Args:
        client: a boto3 S3 client (``make_s3_client``).
        config: the bucket, prefix and storage class.
        runner: runs each blocking boto3 call off the reactor thread.
    """

    def __init__(self, client: Any, config: S3StorageConfig, runner: Runner) -> None:
        self.client = client
        self.bucket = config.bucket
        self.prefix = config.prefix
        self.storage_class = config.storage_class
        self.runner = runner

    async def store(self, path: str, data: bytes) -> None:
        key = object_key(self.prefix, path)

        def put() -> None:
            # One PUT from memory: S3 makes the object visible whole or not at
            # all, so no temporary object (or file) is needed.
            _measured(
                "put",
                lambda: self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=data,
                    StorageClass=self.storage_class,
                ),
            )

        await self.runner(put)

    async def fetch(self, path: str) -> bytes | None:
        key = object_key(self.prefix, path)

        def get() -> bytes | None:
            def read() -> bytes:
                body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
                try:
                    data: bytes = body.read()
                finally:
                    body.close()
                return data

            try:
                return _measured("get", read)
            except Exception as exc:
                if is_missing(exc):
                    return None
                raise

        result: bytes | None = await self.runner(get)
        return result

    async def delete(self, path: str) -> None:
        key = object_key(self.prefix, path)

        def remove() -> None:
            # DeleteObject succeeds for a missing key too.
            _measured(
                "delete", lambda: self.client.delete_object(Bucket=self.bucket, Key=key)
            )

        await self.runner(remove)

    async def exists(self, path: str) -> bool:
        key = object_key(self.prefix, path)

        def head() -> bool:
            try:
                _measured(
                    "head", lambda: self.client.head_object(Bucket=self.bucket, Key=key)
                )
            except Exception as exc:
                if is_missing(exc):
                    return False
                raise
            return True

        result: bool = await self.runner(head)
        return result


class CachedS3MediaStorage(MediaStorage):
    """S3 behind a local-disk cache (``mode: cache``).

    S3 is the store of record: a file counts as stored once it is in S3, and
    local copies may be deleted at any time (they come back on the next read).

    Args:
        local: the local cache (``media_store_path``).
        s3: the bucket.
    """

    def __init__(self, local: LocalMediaStorage, s3: S3MediaStorage) -> None:
        self.local = local
        self.s3 = s3

    async def store(self, path: str, data: bytes) -> None:
        await self.local.store(path, data)
        try:
            await self.s3.store(path, data)
        except BaseException:
            # All or nothing: a file that is not in S3 is not stored.
            await self.local.delete(path)
            raise

    async def fetch(self, path: str) -> bytes | None:
        data = await self.local.fetch(path)
        if data is not None:
            return data
        data = await self.s3.fetch(path)
        if data is not None:
            try:
                await self.local.store(path, data)
            except Exception:
                # A full or read-only disk must not fail the download.
                logger.warning("could not cache %s locally", path, exc_info=True)
        return data

    async def delete(self, path: str) -> None:
        await self.s3.delete(path)
        await self.local.delete(path)

    async def exists(self, path: str) -> bool:
        return await self.local.exists(path) or await self.s3.exists(path)
