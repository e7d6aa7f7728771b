"""The content repository over HTTP: upload, async upload, download, config."""

from __future__ import annotations

from typing import Any

import pytest

from tests.media.helpers import (
    CLIENT_MEDIA,
    MEDIA,
    media_id,
    media_rows,
    stored_files,
    upload,
)
from tests.support import User
from tests.support.server import TestServer


@pytest.fixture
def alice(server: TestServer) -> User:
    return server.user("alice")


@pytest.fixture
def bob(server: TestServer) -> User:
    return server.user("bob")


def test_upload_then_download_authenticated_and_legacy(
    server: TestServer, alice: User
) -> None:
    uri = upload(alice, b"hello world", "text/plain", "hi.txt")["content_uri"]
    mid = media_id(uri)
    (path,) = stored_files(server)
    assert path.read_bytes() == b"hello world"
    assert path.relative_to(server.hs.data_dir / "media_store").parts == (
        "local_content",
        mid[0:2],
        mid[2:4],
        mid[4:],
    )

    resp = alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200)
    assert resp.body == b"hello world"
    assert resp.header("content-type") == "text/plain; charset=UTF-8"
    assert resp.header("content-disposition") == 'inline; filename="hi.txt"'
    assert resp.header("x-content-type-options") == "nosniff"
    assert "sandbox" in (resp.header("content-security-policy") or "")
    assert resp.header("cross-origin-resource-policy") == "cross-origin"

    legacy = server.request("GET", f"{MEDIA}/download/test/{mid}")
    assert legacy.code == 200 and legacy.body == b"hello world"
    r0 = server.request("GET", f"/_matrix/media/r0/download/test/{mid}/other.txt")
    assert r0.code == 200
    assert r0.header("content-disposition") == 'inline; filename="other.txt"'


def test_authenticated_download_needs_a_token(server: TestServer, alice: User) -> None:
    mid = media_id(upload(alice, b"x")["content_uri"])
    resp = server.request("GET", f"{CLIENT_MEDIA}/download/test/{mid}")
    assert resp.code == 401
    assert resp.json["errcode"] == "M_MISSING_TOKEN"


def test_unsafe_type_is_an_attachment_and_unicode_names_are_encoded(
    server: TestServer, alice: User
) -> None:
    mid = media_id(upload(alice, b"<script>", "text/html")["content_uri"])
    resp = alice.get(f"{CLIENT_MEDIA}/download/test/{mid}/h%C3%A9llo.html", expect=200)
    assert resp.header("content-disposition") == (
        "attachment; filename*=utf-8''h%C3%A9llo.html"
    )
    resp = alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200)
    assert resp.header("content-disposition") == "attachment"


def test_r0_upload_and_default_content_type(server: TestServer, alice: User) -> None:
    resp = server.request(
        "POST", "/_matrix/media/r0/upload", b"\x00\x01", token=alice.token
    )
    assert resp.code == 200
    mid = media_id(resp.json["content_uri"])
    got = alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200)
    assert got.header("content-type") == "application/octet-stream"
    assert got.body == b"\x00\x01"


def test_config_answers_the_upload_limit(server: TestServer, alice: User) -> None:
    for path in (
        f"{CLIENT_MEDIA}/config",
        f"{MEDIA}/config",
        "/_matrix/media/r0/config",
    ):
        assert alice.get(path, expect=200).json == {"m.upload.size": 50 * 1024 * 1024}


def test_too_large_upload_is_413_and_stores_nothing(
    make_server: Any,
) -> None:
    server = make_server({"media": {"max_upload_size": "1K"}})
    alice = server.user("alice")
    resp = upload(alice, b"x" * 1025, expect=413)
    assert resp["errcode"] == "M_TOO_LARGE"
    assert stored_files(server) == []
    assert alice.get(f"{MEDIA}/config", expect=200).json == {"m.upload.size": 1024}
    upload(alice, b"x" * 1024)


def test_upload_bigger_than_json_limit_is_allowed_up_to_media_limit(
    make_server: Any,
) -> None:
    server = make_server(
        {"http": {"max_request_body_size": "1K"}, "media": {"max_upload_size": "4K"}}
    )
    alice = server.user("alice")
    mid = media_id(upload(alice, b"y" * 3000)["content_uri"])
    assert alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200).body == (
        b"y" * 3000
    )
    # Other endpoints keep the JSON limit.
    resp = alice.put(
        "/profile/" + alice.user_id + "/displayname", {"displayname": "z" * 2000}
    )
    assert resp.code == 413


@pytest.mark.parametrize(
    "path",
    [
        "/download/test/..%2F..%2Fetc",
        "/download/test/..",
        "/download/test/a%2Fb%2Fc%2Fdefg",
        "/download/test/abc%00def",
    ],
)
def test_malformed_media_ids_are_refused(
    server: TestServer, alice: User, path: str
) -> None:
    resp = alice.get(f"{CLIENT_MEDIA}{path}")
    assert resp.code in (400, 404), resp.code
    assert resp.json["errcode"] in ("M_INVALID_PARAM", "M_NOT_FOUND")


def test_unknown_media_is_404_unreachable_remote_502(
    server: TestServer, alice: User
) -> None:
    resp = alice.get(f"{CLIENT_MEDIA}/download/test/abcdefghijkl", expect=404)
    assert resp.json["errcode"] == "M_NOT_FOUND"
    # Another server's media is fetched over federation (tests/federation/
    # media/); test servers have no network, as when the remote is down.
    mid = media_id(upload(alice, b"x")["content_uri"])
    resp = alice.get(f"{CLIENT_MEDIA}/download/elsewhere.org/{mid}", expect=502)
    assert resp.json["errcode"] == "M_UNKNOWN"


def test_async_upload(server: TestServer, alice: User, bob: User) -> None:
    created = alice.post("/_matrix/media/v1/create", {}, expect=200).json
    mid = media_id(created["content_uri"])
    assert created["unused_expires_at"] > 0
    # Not uploaded yet.
    resp = alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=504)
    assert resp.json["errcode"] == "M_NOT_YET_UPLOADED"
    # Someone else may not upload to it.
    resp = bob.put(f"{MEDIA}/upload/test/{mid}", b"theirs", expect=403)
    assert resp.json["errcode"] == "M_FORBIDDEN"
    assert stored_files(server) == []

    alice.request(
        "PUT",
        f"{MEDIA}/upload/test/{mid}?filename=a.png",
        b"\x89PNG",
        headers={"Content-Type": "image/png"},
        expect=200,
    )
    got = alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200)
    assert got.body == b"\x89PNG"
    assert got.header("content-type") == "image/png"
    assert got.header("content-disposition") == 'inline; filename="a.png"'

    resp = alice.put(f"{MEDIA}/upload/test/{mid}", b"again", expect=409)
    assert resp.json["errcode"] == "M_CANNOT_OVERWRITE_MEDIA"
    assert alice.get(f"{CLIENT_MEDIA}/download/test/{mid}").body == b"\x89PNG"


def test_async_upload_expires_and_pending_uploads_are_limited(
    make_server: Any,
) -> None:
    server = make_server(
        {"media": {"max_pending_uploads": 2, "unused_expiration_time": "1m"}}
    )
    alice = server.user("alice")
    first = media_id(
        alice.post("/_matrix/media/v1/create", {}, expect=200).json["content_uri"]
    )
    alice.post("/_matrix/media/v1/create", {}, expect=200)
    resp = alice.post("/_matrix/media/v1/create", {}, expect=429)
    assert resp.json["errcode"] == "M_LIMIT_EXCEEDED"

    server.advance(61)
    resp = alice.put(f"{MEDIA}/upload/test/{first}", b"late", expect=404)
    assert resp.json["errcode"] == "M_NOT_FOUND"
    assert stored_files(server) == []
    # Expired ones no longer count.
    alice.post("/_matrix/media/v1/create", {}, expect=200)


def test_upload_to_unknown_or_malformed_id(server: TestServer, alice: User) -> None:
    alice.put(f"{MEDIA}/upload/test/abcdefghijkl", b"x", expect=404)
    alice.put(f"{MEDIA}/upload/test/..%2Fescape", b"x", expect=400)
    assert stored_files(server) == []


def test_range_requests(server: TestServer, alice: User) -> None:
    mid = media_id(upload(alice, b"0123456789", "video/mp4")["content_uri"])
    url = f"{CLIENT_MEDIA}/download/test/{mid}"
    resp = alice.request("GET", url, headers={"Range": "bytes=2-5"}, expect=206)
    assert resp.body == b"2345"
    assert resp.header("content-range") == "bytes 2-5/10"
    resp = alice.request("GET", url, headers={"Range": "bytes=-3"}, expect=206)
    assert resp.body == b"789"
    resp = alice.request("GET", url, headers={"Range": "bytes=7-"}, expect=206)
    assert resp.body == b"789"
    resp = alice.request("GET", url, headers={"Range": "bytes=20-"}, expect=416)
    assert resp.header("content-range") == "bytes */10"
    assert alice.request(
        "GET", url, headers={"Range": "bytes=1-2,4-5"}, expect=200
    ).body == (b"0123456789")


def test_upload_needs_a_token(server: TestServer) -> None:
    resp = server.request("POST", f"{MEDIA}/upload", b"x")
    assert resp.code == 401
    assert stored_files(server) == []


@pytest.mark.parametrize("ctype", ["image", "not a type", "a/b\x7f", "x/" + "y" * 300])
def test_malformed_content_type_is_400_and_stores_nothing(
    server: TestServer, alice: User, ctype: str
) -> None:
    resp = upload(alice, b"data", ctype, expect=400)
    assert resp["errcode"] == "M_INVALID_PARAM"
    assert media_rows(server) == 0
    created = alice.post("/_matrix/media/v1/create", {}, expect=200).json
    mid = media_id(created["content_uri"])
    resp = alice.request(
        "PUT",
        f"{MEDIA}/upload/test/{mid}",
        b"data",
        headers={"Content-Type": ctype},
        expect=400,
    )
    assert stored_files(server) == []
    # The ID is still free for a good upload.
    alice.request(
        "PUT",
        f"{MEDIA}/upload/test/{mid}",
        b"data",
        headers={"Content-Type": "image/jpeg; charset=binary"},
        expect=200,
    )


def test_guests_may_download(make_server: Any) -> None:
    server = make_server({"registration": {"allow_guest_access": True}})
    alice = server.user("alice")
    mid = media_id(upload(alice, b"shared")["content_uri"])
    guest = server.request("POST", "/_matrix/client/v3/register?kind=guest", {})
    assert guest.code == 200, guest.json
    resp = server.request(
        "GET", f"{CLIENT_MEDIA}/download/test/{mid}", token=guest.json["access_token"]
    )
    assert resp.code == 200 and resp.body == b"shared"
    resp = server.request(
        "POST", f"{MEDIA}/upload", b"x", token=guest.json["access_token"]
    )
    assert resp.code == 403
    assert resp.json["errcode"] == "M_GUEST_ACCESS_FORBIDDEN"


def test_a_failed_write_leaves_no_record_and_frees_the_async_id(
    server: TestServer, alice: User
) -> None:
    root = server.hs.data_dir / "media_store"
    root.mkdir(parents=True, exist_ok=True)
    blocker = root / "local_content"
    blocker.write_bytes(b"")  # a file where the shard directories must go

    resp = upload(alice, b"data", expect=500)
    assert resp["errcode"] == "M_UNKNOWN"
    rows = server.get_success(
        server.db.run_interaction(
            "count", lambda txn: txn.query_one("SELECT COUNT(*) AS n FROM local_media")
        )
    )
    assert rows.n == 0

    mid = media_id(alice.post("/_matrix/media/v1/create", {}).json["content_uri"])
    alice.put(f"{MEDIA}/upload/test/{mid}", b"data", expect=500)
    alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=504)

    blocker.unlink()
    alice.put(f"{MEDIA}/upload/test/{mid}", b"data", expect=200)
    assert alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200).body == b"data"
