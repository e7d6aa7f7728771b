"""Bad input to the content repository over HTTP (issue 12, Tests: bad input).

Each request gets a clear 4xx with ``{errcode, error}`` and leaves nothing
stored: no new file under the media store and no new ``local_media`` row.
"""

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
from tests.support.server import FakeResponse, TestServer

DOWNLOADS = (f"{CLIENT_MEDIA}/download", f"{MEDIA}/download")


@pytest.fixture
def alice(server: TestServer) -> User:
    return server.user("alice")


@pytest.fixture
def existing(server: TestServer, alice: User) -> str:
    """One good upload, so that "nothing stored" means "nothing more"."""
    return media_id(upload(alice, b"the only file")["content_uri"])


def assert_refused(
    resp: FakeResponse, code: int = 400, errcode: str = "M_INVALID_PARAM"
) -> None:
    assert (resp.code, resp.json["errcode"]) == (code, errcode), resp.body[:200]
    assert isinstance(resp.json["error"], str) and resp.json["error"]


def assert_only(server: TestServer, files: int, rows: int) -> None:
    assert len(stored_files(server)) == files
    assert media_rows(server) == rows


@pytest.mark.parametrize(
    "bad_id",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "..",
        "%2E%2E",
        "a%2Fb%2Fc%2Fdefg",
        "..%5C..%5Cwindows",
        "abc%00def",
        "abcdef%20ghij",
        "%FF%FEabcdef",
    ],
)
def test_traversal_in_the_media_id(
    server: TestServer, alice: User, existing: str, bad_id: str
) -> None:
    for prefix in DOWNLOADS:
        assert_refused(alice.get(f"{prefix}/test/{bad_id}"))
        assert_refused(alice.get(f"{prefix}/test/{bad_id}/name.txt"))
    assert_refused(alice.put(f"{MEDIA}/upload/test/{bad_id}", b"overwrite?"))
    assert_only(server, files=1, rows=1)


@pytest.mark.parametrize(
    "bad_server",
    [
        "..%2F..%2Fetc",
        "test%2F..%2F..",
        "test%5C..",
        "te%00st",
        "test%20.org",
        "[::1",
        "test:99999999",
    ],
)
def test_traversal_in_the_server_name(
    server: TestServer, alice: User, existing: str, bad_server: str
) -> None:
    for prefix in DOWNLOADS:
        assert_refused(alice.get(f"{prefix}/{bad_server}/{existing}"))
    assert_refused(alice.put(f"{MEDIA}/upload/{bad_server}/{existing}", b"again"))
    assert_only(server, files=1, rows=1)
    # Still there, unharmed.
    got = alice.get(f"{CLIENT_MEDIA}/download/test/{existing}", expect=200)
    assert got.body == b"the only file"


def test_dot_dot_as_a_server_name_is_refused(
    server: TestServer, alice: User, existing: str
) -> None:
    # ".." fits the spec's server name grammar, but as another server's name
    # it would be a directory of the remote media cache: refused before any
    # fetch (services/media/remote_paths.py).
    for prefix in DOWNLOADS:
        assert_refused(alice.get(f"{prefix}/../{existing}"))
    assert_only(server, files=1, rows=1)


@pytest.mark.parametrize(
    "bad_name",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "a%2Fb.txt",
        "..",
        "%2E%2E",
        ".",
        "..%5C..%5Cwin.ini",
        "a%5Cb.txt",
        "a%00b.txt",
        "%FF.txt",
    ],
)
def test_traversal_in_the_download_file_name(
    server: TestServer, alice: User, existing: str, bad_name: str
) -> None:
    for prefix in DOWNLOADS:
        assert_refused(alice.get(f"{prefix}/test/{existing}/{bad_name}"))
    assert_only(server, files=1, rows=1)


def test_a_plain_file_name_with_dots_is_fine(
    server: TestServer, alice: User, existing: str
) -> None:
    for name in ("report..final.pdf", ".hidden", "%C3%A9t%C3%A9.txt"):
        resp = alice.get(f"{CLIENT_MEDIA}/download/test/{existing}/{name}", expect=200)
        assert resp.body == b"the only file"


def test_a_nul_in_the_upload_name_is_refused(server: TestServer, alice: User) -> None:
    for query in ("filename=a%00b.txt", "filename=%FF"):
        resp = alice.request(
            "POST",
            f"{MEDIA}/upload?{query}",
            b"data",
            headers={"Content-Type": "text/plain"},
        )
        assert_refused(resp)
    assert_only(server, files=0, rows=0)


def test_oversized_uploads_leave_no_file_and_no_row(make_server: Any) -> None:
    server = make_server({"media": {"max_upload_size": "1K"}})
    alice = server.user("alice")
    resp = alice.request(
        "POST",
        f"{MEDIA}/upload",
        b"x" * 1025,
        headers={"Content-Type": "text/plain"},
    )
    assert_refused(resp, 413, "M_TOO_LARGE")
    chunk = b"y" * 700
    raw = (
        (
            f"POST {MEDIA}/upload HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {alice.token}\r\n"
            "Content-Type: application/octet-stream\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ).encode()
        + (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 2
        + b"0\r\n\r\n"
    )
    assert_refused(server.raw_request(raw), 413, "M_TOO_LARGE")
    assert_only(server, files=0, rows=0)

    # An asynchronous upload too big for its ID: the ID stays pending and
    # free for a file that fits.
    created = alice.post("/_matrix/media/v1/create", {}, expect=200).json
    mid = media_id(created["content_uri"])
    resp = alice.put(f"{MEDIA}/upload/test/{mid}", b"z" * 1025)
    assert_refused(resp, 413, "M_TOO_LARGE")
    assert_only(server, files=0, rows=1)
    alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=504)
    alice.put(f"{MEDIA}/upload/test/{mid}", b"z" * 1024, expect=200)
    assert_only(server, files=1, rows=1)


def test_a_body_over_the_http_limit_is_not_even_buffered(make_server: Any) -> None:
    server = make_server(
        {"http": {"max_request_body_size": "1K"}, "media": {"max_upload_size": "2K"}}
    )
    alice = server.user("alice")
    resp = alice.request("POST", f"{MEDIA}/upload", b"x" * 4096)
    assert_refused(resp, 413, "M_TOO_LARGE")
    assert_only(server, files=0, rows=0)
