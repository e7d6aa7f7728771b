"""LocalMediaStorage: the sharded local-disk back end of the MediaStorage seam."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer
from twisted.python.failure import Failure

from homeserver.services.media.storage import LocalMediaStorage, media_path
from homeserver.storage.database import inline_runner


def run(awaitable: Any) -> Any:
    d = defer.ensureDeferred(awaitable)
    results: list[Any] = []
    d.addBoth(results.append)
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


def test_media_path_is_sharded() -> None:
    assert media_path("abcdefgh") == "local_content/ab/cd/efgh"


@pytest.mark.parametrize(
    "bad", ["", "abc", "../../etc/passwd", "ab/cd/ef", "a b c d e"]
)
def test_media_path_refuses_bad_ids(bad: str) -> None:
    with pytest.raises(ValueError):
        media_path(bad)


def test_store_fetch_exists_delete(tmp_path: Path) -> None:
    storage = LocalMediaStorage(tmp_path, inline_runner)
    path = media_path("abcdefgh")
    assert run(storage.exists(path)) is False
    assert run(storage.fetch(path)) is None
    run(storage.store(path, b"data"))
    assert (tmp_path / "local_content" / "ab" / "cd" / "efgh").read_bytes() == b"data"
    assert run(storage.exists(path)) is True
    assert run(storage.fetch(path)) == b"data"
    run(storage.delete(path))
    assert run(storage.exists(path)) is False
    run(storage.delete(path))  # deleting a missing file is fine


def test_paths_outside_the_store_are_refused(tmp_path: Path) -> None:
    storage = LocalMediaStorage(tmp_path / "store", inline_runner)
    with pytest.raises(ValueError):
        run(storage.store("../escape", b"x"))
    assert not (tmp_path / "escape").exists()


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalMediaStorage(tmp_path, inline_runner)
    path = media_path("abcdefgh")
    with pytest.raises(TypeError):
        run(storage.store(path, "not bytes"))  # type: ignore[arg-type]
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
