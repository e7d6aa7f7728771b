"""The media retention job over HTTP, with the test's clock (docs/media.md,
"Retention"): unused local media goes, recently served media stays."""

from __future__ import annotations

from collections.abc import Callable

from tests.media.helpers import CLIENT_MEDIA, MEDIA, media_id, stored_files, upload
from tests.media.images import photo
from tests.support import User, q
from tests.support.server import TestServer

HOUR = 3600
DAY = 24 * HOUR


def _get(user: User, mid: str) -> int:
    return user.get(f"{CLIENT_MEDIA}/download/test/{mid}").code


def _files(server: TestServer) -> set[bytes]:
    return {path.read_bytes() for path in stored_files(server)}


def test_unused_local_media_is_deleted_and_used_media_kept(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"media": {"media_retention": {"local_media_lifetime": "1d"}}})
    alice = server.user("alice")
    used = media_id(upload(alice, b"used")["content_uri"])
    unused = media_id(upload(alice, b"unused")["content_uri"])
    legacy = media_id(upload(alice, b"legacy")["content_uri"])
    avatar_uri = upload(alice, b"avatar", "image/png")["content_uri"]
    alice.put(
        f"/profile/{q(alice.user_id)}/avatar_url",
        {"avatar_url": avatar_uri},
        expect=200,
    )

    server.advance(12 * HOUR)
    assert _get(alice, used) == 200
    assert server.request("GET", f"{MEDIA}/download/test/{legacy}").code == 200
    server.advance(13 * HOUR)  # 25 h after the uploads, 13 h after the downloads

    assert _get(alice, unused) == 404
    assert _files(server) == {b"used", b"legacy", b"avatar"}
    assert _get(alice, used) == 200 and _get(alice, legacy) == 200

    # Each download starts its lifetime again.
    server.advance(DAY - HOUR)
    assert _get(alice, used) == 200
    server.advance(2 * HOUR)
    assert _files(server) == {b"used", b"avatar"}
    assert _get(alice, legacy) == 404

    # A profile avatar is kept however long it goes unused.
    server.advance(30 * DAY)
    assert _files(server) == {b"avatar"}
    assert _get(alice, media_id(avatar_uri)) == 200


def test_thumbnails_keep_media_used_and_go_with_it(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"media": {"media_retention": {"local_media_lifetime": "1d"}}})
    alice = server.user("alice")
    mid = media_id(upload(alice, photo(640, 480), "image/jpeg")["content_uri"])
    thumbs = server.hs.media.thumbnails.store
    assert server.get_success(thumbs.get_thumbnails(mid))  # made on upload
    assert len(stored_files(server)) > 1

    # Asking for a thumbnail is a use of the media, on either route.
    for prefix in (CLIENT_MEDIA, MEDIA):
        server.advance(20 * HOUR)
        alice.get(f"{prefix}/thumbnail/test/{mid}", width=32, height=32, expect=200)
    server.advance(20 * HOUR)
    assert _get(alice, mid) == 200

    server.advance(DAY + HOUR)
    assert _get(alice, mid) == 404
    assert stored_files(server) == []
    assert server.get_success(thumbs.get_thumbnails(mid)) == []


def test_room_avatars_are_kept_and_many_files_go_in_pages(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"media": {"media_retention": {"local_media_lifetime": "1d"}}})
    alice = server.user("alice")
    room_id = alice.create_room()
    room_avatar = upload(alice, b"room avatar", "image/png")["content_uri"]
    member_avatar = upload(alice, b"member avatar", "image/png")["content_uri"]
    alice.put_state(room_id, "m.room.avatar", {"url": room_avatar}, expect=200)
    alice.put_state(
        room_id,
        "m.room.member",
        {"membership": "join", "avatar_url": member_avatar},
        alice.user_id,
        expect=200,
    )
    for i in range(250):  # more than one page of the job
        upload(alice, b"old %d" % i)

    server.advance(DAY + HOUR)
    assert _files(server) == {b"room avatar", b"member avatar"}


def test_without_a_lifetime_nothing_is_deleted(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server()
    alice = server.user("alice")
    mid = media_id(upload(alice, b"kept")["content_uri"])
    server.advance(400 * DAY)
    assert _get(alice, mid) == 200
    assert _files(server) == {b"kept"}


def test_expired_pending_media_ids_are_dropped(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server()
    alice = server.user("alice")
    created = alice.post("/_matrix/media/v1/create", {}, expect=200).json
    mid = media_id(created["content_uri"])
    server.advance(DAY + HOUR)
    assert server.get_success(server.hs.media.repository.store.get_media(mid)) is None
