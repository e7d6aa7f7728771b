"""The remote media cache store: what retention and the admin purge build on
(list by last access, delete with thumbnails), and the conflict rules."""

from __future__ import annotations

import pytest

from homeserver.services.media.remote_paths import (
    remote_media_path,
    remote_thumbnail_path,
)
from homeserver.storage.stores.remote_media import (
    RemoteMedia,
    RemoteMediaStore,
    RemoteThumbnail,
)
from tests.support.server import TestServer


def _media(media_id: str, last_access: int, server: str = "remote.test") -> RemoteMedia:
    return RemoteMedia(
        server_name=server,
        media_id=media_id,
        media_type="image/png",
        upload_name="x.png",
        media_length=10,
        created_ts=1,
        last_access_ts=last_access,
        filesystem_id=f"fs{media_id}",
    )


def _thumb(width: int) -> RemoteThumbnail:
    return RemoteThumbnail(
        width=width,
        height=width,
        method="crop",
        media_type="image/jpeg",
        animated=False,
        media_length=5,
        filesystem_id="fsthumb1",
    )


def test_insert_get_touch_list_delete(server: TestServer) -> None:
    store: RemoteMediaStore = server.hs.media.repository.remote.store
    run = server.get_success
    assert run(store.insert_remote_media(_media("aaa1", 100)))
    assert not run(store.insert_remote_media(_media("aaa1", 999)))  # kept first
    assert run(store.insert_remote_media(_media("bbb2", 50)))
    assert run(store.insert_remote_media(_media("ccc3", 300, "other.test")))
    got = run(store.get_remote_media("remote.test", "aaa1"))
    assert got == _media("aaa1", 100)
    assert run(store.get_remote_media("other.test", "aaa1")) is None

    run(store.update_last_access("remote.test", "bbb2", 200))
    run(store.update_last_access("remote.test", "aaa1", 10))  # never backwards
    listed = run(store.get_remote_media_before(1000))
    assert [(m.media_id, m.last_access_ts) for m in listed] == [
        ("aaa1", 100),
        ("bbb2", 200),
        ("ccc3", 300),
    ]
    assert [m.media_id for m in run(store.get_remote_media_before(200))] == ["aaa1"]
    assert len(run(store.get_remote_media_before(1000, limit=2))) == 2

    assert run(store.insert_remote_thumbnail("remote.test", "aaa1", _thumb(32), 5))
    assert not run(store.insert_remote_thumbnail("remote.test", "aaa1", _thumb(32), 6))
    assert run(store.insert_remote_thumbnail("remote.test", "aaa1", _thumb(96), 5))
    thumbs = run(store.get_remote_thumbnails("remote.test", "aaa1"))
    assert [t.width for t in thumbs] == [32, 96]

    run(store.delete_remote_media("remote.test", "aaa1"))
    assert run(store.get_remote_media("remote.test", "aaa1")) is None
    assert run(store.get_remote_thumbnails("remote.test", "aaa1")) == []
    assert run(store.get_remote_media("remote.test", "bbb2")) is not None


def test_paths_are_sharded_and_safe() -> None:
    assert remote_media_path("matrix.org", "abcdefghij") == (
        "remote_content/matrix.org/ab/cd/efghij"
    )
    assert remote_media_path("[::1]:8448", "abcdefghij").startswith(
        "remote_content/[::1]:8448/"
    )
    assert remote_thumbnail_path(
        "matrix.org", "abcdefghij", 32, 32, "image/jpeg", "crop"
    ) == ("remote_thumbnails/matrix.org/ab/cd/efghij/32-32-image-jpeg-crop")
    for server in ("..", ".hidden", "a/b", "a..b", "", "a b", "x\x00"):
        with pytest.raises(ValueError):
            remote_media_path(server, "abcdefghij")
    for fs_id in ("../../etc", "ab", "a/bcdefg"):
        with pytest.raises(ValueError):
            remote_media_path("matrix.org", fs_id)
    with pytest.raises(ValueError):
        remote_thumbnail_path("matrix.org", "abcdefghij", 1, 1, "image/../x", "crop")
