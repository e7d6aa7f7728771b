"""Bad input to the thumbnail endpoints over HTTP (issue 12, Tests: bad input).

What ``test_thumbnails.py`` does not already cover: broken and bomb images
asked for at an exact size with ``dynamic_thumbnails`` on (the made-on-request
path) and at a configured size, through both routes; bombs in PNG, GIF and
JPEG headers and a real zlib bomb; a real image uploaded under a type that
is not an image; traversal in the server name and media ID of the legacy
route. Each gets a clear 4xx and nothing is stored for a thumbnail: no row
in ``local_media_thumbnails`` and no file under ``local_thumbnails``; the
upload itself stays as it was.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from tests.media.helpers import (
    CLIENT_MEDIA,
    MEDIA,
    media_id,
    media_rows,
    stored_files,
    upload,
)
from tests.media.images import encode, photo, png_declaring
from tests.support import User
from tests.support.server import TestServer

ROUTES = (f"{CLIENT_MEDIA}/thumbnail", f"{MEDIA}/thumbnail")
# A configured size (made on upload when it can be) and one that is not.
QUERIES = ("width=96&height=96&method=crop", "width=150&height=110&method=scale")


def thumbnail_rows(server: TestServer) -> int:
    row = server.get_success(
        server.db.run_interaction(
            "count_thumbnails",
            lambda txn: txn.query_one(
                "SELECT COUNT(*) AS n FROM local_media_thumbnails"
            ),
        )
    )
    return int(row.n)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data))
    )


def zlib_bomb_png(width: int = 6000, height: int = 6000) -> bytes:
    """A real, complete greyscale PNG of zeros: ~36 MB of pixels in a few
    tens of KB (compressed in slices, so the test never holds 36 MB)."""
    squeeze = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte, then the pixels
    idat = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def gif_declaring(width: int, height: int) -> bytes:
    """A small GIF whose screen and frame declare width x height."""
    data = bytearray(encode(Image.new("P", (8, 8)), "GIF"))
    struct.pack_into("<HH", data, 6, width, height)  # logical screen
    frame = data.index(b"\x2c")  # image descriptor: left, top, width, height
    struct.pack_into("<HH", data, frame + 5, width, height)
    return bytes(data)


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small JPEG whose start-of-frame declares width x height."""
    data = bytearray(photo(16, 16))
    sof = data.index(b"\xff\xc0")  # marker, length (2), precision (1)
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


# (name, bytes, declared type, status, errcode)
BAD_IMAGES: list[tuple[str, Callable[[], bytes], str, int, str]] = [
    (
        "truncated PNG",
        lambda: truncated(encode(_noise(), "PNG")),
        "image/png",
        400,
        "M_UNKNOWN",
    ),
    (
        "truncated GIF",
        lambda: truncated(encode(_noise(), "GIF")),
        "image/gif",
        400,
        "M_UNKNOWN",
    ),
    (
        "PNG declaring 100000x100000",
        lambda: png_declaring(100_000, 100_000),
        "image/png",
        413,
        "M_TOO_LARGE",
    ),
    ("zlib bomb PNG 6000x6000", zlib_bomb_png, "image/png", 413, "M_TOO_LARGE"),
    (
        "GIF declaring 65535x65535",
        lambda: gif_declaring(65535, 65535),
        "image/gif",
        413,
        "M_TOO_LARGE",
    ),
    (
        "JPEG declaring 65000x65000",
        lambda: jpeg_declaring(65000, 65000),
        "image/jpeg",
        413,
        "M_TOO_LARGE",
    ),
    (
        "text uploaded as a JPEG",
        lambda: b"just some words",
        "image/jpeg",
        400,
        "M_UNKNOWN",
    ),
    (
        "a PNG uploaded as text",
        lambda: encode(_noise(), "PNG"),
        "text/plain",
        400,
        "M_UNKNOWN",
    ),
    (
        "a PNG uploaded as SVG",
        lambda: encode(_noise(), "PNG"),
        "image/svg+xml",
        400,
        "M_UNKNOWN",
    ),
]


def _noise() -> Image.Image:
    return Image.effect_noise((300, 200), 50).convert("RGB")


@pytest.mark.parametrize("dynamic", [False, True], ids=["closest", "dynamic"])
@pytest.mark.parametrize(
    ("data", "ctype", "status", "errcode"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_IMAGES],
)
def test_bad_images_get_a_4xx_and_no_thumbnail(
    make_server: Any,
    dynamic: bool,
    data: Callable[[], bytes],
    ctype: str,
    status: int,
    errcode: str,
) -> None:
    server = make_server({"media": {"dynamic_thumbnails": dynamic}})
    alice = server.user("alice")
    content = data()
    mid = media_id(upload(alice, content, ctype)["content_uri"])
    assert thumbnail_rows(server) == 0

    for route in ROUTES:
        for query in QUERIES:
            resp = alice.get(f"{route}/test/{mid}?{query}")
            assert (resp.code, resp.json["errcode"]) == (status, errcode), resp.body
            assert resp.json["error"]

    assert thumbnail_rows(server) == 0
    assert [p.name for p in stored_files(server)] == [mid[4:]]
    assert media_rows(server) == 1
    # The upload stands, unchanged.
    got = alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200)
    assert got.body == content


@pytest.mark.parametrize(
    "bad_server",
    ["..%2F..%2Fetc", "test%2F..%2F..", "test%5C..", "te%00st", "test%20.org"],
)
def test_traversal_in_the_server_name(
    server: TestServer, alice: User, bad_server: str
) -> None:
    mid = media_id(upload(alice, photo(100, 80), "image/jpeg")["content_uri"])
    made = thumbnail_rows(server)
    for route in ROUTES:
        resp = alice.get(f"{route}/{bad_server}/{mid}?{QUERIES[1]}")
        assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM")
    assert thumbnail_rows(server) == made


@pytest.mark.parametrize(
    "bad_id", ["..%2F..%2Fetc%2Fpasswd", "..", "%2E%2E", "a%5Cb", "abc%00def"]
)
def test_traversal_in_the_media_id(
    server: TestServer, alice: User, bad_id: str
) -> None:
    for route in ROUTES:
        resp = alice.get(f"{route}/test/{bad_id}?{QUERIES[0]}")
        assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM")
    assert thumbnail_rows(server) == 0
    assert stored_files(server) == []


@pytest.fixture
def alice(server: TestServer) -> User:
    return server.user("alice")
