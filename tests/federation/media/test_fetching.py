"""Fetching other servers' media: two Chatly servers over the loopback
federation (authenticated and legacy downloads, the cache, coalescing,
failures) and an older server without the federation media endpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.federation.media.old_server import (
    OldMediaServer,
    OldServer,
    SilentMediaServer,
)
from tests.federation.pair import Federation, FederationPair
from tests.media.helpers import upload
from tests.support.server import TestServer

CLIENT = "/_matrix/client/v1/media/download"
LEGACY = "/_matrix/media/v3/download"
FED_DOWNLOAD = "/_matrix/federation/v1/media/download/"


def _upload_on_a(pair: FederationPair, data: bytes, ctype: str, name: str) -> str:
    alice = pair.a.user("alice")
    uri = upload(alice, data, ctype, name)["content_uri"]
    return str(uri.rsplit("/", 1)[1])


def _remote_files(server: TestServer) -> list[Path]:
    root = server.hs.data_dir / "media_store" / "remote_content"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _cache_rows(server: TestServer) -> list[tuple[str, str]]:
    return server.get_success(
        server.db.run_interaction(
            "rows",
            lambda txn: [
                (r.server_name, r.media_id)
                for r in txn.query(
                    "SELECT server_name, media_id FROM remote_media_cache"
                )
            ],
        )
    )


def _fetches(fed: Federation, destination: str, media_id: str) -> list[str]:
    return [
        uri
        for _, dest, _, uri in fed.requests
        if dest == destination and media_id in uri
    ]


def test_authenticated_then_legacy_download_of_remote_media(
    pair: FederationPair,
) -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10
    mid = _upload_on_a(pair, data, "image/png", "cat.png")
    bob = pair.b.user("bob")

    resp = bob.get(f"{CLIENT}/a.test/{mid}", expect=200)
    assert resp.body == data
    assert resp.header("content-type") == "image/png"
    assert resp.header("content-disposition") == 'inline; filename="cat.png"'
    assert resp.header("x-content-type-options") == "nosniff"
    assert _fetches(pair, "a.test", mid) == [f"{FED_DOWNLOAD}{mid}?timeout_ms=20000"]

    # Cached: the legacy download, with another file name, asks a.test nothing.
    legacy = pair.b.request("GET", f"{LEGACY}/a.test/{mid}/other.png")
    assert legacy.code == 200 and legacy.body == data
    assert legacy.header("content-disposition") == 'inline; filename="other.png"'
    assert len(_fetches(pair, "a.test", mid)) == 1

    (path,) = _remote_files(pair.b)
    assert path.read_bytes() == data
    parts = path.relative_to(pair.b.hs.data_dir / "media_store").parts
    assert parts[:2] == ("remote_content", "a.test") and len(parts) == 5
    assert _cache_rows(pair.b) == [("a.test", mid)]


def test_legacy_download_fetches_too(pair: FederationPair) -> None:
    mid = _upload_on_a(pair, b"plain text", "text/plain", "t.txt")
    resp = pair.b.request("GET", f"/_matrix/media/r0/download/a.test/{mid}")
    assert resp.code == 200 and resp.body == b"plain text"
    assert resp.header("content-type") == "text/plain; charset=UTF-8"


def test_cache_serves_after_the_remote_goes_away(pair: FederationPair) -> None:
    mid = _upload_on_a(pair, b"keep me", "text/plain", "k.txt")
    bob = pair.b.user("bob")
    bob.get(f"{CLIENT}/a.test/{mid}", expect=200)
    pair.set_reachable("a.test", False)
    pair.pump(3600)
    resp = bob.get(f"{CLIENT}/a.test/{mid}", expect=200)
    assert resp.body == b"keep me"


def test_concurrent_downloads_fetch_once(pair: FederationPair) -> None:
    data = b"popular" * 1000
    mid = _upload_on_a(pair, data, "application/octet-stream", "p.bin")
    bob = pair.b.user("bob")
    pair.latency["a.test"] = 2
    pending = [
        pair.b.start_request("GET", f"{CLIENT}/a.test/{mid}", bob.token)
        for _ in range(5)
    ]
    pending.append(pair.b.start_request("GET", f"{LEGACY}/a.test/{mid}"))
    assert not any(p.done for p in pending)
    pair.pump(2)
    pair.pump(0)
    responses = [p.response() for p in pending]
    assert [r.code for r in responses] == [200] * 6
    assert all(r.body == data for r in responses)
    assert len(_fetches(pair, "a.test", mid)) == 1
    assert len(_remote_files(pair.b)) == 1
    assert _cache_rows(pair.b) == [("a.test", mid)]


def test_unreachable_remote_is_502_and_nothing_stored(pair: FederationPair) -> None:
    bob = pair.b.user("bob")
    pair.set_reachable("a.test", False)
    resp = bob.get(f"{CLIENT}/a.test/abcdefghijkl", expect=502)
    assert resp.json["errcode"] == "M_UNKNOWN"
    assert _remote_files(pair.b) == [] and _cache_rows(pair.b) == []


def test_unknown_remote_media_is_404(pair: FederationPair) -> None:
    bob = pair.b.user("bob")
    resp = bob.get(f"{CLIENT}/a.test/abcdefghijkl", expect=404)
    assert resp.json["errcode"] == "M_NOT_FOUND"
    assert _remote_files(pair.b) == [] and _cache_rows(pair.b) == []


def test_remote_file_over_max_upload_size_is_refused(
    make_pair: Callable[..., FederationPair],
) -> None:
    pair = make_pair(overrides_b={"media": {"max_upload_size": "1K"}})
    mid = _upload_on_a(pair, b"x" * 5000, "text/plain", "big.txt")
    bob = pair.b.user("bob")
    resp = bob.get(f"{CLIENT}/a.test/{mid}", expect=502)
    assert resp.json["errcode"] == "M_TOO_LARGE"
    assert _remote_files(pair.b) == [] and _cache_rows(pair.b) == []


def test_quarantined_cache_entry_is_not_served(pair: FederationPair) -> None:
    mid = _upload_on_a(pair, b"nasty", "text/plain", "n.txt")
    bob = pair.b.user("bob")
    bob.get(f"{CLIENT}/a.test/{mid}", expect=200)
    pair.b.get_success(
        pair.b.db.run_interaction(
            "quarantine",
            lambda txn: txn.execute(
                "UPDATE remote_media_cache SET quarantined = TRUE WHERE media_id = ?",
                (mid,),
            ),
        )
    )
    resp = bob.get(f"{CLIENT}/a.test/{mid}", expect=404)
    assert resp.json["errcode"] == "M_NOT_FOUND"
    assert len(_fetches(pair, "a.test", mid)) == 1


def test_bad_server_names_are_refused(pair: FederationPair) -> None:
    bob = pair.b.user("bob")
    for server in ("bad..name", "a_b.test", "%2E%2E"):
        resp = bob.get(f"{CLIENT}/{server}/abcdefghijkl")
        assert resp.code == 400, server
        assert resp.json["errcode"] == "M_INVALID_PARAM"
    assert _remote_files(pair.b) == []


def test_domain_whitelist_applies(make_pair: Callable[..., FederationPair]) -> None:
    pair = make_pair(overrides_b={"federation": {"domain_whitelist": ["c.test"]}})
    mid = _upload_on_a(pair, b"x", "text/plain", "x.txt")
    resp = pair.b.user("bob").get(f"{CLIENT}/a.test/{mid}", expect=403)
    assert resp.json["errcode"] == "M_FORBIDDEN"
    assert _fetches(pair, "a.test", mid) == []


@pytest.mark.parametrize(
    ("federation_answer", "v3_answer", "asked"),
    [
        ((404, "M_UNRECOGNIZED"), None, ["federation", "v3"]),
        ((405, None), None, ["federation", "v3"]),
        ((400, "M_UNRECOGNIZED"), (404, "M_UNRECOGNIZED"), ["federation", "v3", "r0"]),
    ],
)
def test_fallback_to_the_legacy_download(
    make_federation: Callable[[], Federation],
    federation_answer: tuple[int, str | None],
    v3_answer: tuple[int, str | None] | None,
    asked: list[str],
) -> None:
    fed = make_federation()
    b = fed.add_server("b.test")
    data = b"\x00old server bytes\r\n"
    old = OldMediaServer(
        "old.test",
        {"oldmedia1": ("image/gif", "old.gif", data)},
        federation_answer=federation_answer,
        v3_answer=v3_answer,
    )
    fed.servers["old.test"] = OldServer(old, fed.reactor)  # type: ignore[assignment]
    bob = b.user("bob")

    resp = bob.get(f"{CLIENT}/old.test/oldmedia1", expect=200)
    assert resp.body == data
    assert resp.header("content-type") == "image/gif"
    assert resp.header("content-disposition") == 'inline; filename="old.gif"'
    kinds = [
        "federation" if "/federation/" in uri else uri.split("/")[3] for uri in old.seen
    ]
    assert kinds == asked
    assert all("allow_remote=false" in uri for uri in old.seen[1:])

    # A later download is served from the cache.
    assert bob.get(f"{LEGACY}/old.test/oldmedia1", expect=200).body == data
    assert len(old.seen) == len(asked)


def test_a_real_404_is_not_a_reason_to_fall_back(
    make_federation: Callable[[], Federation],
) -> None:
    fed = make_federation()
    b = fed.add_server("b.test")
    old = OldMediaServer("old.test", {}, federation_answer=None)
    fed.servers["old.test"] = OldServer(old, fed.reactor)  # type: ignore[assignment]
    resp = b.user("bob").get(f"{CLIENT}/old.test/missing1", expect=404)
    assert resp.json["errcode"] == "M_NOT_FOUND"
    assert len(old.seen) == 1


def test_location_to_a_denied_address_is_never_connected_to(
    make_federation: Callable[[], Federation],
) -> None:
    fed = make_federation()
    b = fed.add_server("b.test")
    old = OldMediaServer(
        "old.test",
        {},
        federation_answer=None,
        location="http://127.0.0.1:8999/secret",
    )
    fed.servers["old.test"] = OldServer(old, fed.reactor)  # type: ignore[assignment]
    resp = b.user("bob").get(f"{CLIENT}/old.test/redirected1", expect=502)
    assert resp.json["errcode"] == "M_UNKNOWN"
    assert fed.reactor.tcpClients == []
    assert _remote_files(b) == [] and _cache_rows(b) == []


def test_legacy_freeze_applies_to_remote_media(
    make_pair: Callable[..., FederationPair],
) -> None:
    """With ``enable_authenticated_media`` on (the default outside tests),
    the legacy routes neither fetch remote media nor serve what was fetched
    while it is on, as Synapse; the authenticated route does both."""
    frozen = {"media": {"enable_authenticated_media": True}}
    pair = make_pair(overrides_b=frozen)
    mid = _upload_on_a(pair, b"new file", "text/plain", "n.txt")
    resp = pair.b.request("GET", f"{LEGACY}/a.test/{mid}")
    assert resp.code == 404 and resp.json["errcode"] == "M_NOT_FOUND"
    assert _fetches(pair, "a.test", mid) == []

    bob = pair.b.user("bob")
    assert bob.get(f"{CLIENT}/a.test/{mid}", expect=200).body == b"new file"
    resp = pair.b.request("GET", f"{LEGACY}/a.test/{mid}")
    assert resp.code == 404
    thumb = pair.b.request(
        "GET", f"/_matrix/media/v3/thumbnail/a.test/{mid}?width=32&height=32"
    )
    assert thumb.code == 404
    assert len(_fetches(pair, "a.test", mid)) == 1


def test_a_remote_that_never_answers_times_out(
    make_federation: Callable[[], Federation],
) -> None:
    fed = make_federation()
    b = fed.add_server("b.test", {"federation": {"request_timeout": "5s"}})
    silent = SilentMediaServer()
    fed.servers["slow.test"] = OldServer(silent, fed.reactor)  # type: ignore[assignment]
    bob = b.user("bob")
    pending = b.start_request("GET", f"{CLIENT}/slow.test/slowmedia1", bob.token)
    fed.pump(4)
    assert not pending.done and len(silent.seen) == 1
    fed.pump(1)
    fed.pump(0)
    resp = pending.response()
    assert resp.code == 502 and resp.json["errcode"] == "M_UNKNOWN"
    assert _remote_files(b) == [] and _cache_rows(b) == []
