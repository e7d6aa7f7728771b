"""Download headers: Content-Disposition, Content-Type and byte ranges."""

from __future__ import annotations

import pytest

from homeserver.api.media.serving import (
    content_disposition,
    content_type_header,
    media_response,
)
from tests.media.helpers import CLIENT_MEDIA, media_id, upload
from tests.support import User
from tests.support.server import TestServer


@pytest.mark.parametrize(
    ("media_type", "filename", "expected"),
    [
        ("image/png", "a.png", 'inline; filename="a.png"'),
        ("IMAGE/PNG; foo=bar", None, "inline"),
        ("text/html", "x.html", 'attachment; filename="x.html"'),
        ("image/svg+xml", "x.svg", 'attachment; filename="x.svg"'),
        ("application/pdf", 'a"b.pdf', "attachment; filename*=utf-8''a%22b.pdf"),
        ("text/plain", "a\r\nb", "inline; filename*=utf-8''a%0D%0Ab"),
        ("text/plain", "日本.txt", "inline; filename*=utf-8''%E6%97%A5%E6%9C%AC.txt"),
    ],
)
def test_content_disposition(
    media_type: str, filename: str | None, expected: str
) -> None:
    assert content_disposition(media_type, filename) == expected


def test_text_types_get_a_charset() -> None:
    assert content_type_header("text/plain") == "text/plain; charset=UTF-8"
    assert content_type_header("text/plain; charset=latin1") == (
        "text/plain; charset=latin1"
    )
    assert content_type_header("image/png") == "image/png"


@pytest.mark.parametrize(
    ("header", "code", "body"),
    [
        ("bytes=0-0", 206, b"0"),
        ("bytes=8-100", 206, b"89"),
        ("bytes=-100", 206, b"0123456789"),
        ("bytes=10-", 416, b""),
        ("bytes=-0", 416, b""),
        ("bytes=5-2", 200, b"0123456789"),
        ("items=0-1", 200, b"0123456789"),
        ("bytes=-", 200, b"0123456789"),
    ],
)
def test_ranges(header: str, code: int, body: bytes) -> None:
    response = media_response(b"0123456789", "video/mp4", None, header)
    assert (response.code, response.body) == (code, body)


def test_header_injection_in_an_upload_name_is_encoded(
    server: TestServer,
) -> None:
    alice: User = server.user("alice")
    mid = media_id(
        upload(alice, b"x", "text/plain", "a%0D%0ASet-Cookie:%20x=1")["content_uri"]
    )
    resp = alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200)
    assert resp.header("set-cookie") is None
    assert resp.header("content-disposition") == (
        "inline; filename*=utf-8''a%0D%0ASet-Cookie%3A%20x%3D1"
    )


def test_head_answers_headers_only(server: TestServer) -> None:
    alice: User = server.user("alice")
    mid = media_id(upload(alice, b"hello", "text/plain")["content_uri"])
    resp = alice.request("HEAD", f"{CLIENT_MEDIA}/download/test/{mid}", expect=200)
    assert resp.body == b""
    assert resp.header("content-length") == "5"
