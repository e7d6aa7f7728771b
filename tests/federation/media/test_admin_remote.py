"""The media admin API on other servers' media, over the loopback federation:
b.test caches a.test's files; b's admin looks them up, quarantines them (cached
or not yet fetched, by ID or by room) and purges the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.federation.media.test_fetching import _fetches
from tests.federation.pair import FederationPair
from tests.media.helpers import upload
from tests.media.images import photo
from tests.support import User
from tests.support.server import TestServer

ADMIN = "/_synapse/admin/v1"
CLIENT = "/_matrix/client/v1/media"
LEGACY = "/_matrix/media/v3"
YEAR_S = 365 * 24 * 3600


def _on_a(alice: User, data: bytes, ctype: str = "text/plain") -> str:
    uri = upload(alice, data, ctype)["content_uri"]
    return str(uri.rsplit("/", 1)[1])


def _remote_files(server: TestServer) -> list[Path]:
    root = server.hs.data_dir / "media_store"
    return [p for p in root.rglob("*") if p.is_file() and "remote_" in str(p)]


def _served(pair: FederationPair, bob: User, mid: str) -> bool:
    """Whether b serves a.test's ``mid`` on both download routes."""
    auth = bob.get(f"{CLIENT}/download/a.test/{mid}")
    legacy = pair.b.request("GET", f"{LEGACY}/download/a.test/{mid}")
    assert auth.code == legacy.code and auth.code in (200, 404), (auth, legacy)
    return auth.code == 200


@pytest.fixture
def bob(pair: FederationPair) -> User:
    pair.b.advance(2 * YEAR_S)
    return pair.b.user("bob")


@pytest.fixture
def alice(pair: FederationPair) -> User:
    """A user of a.test, whose files b.test fetches."""
    return pair.a.user("alice")


@pytest.fixture
def admin(pair: FederationPair) -> User:
    return pair.b.user("admin", admin=True)


def test_info_and_quarantine_of_cached_remote_media(
    pair: FederationPair, bob: User, admin: User, alice: User
) -> None:
    mid = _on_a(alice, photo(64, 64), "image/jpeg")
    assert admin.get(f"{ADMIN}/media/a.test/{mid}", expect=404).json["errcode"] == (
        "M_NOT_FOUND"
    )
    assert _served(pair, bob, mid)
    info = admin.get(f"{ADMIN}/media/a.test/{mid}", expect=200).json["media_info"]
    assert info["media_origin"] == "a.test" and info["user_id"] is None
    assert info["media_id"] == mid and info["media_type"] == "image/jpeg"
    assert info["quarantined"] is False and info["safe_from_quarantine"] is None
    thumb = f"{CLIENT}/thumbnail/a.test/{mid}?width=32&height=32"
    assert bob.get(thumb).code == 200

    assert admin.post(f"{ADMIN}/media/quarantine/a.test/{mid}", {}).json == {}
    assert not _served(pair, bob, mid)
    assert bob.get(thumb, expect=404).json["errcode"] == "M_NOT_FOUND"
    info = admin.get(f"{ADMIN}/media/a.test/{mid}", expect=200).json["media_info"]
    assert info["quarantined"] is True

    admin.post(f"{ADMIN}/media/unquarantine/a.test/{mid}", {}, expect=200)
    assert _served(pair, bob, mid)
    assert bob.get(thumb).code == 200
    # Served from the cache all along: fetched once.
    assert len(_fetches(pair, "a.test", mid)) == 1


def test_quarantine_before_the_first_fetch(
    pair: FederationPair, bob: User, admin: User, alice: User
) -> None:
    mid = _on_a(alice, b"not fetched yet")
    admin.post(f"{ADMIN}/media/quarantine/a.test/{mid}", {}, expect=200)
    assert not _served(pair, bob, mid)
    assert _fetches(pair, "a.test", mid) == []
    admin.post(f"{ADMIN}/media/unquarantine/a.test/{mid}", {}, expect=200)
    assert _served(pair, bob, mid)
    assert bob.get(f"{CLIENT}/download/a.test/{mid}").body == b"not fetched yet"


def test_room_quarantine_covers_remote_media(
    pair: FederationPair, bob: User, admin: User, alice: User
) -> None:
    cached, uncached = _on_a(alice, b"one"), _on_a(alice, b"two")
    assert _served(pair, bob, cached)
    room = bob.create_room()
    for mid in (cached, uncached):
        bob.send(room, "f", msgtype="m.file", url=f"mxc://a.test/{mid}")
    bob.send(room, "odd", msgtype="m.file", url="mxc://bad..name/abcdefgh")
    resp = admin.get(f"{ADMIN}/room/{room}/media", expect=200)
    assert resp.json["remote"] == [
        f"mxc://a.test/{cached}",
        f"mxc://a.test/{uncached}",
        "mxc://bad..name/abcdefgh",
    ]
    resp = admin.post(f"{ADMIN}/room/{room}/media/quarantine", {}, expect=200)
    assert resp.json == {"num_quarantined": 2}
    assert not _served(pair, bob, cached)
    assert not _served(pair, bob, uncached)


@pytest.mark.parametrize(
    ("path", "code", "errcode"),
    [
        ("/media/quarantine/bad..name/abcdefgh", 400, "M_INVALID_PARAM"),
        ("/media/unquarantine/a.test/a%2F..%2Fb", 400, "M_INVALID_PARAM"),
    ],
)
def test_bad_remote_names(admin: User, path: str, code: int, errcode: str) -> None:
    resp = admin.post(f"{ADMIN}{path}", {}, expect=code)
    assert resp.json["errcode"] == errcode


def test_purge_media_cache(
    pair: FederationPair, alice: User, bob: User, admin: User
) -> None:
    old = _on_a(alice, photo(64, 64), "image/jpeg")
    kept = _on_a(alice, b"quarantined, kept")
    assert _served(pair, bob, old) and _served(pair, bob, kept)
    assert bob.get(f"{CLIENT}/thumbnail/a.test/{old}?width=32&height=32").code == 200
    admin.post(f"{ADMIN}/media/quarantine/a.test/{kept}", {}, expect=200)
    pair.b.advance(120)
    cut = pair.b.hs.core.clock.time_msec()
    pair.b.advance(120)
    recent = _on_a(alice, b"recent")
    assert _served(pair, bob, recent)
    before = len(_remote_files(pair.b))

    resp = admin.post(f"{ADMIN}/purge_media_cache?before_ts={cut}", {}, expect=200)
    assert resp.json == {"deleted": 1}
    # The file and its thumbnails went; the quarantined and recent stayed.
    assert len(_remote_files(pair.b)) == 2
    assert before > 3
    assert admin.get(f"{ADMIN}/media/a.test/{old}").code == 404
    assert not _served(pair, bob, kept)
    # Purged media is fetched again on the next download.
    assert _served(pair, bob, old)
    assert len(_fetches(pair, "a.test", old)) == 2


@pytest.mark.parametrize(
    ("query", "errcode"),
    [
        ("", "M_MISSING_PARAM"),
        ("?before_ts=-1", "M_INVALID_PARAM"),
        ("?before_ts=1700000000", "M_INVALID_PARAM"),
    ],
)
def test_purge_media_cache_refuses_bad_parameters(
    pair: FederationPair, bob: User, admin: User, query: str, errcode: str
) -> None:
    resp = admin.post(f"{ADMIN}/purge_media_cache{query}", {}, expect=400)
    assert resp.json["errcode"] == errcode
    resp = bob.post(f"{ADMIN}/purge_media_cache?before_ts=40000000000", {}, expect=403)
    assert resp.json["errcode"] == "M_FORBIDDEN"
