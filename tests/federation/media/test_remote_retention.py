"""Retention of the remote media cache (media_retention.remote_media_lifetime)
between two Chatly servers on the test clock: unused cached copies go (files,
thumbnails and rows) and are fetched again when asked for; used ones stay."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.federation.media.test_fetching import _cache_rows, _fetches
from tests.federation.pair import FederationPair
from tests.media.helpers import upload
from tests.media.images import photo
from tests.support.server import TestServer

CLIENT = "/_matrix/client/v1/media"
HOUR = 3600


def _id(uri: str) -> str:
    return uri.rsplit("/", 1)[1]


def _remote_files(server: TestServer) -> list[Path]:
    root = server.hs.data_dir / "media_store"
    return [
        p
        for sub in ("remote_content", "remote_thumbnails")
        if (root / sub).exists()
        for p in (root / sub).rglob("*")
        if p.is_file()
    ]


def test_unused_remote_media_expires_and_used_stays(
    make_pair: Callable[..., FederationPair],
) -> None:
    pair = make_pair(
        overrides_b={"media": {"media_retention": {"remote_media_lifetime": "1d"}}}
    )
    alice = pair.a.user("alice")
    used = _id(upload(alice, b"used", "text/plain")["content_uri"])
    unused = _id(upload(alice, photo(320, 240), "image/jpeg")["content_uri"])
    bob = pair.b.user("bob")
    bob.get(f"{CLIENT}/download/a.test/{used}", expect=200)
    bob.get(f"{CLIENT}/download/a.test/{unused}", expect=200)
    bob.get(f"{CLIENT}/thumbnail/a.test/{unused}?width=32&height=32", expect=200)
    assert len(_remote_files(pair.b)) >= 3  # two files and a thumbnail

    pair.b.advance(20 * HOUR)
    bob.get(f"{CLIENT}/download/a.test/{used}", expect=200)
    pair.b.advance(10 * HOUR)

    assert _cache_rows(pair.b) == [("a.test", used)]
    assert [p.read_bytes() for p in _remote_files(pair.b)] == [b"used"]
    # The origin still has it: asked for again, it is fetched again.
    resp = bob.get(f"{CLIENT}/download/a.test/{unused}", expect=200)
    assert resp.body == photo(320, 240)
    assert len(_fetches(pair, "a.test", unused)) == 2
    assert len(_fetches(pair, "a.test", used)) == 1
    # Nothing local goes with a remote lifetime alone.
    bob_media = _id(upload(bob, b"bob's")["content_uri"])
    pair.b.advance(400 * 24 * HOUR)
    assert bob.get(f"{CLIENT}/download/b.test/{bob_media}", expect=200).body == b"bob's"
