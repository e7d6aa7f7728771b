"""Copy the local media store to S3: the work of ``synctl media migrate``.

Every file under ``media.media_store_path`` (local media, thumbnails, the
remote media cache, URL preview files: whatever the server keeps there) is
uploaded to ``<prefix><its relative path>``, the key the S3 back end reads it
from. An object already there with the same size is skipped, so an
interrupted run resumes where it stopped. Each upload is checked with a HEAD
before its local file may be deleted (``--delete-local``).

Runs without the server (from the config file), synchronously: there is no
reactor in synctl, so boto3 blocking here is fine.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import attrs

from homeserver.cli.errors import CliError
from homeserver.config.sections.media_storage import S3StorageConfig
from homeserver.services.media.s3_storage import is_missing, object_key


@attrs.frozen
class LocalFile:
    """A file of the media store: its path relative to the store, and size."""

    path: str
    size: int


def local_files(root: Path) -> list[LocalFile]:
    """Every media file under ``root``, in a stable order.

    Hidden files are left out: they are the temporary files of writes in
    progress (``.upload-*``), renamed into place when complete.
    """
    found: list[LocalFile] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            full = Path(dirpath) / name
            if name.startswith(".") or full.is_symlink():
                continue
            try:
                size = full.stat().st_size
            except FileNotFoundError:  # deleted by the server meanwhile
                continue
            if full.is_file():
                found.append(LocalFile(full.relative_to(root).as_posix(), size))
    return found


class Outcome(enum.Enum):
    """What happened to one file."""

    UPLOADED = "uploaded"
    PRESENT = "already in the bucket"
    GONE = "deleted from disk meanwhile"


@attrs.define
class Tally:
    """Counts of one run."""

    uploaded: int = 0
    present: int = 0
    gone: int = 0
    deleted: int = 0
    bytes_uploaded: int = 0


class S3Target:
    """The bucket files go to.

    Args:
        client: a boto3 S3 client.
        config: bucket, prefix and storage class.
    """

    def __init__(self, client: Any, config: S3StorageConfig) -> None:
        self.client = client
        self.config = config

    def check_bucket(self) -> None:
        """Fail early, with advice, when the bucket cannot be reached."""
        try:
            self.client.head_bucket(Bucket=self.config.bucket)
        except Exception as exc:
            raise CliError(
                f"cannot reach bucket {self.config.bucket!r}: {exc}; check "
                "media.storage.s3 (bucket, endpoint_url, region, credentials)"
            ) from None

    def size_of(self, path: str) -> int | None:
        """The size of the object for ``path``, or None if there is none."""
        key = object_key(self.config.prefix, path)
        try:
            head = self.client.head_object(Bucket=self.config.bucket, Key=key)
        except Exception as exc:
            if is_missing(exc):
                return None
            raise
        return int(head["ContentLength"])

    def copy(self, root: Path, file: LocalFile) -> Outcome:
        """Upload ``file`` unless an object of its size is there; verify it.

        Raises:
            CliError: the bucket does not hold the file afterwards.
        """
        if self.size_of(file.path) == file.size:
            return Outcome.PRESENT
        key = object_key(self.config.prefix, file.path)
        try:
            with (root / file.path).open("rb") as f:
                # Streams from disk (in parts, for big files).
                self.client.upload_fileobj(
                    f,
                    self.config.bucket,
                    key,
                    ExtraArgs={"StorageClass": self.config.storage_class},
                )
        except FileNotFoundError:  # the server deleted it since the walk
            return Outcome.GONE
        size = self.size_of(file.path)
        if size != file.size:
            raise CliError(
                f"{key}: uploaded {file.size} bytes but the bucket has "
                f"{'nothing' if size is None else f'{size} bytes'}"
            )
        return Outcome.UPLOADED


def remove_local(root: Path, file: LocalFile) -> None:
    """Delete a migrated file, and the directories it leaves empty."""
    full = root / file.path
    full.unlink(missing_ok=True)
    parent = full.parent
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()
        except OSError:  # not empty (or gone): stop climbing
            break
        parent = parent.parent


def migrate(
    root: Path,
    files: list[LocalFile],
    target: S3Target,
    *,
    delete_local: bool = False,
    limit: int | None = None,
    jobs: int = 1,
    on_file: Callable[[LocalFile, Outcome], None] = lambda f, o: None,
) -> Tally:
    """Copy ``files`` to ``target``; stop after ``limit`` uploads.

    Args:
        root: the media store.
        files: what to copy (``local_files(root)``).
        target: the bucket.
        delete_local: delete each file once the bucket holds it.
        limit: upload at most this many files (already present ones are free).
        jobs: how many files are copied at once (threads; boto3's client is
            thread-safe).
        on_file: called after each file (progress), on the calling thread.

    Returns:
        What was done.

    Raises:
        CliError: a file could not be copied (the run stops there; files
            copied so far stay copied, so running again resumes).
    """
    tally = Tally()
    for file, outcome in _copies(root, files, target, limit, jobs):
        if outcome is Outcome.UPLOADED:
            tally.uploaded += 1
            tally.bytes_uploaded += file.size
        elif outcome is Outcome.PRESENT:
            tally.present += 1
        else:
            tally.gone += 1
        if delete_local and outcome is not Outcome.GONE:
            remove_local(root, file)
            tally.deleted += 1
        on_file(file, outcome)
    return tally


def _copies(
    root: Path,
    files: list[LocalFile],
    target: S3Target,
    limit: int | None,
    jobs: int,
) -> Iterator[tuple[LocalFile, Outcome]]:
    """Copy files on ``jobs`` threads, yielding each as it is done.

    With a ``limit``, no more copies run at once than uploads are left, so
    exactly ``limit`` files are uploaded (if that many need it).
    """
    waiting = iter(files)
    uploaded = 0
    running: dict[Future[Outcome], LocalFile] = {}
    with ThreadPoolExecutor(jobs, thread_name_prefix="migrate") as pool:
        try:
            while True:
                while len(running) < jobs and (
                    limit is None or uploaded + len(running) < limit
                ):
                    file = next(waiting, None)
                    if file is None:
                        break
                    running[pool.submit(target.copy, root, file)] = file
                if not running:
                    return
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: running[f].path):
                    file = running.pop(future)
                    outcome = _result(future, file)
                    uploaded += outcome is Outcome.UPLOADED
                    yield file, outcome
        finally:
            for future in running:
                future.cancel()


def _result(future: Future[Outcome], file: LocalFile) -> Outcome:
    try:
        return future.result()
    except CliError:
        raise
    except Exception as exc:
        raise CliError(
            f"could not copy {file.path}: {exc}; files copied so far stay "
            "copied: run the command again to resume"
        ) from exc
