"""The media admin API: listing a user's media, and deleting media by ID, by
age and size, and by user (records and files gone, nothing served)."""

from __future__ import annotations

import pytest

from tests.media.admin_helpers import ADMIN, info, new_media, served
from tests.media.helpers import stored_files
from tests.support import User
from tests.support.server import TestServer

# A realistic clock: timestamps below 30000000000 ms are refused as seconds.
YEAR_S = 365 * 24 * 3600


@pytest.fixture
def alice(server: TestServer) -> User:
    server.advance(2 * YEAR_S)
    return server.user("alice")


@pytest.fixture
def admin(server: TestServer) -> User:
    return server.user("admin", admin=True)


def _now(server: TestServer) -> int:
    return int(server.hs.core.clock.time_msec())


def _files(server: TestServer) -> set[str]:
    return {path.name for path in stored_files(server)}


def test_list_a_users_media(server: TestServer, alice: User, admin: User) -> None:
    made = []
    for size in (3, 1, 2):
        made.append(new_media(alice, b"x" * size, filename=f"f{size}.txt"))
        server.advance(1)
    new_media(server.user("bob"))
    path = f"{ADMIN}/users/{alice.user_id}/media"

    page = admin.get(path, expect=200).json
    assert page["total"] == 3 and "next_token" not in page
    # Newest first by default.
    assert [m["media_id"] for m in page["media"]] == made[::-1]
    first = page["media"][-1]
    assert first == {
        "media_id": made[0],
        "media_type": "text/plain",
        "media_length": 3,
        "upload_name": "f3.txt",
        "created_ts": first["created_ts"],
        "last_access_ts": None,
        "quarantined_by": None,
        "safe_from_quarantine": False,
    }

    by_size = admin.get(path, order_by="media_length", expect=200).json
    assert [m["media_length"] for m in by_size["media"]] == [1, 2, 3]
    by_size = admin.get(path, order_by="media_length", dir="b", expect=200).json
    assert [m["media_length"] for m in by_size["media"]] == [3, 2, 1]
    oldest_first = admin.get(path, dir="f", expect=200).json
    assert [m["media_id"] for m in oldest_first["media"]] == made

    one = admin.get(path, limit=2, expect=200).json
    assert len(one["media"]) == 2 and one["next_token"] == 2 and one["total"] == 3
    two = admin.get(path, limit=2, **{"from": 2}, expect=200).json
    assert len(two["media"]) == 1 and "next_token" not in two
    seen = [m["media_id"] for m in one["media"] + two["media"]]
    assert seen == made[::-1]


@pytest.mark.parametrize(
    "query",
    ["order_by=size", "dir=x", "from=-1", "limit=-1", "limit=many"],
)
def test_list_refuses_bad_parameters(alice: User, admin: User, query: str) -> None:
    resp = admin.get(f"{ADMIN}/users/{alice.user_id}/media?{query}", expect=400)
    assert resp.json["errcode"] == "M_INVALID_PARAM"


def test_delete_one(server: TestServer, alice: User, admin: User) -> None:
    mid = new_media(alice, b"delete me")
    keep = new_media(alice, b"keep me")
    resp = admin.delete(f"{ADMIN}/media/test/{mid}", expect=200)
    assert resp.json == {"deleted_media": [mid], "total": 1}
    assert not served(server, alice, mid)
    assert served(server, alice, keep)
    assert _files(server) == {keep[4:]}
    resp = admin.get(f"{ADMIN}/media/test/{mid}", expect=404)
    assert resp.json["errcode"] == "M_NOT_FOUND"
    resp = admin.delete(f"{ADMIN}/media/test/{mid}", expect=404)
    assert resp.json["errcode"] == "M_NOT_FOUND"
    resp = admin.delete(f"{ADMIN}/media/elsewhere.example/{keep}", expect=400)
    assert resp.json["errcode"] == "M_INVALID_PARAM"


def test_delete_a_pending_upload(server: TestServer, alice: User, admin: User) -> None:
    uri = alice.post("/_matrix/media/v1/create", {}, expect=200).json["content_uri"]
    mid = uri.rsplit("/", 1)[1]
    admin.delete(f"{ADMIN}/media/test/{mid}", expect=200)
    resp = alice.put(f"/_matrix/media/v3/upload/test/{mid}", b"late", expect=404)
    assert resp.json["errcode"] == "M_NOT_FOUND"


def test_delete_by_age_and_size(server: TestServer, alice: User, admin: User) -> None:
    old_small = new_media(alice, b"s")
    old_big = new_media(alice, b"b" * 100)
    old_quarantined = new_media(alice, b"q" * 100)
    old_protected = new_media(alice, b"p" * 100)
    admin.post(f"{ADMIN}/media/quarantine/test/{old_quarantined}", {})
    admin.post(f"{ADMIN}/media/protect/{old_protected}", {})
    server.advance(10)
    cut = _now(server)
    server.advance(10)
    new_big = new_media(alice, b"n" * 100)

    resp = admin.post(f"{ADMIN}/media/delete?before_ts={cut}&size_gt=10", {})
    assert resp.code == 200 and resp.json == {"deleted_media": [old_big], "total": 1}
    # The deprecated path, without a size: the small one too.
    resp = admin.post(f"{ADMIN}/media/test/delete?before_ts={cut}", {})
    assert resp.code == 200 and resp.json == {"deleted_media": [old_small], "total": 1}
    remaining = {old_quarantined, old_protected, new_big}
    assert _files(server) == {mid[4:] for mid in remaining}
    for mid in remaining:
        info(admin, mid)


def test_delete_by_age_keeps_avatars_unless_asked(
    server: TestServer, alice: User, admin: User
) -> None:
    avatar = new_media(alice)
    room_avatar = new_media(alice)
    member_avatar = new_media(alice)
    other = new_media(alice)
    alice.put(
        f"/profile/{alice.user_id}/avatar_url", {"avatar_url": f"mxc://test/{avatar}"}
    )
    room = alice.create_room()
    alice.put_state(room, "m.room.avatar", {"url": f"mxc://test/{room_avatar}"})
    alice.put_state(
        room,
        "m.room.member",
        {"membership": "join", "avatar_url": f"mxc://test/{member_avatar}"},
        alice.user_id,
    )
    server.advance(10)
    cut = _now(server)

    resp = admin.post(f"{ADMIN}/media/delete?before_ts={cut}", {}, expect=200)
    assert resp.json == {"deleted_media": [other], "total": 1}
    resp = admin.post(
        f"{ADMIN}/media/delete?before_ts={cut}&keep_profiles=false", {}, expect=200
    )
    assert sorted(resp.json["deleted_media"]) == sorted(
        [avatar, room_avatar, member_avatar]
    )
    assert _files(server) == set()


@pytest.mark.parametrize(
    ("query", "errcode"),
    [
        ("", "M_MISSING_PARAM"),
        ("?before_ts=-1", "M_INVALID_PARAM"),
        ("?before_ts=1700000000", "M_INVALID_PARAM"),
        ("?before_ts=soon", "M_INVALID_PARAM"),
        ("?before_ts=40000000000&size_gt=-5", "M_INVALID_PARAM"),
        ("?before_ts=40000000000&keep_profiles=maybe", "M_INVALID_PARAM"),
    ],
)
def test_delete_by_age_refuses_bad_parameters(
    server: TestServer, alice: User, admin: User, query: str, errcode: str
) -> None:
    mid = new_media(alice)
    resp = admin.post(f"{ADMIN}/media/delete{query}", {}, expect=400)
    assert resp.json["errcode"] == errcode
    resp = admin.post(
        f"{ADMIN}/media/elsewhere.example/delete?before_ts=40000000000", {}, expect=400
    )
    assert resp.json["errcode"] == "M_INVALID_PARAM"
    assert served(server, alice, mid)


def test_delete_a_users_media(server: TestServer, alice: User, admin: User) -> None:
    made = []
    for _ in range(3):
        made.append(new_media(alice))
        server.advance(1)
    theirs = new_media(server.user("bob"))
    path = f"{ADMIN}/users/{alice.user_id}/media"
    # One page, newest first, as listing shows it.
    resp = admin.delete(f"{path}?limit=2", expect=200)
    assert resp.json == {"deleted_media": made[:0:-1], "total": 2}
    assert admin.get(path, expect=200).json["total"] == 1
    resp = admin.delete(path, expect=200)
    assert resp.json == {"deleted_media": [made[0]], "total": 1}
    assert admin.delete(path, expect=200).json == {"deleted_media": [], "total": 0}
    assert _files(server) == {theirs[4:]}
    assert served(server, alice, theirs)
