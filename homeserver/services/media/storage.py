"""Where media bytes live: the storage seam and its local-disk back end.

``MediaStorage`` is a small abstract base class, as Sygnal's ``Pushkin`` is
for push back ends: the repository only ever calls ``store``, ``fetch``,
``delete`` and ``exists`` with a relative path that ``media_path`` builds, so an
S3 or plugin back end slots in by implementing those four methods. Blocking
file I/O never runs on the reactor thread: it goes through the ``Runner``
(a thread pool in production).
"""

from __future__ import annotations

import abc
import os
import re
import tempfile
from pathlib import Path

from homeserver.storage.database import Runner

# A media ID as this server makes them (and a sane subset of what others do):
# it becomes part of a file path, so nothing else is ever accepted.
MEDIA_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")


def media_path(media_id: str) -> str:
    """The relative path of a local file: ``local_content/ab/cd/rest``.

    Sharding by the ID's first four characters keeps directories small.

    Raises:
        ValueError: ``media_id`` is not a valid media ID (so it can never
            name anything outside the store).
    """
    if not MEDIA_ID_RE.match(media_id) or len(media_id) < 5:
        raise ValueError(f"invalid media ID {media_id!r}")
    return f"local_content/{media_id[0:2]}/{media_id[2:4]}/{media_id[4:]}"


_THUMBNAIL_TYPE_RE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")


def thumbnail_path(
    media_id: str,
    width: int,
    height: int,
    content_type: str,
    method: str,
    animated: bool = False,
) -> str:
    """The relative path of a local media's thumbnail, next to the sharding of
    ``media_path``: ``local_thumbnails/ab/cd/rest/{w}-{h}-{top}-{sub}-{method}``
    with ``-animated`` for one made for an ``animated=true`` request.

    Raises:
        ValueError: an invalid media ID, size, content type or method.
    """
    if not MEDIA_ID_RE.match(media_id) or len(media_id) < 5:
        raise ValueError(f"invalid media ID {media_id!r}")
    if width < 1 or height < 1:
        raise ValueError(f"invalid thumbnail size {width}x{height}")
    if not _THUMBNAIL_TYPE_RE.match(content_type):
        raise ValueError(f"invalid thumbnail type {content_type!r}")
    if method not in ("scale", "crop"):
        raise ValueError(f"invalid thumbnail method {method!r}")
    top, sub = content_type.split("/")
    name = f"{width}-{height}-{top}-{sub}-{method}" + ("-animated" if animated else "")
    return f"local_thumbnails/{media_id[0:2]}/{media_id[2:4]}/{media_id[4:]}/{name}"


class MediaStorage(abc.ABC):
    """A place to keep media files, addressed by relative path."""

    @abc.abstractmethod
    async def store(self, path: str, data: bytes) -> None:
        """Write ``data`` at ``path`` atomically (all or nothing)."""

    @abc.abstractmethod
    async def fetch(self, path: str) -> bytes | None:
        """The bytes at ``path``, or None if there are none."""

    @abc.abstractmethod
    async def delete(self, path: str) -> None:
        """Remove the file at ``path``; no error if it is missing."""

    @abc.abstractmethod
    async def exists(self, path: str) -> bool:
        """Whether a file is at ``path``."""


class LocalMediaStorage(MediaStorage):
    """Files under one directory on local disk.

    Args:
        root: the media store directory.
        runner: runs blocking file I/O off the reactor thread.
    """

    def __init__(self, root: Path, runner: Runner) -> None:
        self.root = root.resolve()
        self.runner = runner

    def _full(self, path: str) -> Path:
        full = (self.root / path).resolve()
        if self.root not in full.parents:
            raise ValueError(f"path {path!r} is outside the media store")
        return full

    async def store(self, path: str, data: bytes) -> None:
        full = self._full(path)

        def write() -> None:
            full.parent.mkdir(parents=True, exist_ok=True)
            # Write to a temporary file and rename, so a reader or a crash
            # never sees half a file.
            fd, tmp = tempfile.mkstemp(dir=full.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, full)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

        await self.runner(write)

    async def fetch(self, path: str) -> bytes | None:
        full = self._full(path)

        def read() -> bytes | None:
            try:
                return full.read_bytes()
            except FileNotFoundError:
                return None

        result: bytes | None = await self.runner(read)
        return result

    async def delete(self, path: str) -> None:
        full = self._full(path)

        def unlink() -> None:
            try:
                full.unlink()
            except (FileNotFoundError, NotADirectoryError):
                pass

        await self.runner(unlink)

    async def exists(self, path: str) -> bool:
        full = self._full(path)
        result: bool = await self.runner(full.is_file)
        return result
