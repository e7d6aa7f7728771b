"""Thumbnails over federation: the federation thumbnail endpoint serves ours,
and thumbnails of another server's media are made here from the cached
original (as Synapse does), kept, and served from the cache afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeserver.federation.media import multipart
from tests.federation.pair import FederationPair
from tests.media.helpers import upload
from tests.media.images import opened, photo
from tests.support import User
from tests.support.server import TestServer

FED_THUMB = "/_matrix/federation/v1/media/thumbnail"
CLIENT_THUMB = "/_matrix/client/v1/media/thumbnail"
LEGACY_THUMB = "/_matrix/media/v3/thumbnail"


@pytest.fixture
def alice(pair: FederationPair) -> User:
    return pair.a.user("alice")


def _upload_photo(alice: User) -> str:
    uri = upload(alice, photo(640, 480), "image/jpeg", "p.jpg")["content_uri"]
    return str(uri.rsplit("/", 1)[1])


def _files(server: TestServer, top: str) -> list[Path]:
    root = server.hs.data_dir / "media_store" / top
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _asked_of_a(pair: FederationPair, mid: str) -> list[str]:
    return [uri for _, dest, _, uri in pair.requests if dest == "a.test" and mid in uri]


def test_federation_thumbnail_endpoint(pair: FederationPair, alice: User) -> None:
    mid = _upload_photo(alice)
    resp = pair.signed_request(
        pair.b, pair.a, "GET", f"{FED_THUMB}/{mid}?width=32&height=32&method=crop"
    )
    assert resp.code == 200
    part = multipart.decode(resp.header("content-type") or "", resp.body)
    assert part.metadata == {}
    assert part.media_type == "image/jpeg"
    assert part.disposition == "inline"
    assert part.data is not None and opened(part.data).size == (32, 32)


def test_federation_thumbnail_refusals(pair: FederationPair, alice: User) -> None:
    mid = _upload_photo(alice)
    unsigned = pair.a.request("GET", f"{FED_THUMB}/{mid}?width=32&height=32")
    assert unsigned.code == 401
    missing = pair.signed_request(pair.b, pair.a, "GET", f"{FED_THUMB}/{mid}?width=32")
    assert (missing.code, missing.json["errcode"]) == (400, "M_MISSING_PARAM")
    text = upload(alice, b"not an image", "text/plain")["content_uri"]
    resp = pair.signed_request(
        pair.b,
        pair.a,
        "GET",
        f"{FED_THUMB}/{text.rsplit('/', 1)[1]}?width=32&height=32",
    )
    assert resp.code == 400 and resp.json["errcode"] == "M_UNKNOWN"
    unknown = pair.signed_request(
        pair.b, pair.a, "GET", f"{FED_THUMB}/abcdefghijkl?width=32&height=32"
    )
    assert unknown.code == 404 and unknown.json["errcode"] == "M_NOT_FOUND"


def test_thumbnail_of_remote_media_is_made_here_and_kept(
    pair: FederationPair, alice: User
) -> None:
    mid = _upload_photo(alice)
    bob = pair.b.user("bob")

    resp = bob.get(f"{CLIENT_THUMB}/a.test/{mid}?width=96&height=96&method=crop")
    assert resp.code == 200
    assert resp.header("content-type") == "image/jpeg"
    assert opened(resp.body).size == (96, 96)
    # The original was fetched once (the download endpoint, not a thumbnail).
    assert [u.split("?")[0] for u in _asked_of_a(pair, mid)] == [
        f"/_matrix/federation/v1/media/download/{mid}"
    ]
    (thumb,) = _files(pair.b, "remote_thumbnails")
    assert thumb.read_bytes() == resp.body
    assert thumb.name == "96-96-image-jpeg-crop"
    assert len(_files(pair.b, "remote_content")) == 1

    # Kept: served again (legacy path too) after a.test is gone.
    pair.set_reachable("a.test", False)
    again = pair.b.request(
        "GET", f"{LEGACY_THUMB}/a.test/{mid}?width=96&height=96&method=crop"
    )
    assert again.code == 200 and again.body == resp.body
    scaled = bob.get(f"{CLIENT_THUMB}/a.test/{mid}?width=320&height=240")
    assert scaled.code == 200 and opened(scaled.body).size == (320, 240)
    assert len(_asked_of_a(pair, mid)) == 1
    assert len(_files(pair.b, "remote_thumbnails")) == 2


def test_concurrent_remote_thumbnails_fetch_once(
    pair: FederationPair, alice: User
) -> None:
    mid = _upload_photo(alice)
    bob = pair.b.user("bob")
    pair.latency["a.test"] = 2
    pending = [
        pair.b.start_request(
            "GET", f"{CLIENT_THUMB}/a.test/{mid}?width=32&height=32", bob.token
        )
        for _ in range(4)
    ]
    assert not any(p.done for p in pending)
    pair.pump(2)
    pair.pump(0)
    responses = [p.response() for p in pending]
    assert [r.code for r in responses] == [200] * 4
    assert len({r.body for r in responses}) == 1
    assert len(_asked_of_a(pair, mid)) == 1
    assert len(_files(pair.b, "remote_thumbnails")) == 1


def test_remote_media_that_is_no_image(pair: FederationPair, alice: User) -> None:
    text = upload(alice, b"just text", "text/plain")["content_uri"]
    mid = text.rsplit("/", 1)[1]
    resp = pair.b.user("bob").get(f"{CLIENT_THUMB}/a.test/{mid}?width=32&height=32")
    assert resp.code == 400 and resp.json["errcode"] == "M_UNKNOWN"
    assert _files(pair.b, "remote_thumbnails") == []


def test_dropping_a_cached_file_removes_its_thumbnails(
    pair: FederationPair, alice: User
) -> None:
    mid = _upload_photo(alice)
    bob = pair.b.user("bob")
    bob.get(f"{CLIENT_THUMB}/a.test/{mid}?width=32&height=32", expect=200)
    cache = pair.b.hs.media.repository.remote
    assert pair.b.get_success(cache.delete_cached("a.test", mid))
    assert _files(pair.b, "remote_content") == []
    assert _files(pair.b, "remote_thumbnails") == []
    assert pair.b.get_success(cache.store.get_remote_media("a.test", mid)) is None
    assert not pair.b.get_success(cache.delete_cached("a.test", mid))
    # The next download fetches it again.
    bob.get(f"/_matrix/client/v1/media/download/a.test/{mid}", expect=200)
    assert len(_asked_of_a(pair, mid)) == 2
