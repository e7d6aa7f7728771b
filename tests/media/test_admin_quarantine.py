"""The media admin API: who may call it, media info, quarantine (by file, room
and user), protection from quarantine, and the media of a room."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.media.admin_helpers import ADMIN, info, new_media, served
from tests.media.helpers import CLIENT_MEDIA, MEDIA
from tests.media.images import photo
from tests.support import User
from tests.support.server import TestServer

MID = "abcdefghijklmnopqrstuvwx"
# Every route, with a path that would otherwise succeed or 404.
ROUTES = [
    ("GET", f"{ADMIN}/room/!r:test/media"),
    ("POST", f"{ADMIN}/room/!r:test/media/quarantine"),
    ("POST", f"{ADMIN}/quarantine_media/!r:test"),
    ("POST", f"{ADMIN}/user/@alice:test/media/quarantine"),
    ("POST", f"{ADMIN}/media/quarantine/test/{MID}"),
    ("POST", f"{ADMIN}/media/unquarantine/test/{MID}"),
    ("POST", f"{ADMIN}/media/protect/{MID}"),
    ("POST", f"{ADMIN}/media/unprotect/{MID}"),
    ("GET", f"{ADMIN}/media/test/{MID}"),
    ("DELETE", f"{ADMIN}/media/test/{MID}"),
    ("POST", f"{ADMIN}/media/delete?before_ts=40000000000"),
    ("POST", f"{ADMIN}/media/test/delete?before_ts=40000000000"),
    ("GET", f"{ADMIN}/users/@alice:test/media"),
    ("DELETE", f"{ADMIN}/users/@alice:test/media"),
]


@pytest.fixture
def alice(server: TestServer) -> User:
    return server.user("alice")


@pytest.fixture
def admin(server: TestServer) -> User:
    return server.user("admin", admin=True)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_only_admins(server: TestServer, alice: User, method: str, path: str) -> None:
    mid = new_media(alice)
    path = path.replace(MID, mid)
    resp = alice.request(method, path, {}, expect=403)
    assert resp.json["errcode"] == "M_FORBIDDEN"
    resp = server.request(method, path, {})
    assert resp.code == 401 and resp.json["errcode"] == "M_MISSING_TOKEN"
    assert served(server, alice, mid)


def test_media_info(server: TestServer, alice: User, admin: User) -> None:
    mid = new_media(alice, b"12345", content_type="image/png", filename="a.png")
    assert info(admin, mid) == {
        "media_origin": None,
        "user_id": alice.user_id,
        "media_id": mid,
        "media_type": "image/png",
        "media_length": 5,
        "upload_name": "a.png",
        "created_ts": server.hs.core.clock.time_msec(),
        "filesystem_id": None,
        "url_cache": None,
        "last_access_ts": None,
        "quarantined_by": None,
        "quarantined": False,
        "authenticated": False,
        "safe_from_quarantine": False,
        "sha256": None,
    }


@pytest.mark.parametrize(
    ("path", "code", "errcode"),
    [
        ("/media/test/abcdefghijklmnop", 404, "M_NOT_FOUND"),
        ("/media/elsewhere.example/abcdefghijklmnop", 404, "M_NOT_FOUND"),
        ("/media/test/a..b", 400, "M_INVALID_PARAM"),
        ("/media/quarantine/test/abcdefghijklmnop", 404, "M_NOT_FOUND"),
        ("/media/unquarantine/test/abcdefghijklmnop", 404, "M_NOT_FOUND"),
        ("/media/protect/abcdefghijklmnop", 404, "M_NOT_FOUND"),
        ("/media/unprotect/abcdefghijklmnop", 404, "M_NOT_FOUND"),
        ("/media/quarantine/test/a%2F..%2Fb", 400, "M_INVALID_PARAM"),
    ],
)
def test_unknown_or_bad_media(admin: User, path: str, code: int, errcode: str) -> None:
    method = "GET" if path.startswith("/media/test/") or "elsewhere" in path else "POST"
    resp = admin.request(method, f"{ADMIN}{path}", {}, expect=code)
    assert resp.json["errcode"] == errcode


def test_quarantine_and_unquarantine_by_id(
    server: TestServer, alice: User, admin: User
) -> None:
    mid = new_media(alice)
    other = new_media(alice)
    assert admin.post(f"{ADMIN}/media/quarantine/test/{mid}", {}, expect=200).json == {}
    assert not served(server, alice, mid)
    assert not served(server, admin, mid)
    assert served(server, alice, other)
    assert info(admin, mid)["quarantined_by"] == admin.user_id
    # Still stored: unquarantining serves it again.
    resp = admin.post(f"{ADMIN}/media/unquarantine/test/{mid}", {}, expect=200)
    assert resp.json == {}
    assert served(server, alice, mid)
    assert info(admin, mid)["quarantined_by"] is None


def test_protected_media_cannot_be_quarantined(
    server: TestServer, alice: User, admin: User
) -> None:
    mid = new_media(alice)
    assert admin.post(f"{ADMIN}/media/protect/{mid}", {}, expect=200).json == {}
    assert info(admin, mid)["safe_from_quarantine"] is True
    admin.post(f"{ADMIN}/media/quarantine/test/{mid}", {}, expect=200)
    resp = admin.post(f"{ADMIN}/user/{alice.user_id}/media/quarantine", {}, expect=200)
    assert resp.json == {"num_quarantined": 0}
    assert served(server, alice, mid)

    admin.post(f"{ADMIN}/media/unprotect/{mid}", {}, expect=200)
    assert info(admin, mid)["safe_from_quarantine"] is False
    admin.post(f"{ADMIN}/media/quarantine/test/{mid}", {}, expect=200)
    assert not served(server, alice, mid)


def test_quarantine_a_users_media(server: TestServer, alice: User, admin: User) -> None:
    bob = server.user("bob")
    mine = [new_media(alice), new_media(alice)]
    theirs = new_media(bob)
    resp = admin.post(f"{ADMIN}/user/{alice.user_id}/media/quarantine", {}, expect=200)
    assert resp.json == {"num_quarantined": 2}
    assert not any(served(server, alice, mid) for mid in mine)
    assert served(server, alice, theirs)


@pytest.mark.parametrize(
    ("user_id", "code", "errcode"),
    [
        ("@nobody:test", 404, "M_NOT_FOUND"),
        ("@alice:elsewhere.example", 400, "M_INVALID_PARAM"),
        ("not-a-user", 400, "M_INVALID_PARAM"),
    ],
)
def test_user_routes_need_a_local_user(
    admin: User, user_id: str, code: int, errcode: str
) -> None:
    for method, path in [
        ("POST", f"{ADMIN}/user/{user_id}/media/quarantine"),
        ("GET", f"{ADMIN}/users/{user_id}/media"),
        ("DELETE", f"{ADMIN}/users/{user_id}/media"),
    ]:
        resp = admin.request(method, path, {}, expect=code)
        assert resp.json["errcode"] == errcode


def _room_with_media(alice: User, mids: list[str]) -> str:
    room = alice.create_room()
    alice.send(room, "a file", msgtype="m.image", url=f"mxc://test/{mids[0]}")
    alice.send(
        room,
        "a video",
        msgtype="m.video",
        url="mxc://elsewhere.example/remoteVideo1",
        info={"thumbnail_url": f"mxc://test/{mids[1]}"},
    )
    alice.put_state(room, "m.room.avatar", {"url": f"mxc://test/{mids[2]}"})
    alice.send(room, "again", msgtype="m.image", url=f"mxc://test/{mids[0]}")
    alice.send(room, "not a file: mxc://test/nothing")
    return room


def test_room_media_and_quarantine(
    server: TestServer, alice: User, admin: User
) -> None:
    mids = [new_media(alice) for _ in range(3)]
    outside = new_media(alice)
    room = _room_with_media(alice, mids)
    resp = admin.get(f"{ADMIN}/room/{room}/media", expect=200)
    assert resp.json == {
        "local": [f"mxc://test/{mid}" for mid in mids],
        "remote": ["mxc://elsewhere.example/remoteVideo1"],
    }

    admin.post(f"{ADMIN}/media/protect/{mids[2]}", {}, expect=200)
    resp = admin.post(f"{ADMIN}/room/{room}/media/quarantine", {}, expect=200)
    # Two local files (not the protected one) and the remote video.
    assert resp.json == {"num_quarantined": 3}
    assert [served(server, alice, mid) for mid in mids] == [False, False, True]
    assert served(server, alice, outside)
    remote = admin.get(f"{ADMIN}/media/elsewhere.example/remoteVideo1", expect=200)
    assert remote.json["media_info"]["quarantined"] is True
    # The deprecated path does the same.
    resp = admin.post(f"{ADMIN}/quarantine_media/{room}", {}, expect=200)
    assert resp.json == {"num_quarantined": 3}


def test_unknown_room(admin: User) -> None:
    for method, path in [
        ("GET", f"{ADMIN}/room/!nowhere:test/media"),
        ("POST", f"{ADMIN}/room/!nowhere:test/media/quarantine"),
    ]:
        resp = admin.request(method, path, {}, expect=404)
        assert resp.json["errcode"] == "M_NOT_FOUND"


def test_quarantined_media_has_no_thumbnails(
    server: TestServer, alice: User, admin: User
) -> None:
    mid = new_media(alice, photo(100, 100), content_type="image/jpeg")
    paths = [
        f"{CLIENT_MEDIA}/thumbnail/test/{mid}?width=32&height=32",
        f"{MEDIA}/thumbnail/test/{mid}?width=32&height=32&method=scale",
    ]
    assert [alice.get(path).code for path in paths] == [200, 200]
    admin.post(f"{ADMIN}/media/quarantine/test/{mid}", {}, expect=200)
    for path in paths:
        resp = alice.get(path, expect=404)
        assert resp.json["errcode"] == "M_NOT_FOUND"
    admin.post(f"{ADMIN}/media/unquarantine/test/{mid}", {}, expect=200)
    assert [alice.get(path).code for path in paths] == [200, 200]


def test_media_info_after_access_and_with_legacy_frozen(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"media": {"enable_authenticated_media": True}})
    alice = server.user("alice")
    admin = server.user("admin", admin=True)
    mid = new_media(alice)
    assert info(admin, mid)["authenticated"] is True
    assert info(admin, mid)["last_access_ts"] is None
    alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200)
    served_at = server.hs.core.clock.time_msec()
    # Accesses are written in batches, once a minute.
    server.advance(61)
    last = info(admin, mid)["last_access_ts"]
    assert last is not None and served_at <= last <= served_at + 61_000
