"""Thumbnails over HTTP: made on upload, chosen or made on demand, stored, served.

Results are read back with Pillow: sizes, formats, crops, aspect ratios,
EXIF rotation and animation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from homeserver.storage.database import Transaction
from homeserver.storage.stores.media_thumbnails import StoredThumbnail
from tests.media.helpers import CLIENT_MEDIA, MEDIA, media_id, upload
from tests.media.images import (
    BLUE,
    RED,
    close_to,
    gif_animation,
    opened,
    photo,
    png_declaring,
)
from tests.support import User
from tests.support.server import FakeResponse, TestServer


@pytest.fixture
def alice(server: TestServer) -> User:
    return server.user("alice")


def thumbnail(
    user: User, mid: str, expect: int = 200, server_name: str = "test", **query: Any
) -> FakeResponse:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return user.request(
        "GET",
        f"{CLIENT_MEDIA}/thumbnail/{server_name}/{mid}?{params}",
        expect=expect,
    )


def rows(server: TestServer, mid: str) -> list[StoredThumbnail]:
    found: list[StoredThumbnail] = server.get_success(
        server.hs.media.thumbnails.store.get_thumbnails(mid)
    )
    return found


def thumbnail_files(server: TestServer) -> list[Path]:
    root = server.hs.data_dir / "media_store" / "local_thumbnails"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_upload_of_an_image_makes_every_configured_size(
    server: TestServer, alice: User
) -> None:
    mid = media_id(upload(alice, photo(1000, 500), "image/jpeg")["content_uri"])
    made = {(r.width, r.height, r.method, r.content_type) for r in rows(server, mid)}
    assert made == {
        (32, 32, "crop", "image/jpeg"),
        (96, 96, "crop", "image/jpeg"),
        (320, 240, "scale", "image/jpeg"),
        (640, 480, "scale", "image/jpeg"),
        (800, 600, "scale", "image/jpeg"),
    }
    files = thumbnail_files(server)
    assert len(files) == 5
    base = server.hs.data_dir / "media_store" / "local_thumbnails"
    assert {f.relative_to(base).parts[:3] for f in files} == {
        (mid[0:2], mid[2:4], mid[4:])
    }
    assert (base / mid[0:2] / mid[2:4] / mid[4:] / "32-32-image-jpeg-crop").is_file()
    assert all(not r.animated for r in rows(server, mid))


def test_scale_and_crop_through_both_routes(server: TestServer, alice: User) -> None:
    mid = media_id(upload(alice, photo(1000, 500), "image/jpeg")["content_uri"])

    scaled = thumbnail(alice, mid, width=320, height=240, method="scale")
    assert scaled.header("content-type") == "image/jpeg"
    assert scaled.header("content-disposition") == "inline"
    assert scaled.header("x-content-type-options") == "nosniff"
    assert "sandbox" in (scaled.header("content-security-policy") or "")
    image = opened(scaled.body)
    assert image.format == "JPEG"
    assert image.size == (320, 160)  # the aspect ratio kept
    assert close_to(image.getpixel((10, 80)), RED)
    assert close_to(image.getpixel((310, 80)), BLUE)

    cropped = thumbnail(alice, mid, width=96, height=96, method="crop")
    image = opened(cropped.body)
    assert image.size == (96, 96)
    assert close_to(image.getpixel((5, 48)), RED)
    assert close_to(image.getpixel((90, 48)), BLUE)

    # The legacy routes need no token, and default to scale.
    legacy = server.request("GET", f"{MEDIA}/thumbnail/test/{mid}?width=640&height=480")
    assert legacy.code == 200
    assert opened(legacy.body).size == (640, 320)
    r0 = server.request(
        "GET", f"/_matrix/media/r0/thumbnail/test/{mid}?width=32&height=32&method=crop"
    )
    assert r0.code == 200 and opened(r0.body).size == (32, 32)


def test_authenticated_route_needs_a_token(server: TestServer, alice: User) -> None:
    mid = media_id(upload(alice, photo(100, 100), "image/jpeg")["content_uri"])
    resp = server.request(
        "GET", f"{CLIENT_MEDIA}/thumbnail/test/{mid}?width=32&height=32"
    )
    assert resp.code == 401
    assert resp.json["errcode"] == "M_MISSING_TOKEN"


def test_other_sizes_get_the_closest_configured_one(
    server: TestServer, alice: User
) -> None:
    mid = media_id(upload(alice, photo(1000, 500), "image/jpeg")["content_uri"])
    # 50x50 crop: the 96x96 crop (at least as large).
    assert opened(
        thumbnail(alice, mid, width=50, height=50, method="crop").body
    ).size == (
        96,
        96,
    )
    # 300x300 scale: the 320x240 box.
    assert opened(thumbnail(alice, mid, width=300, height=300).body).size == (320, 160)
    # Nothing new was made.
    assert len(rows(server, mid)) == 5


def test_small_images_are_not_enlarged(server: TestServer, alice: User) -> None:
    mid = media_id(upload(alice, photo(100, 50), "image/jpeg")["content_uri"])
    image = opened(thumbnail(alice, mid, width=800, height=600).body)
    assert image.size == (100, 50)


def test_exif_orientation_is_applied(server: TestServer, alice: User) -> None:
    # Stored 400x200 (red left, blue right) with orientation 6 (rotate 90
    # clockwise): shown 200x400, red on top.
    mid = media_id(
        upload(alice, photo(400, 200, orientation=6), "image/jpeg")["content_uri"]
    )
    image = opened(thumbnail(alice, mid, width=320, height=240).body)
    assert image.size == (120, 240)
    assert close_to(image.getpixel((60, 10)), RED)
    assert close_to(image.getpixel((60, 230)), BLUE)
    assert image.getexif().get(0x0112) in (None, 1)


def test_animated_gif_animated_on_request_only(server: TestServer, alice: User) -> None:
    mid = media_id(upload(alice, gif_animation(4), "image/gif")["content_uri"])

    still = thumbnail(alice, mid, width=96, height=96, method="crop")
    assert still.header("content-type") == "image/png"
    assert getattr(opened(still.body), "n_frames", 1) == 1

    moving = thumbnail(alice, mid, width=96, height=96, method="crop", animated="true")
    assert moving.header("content-type") == "image/gif"
    image = opened(moving.body)
    assert image.size == (96, 96)
    assert getattr(image, "n_frames", 1) == 4
    # Made on demand and kept for the next request.
    animated = [r for r in rows(server, mid) if r.animated]
    assert [(r.width, r.height, r.method, r.content_type) for r in animated] == [
        (96, 96, "crop", "image/gif")
    ]
    again = thumbnail(alice, mid, width=96, height=96, method="crop", animated="true")
    assert again.body == moving.body

    explicit_still = thumbnail(alice, mid, width=96, height=96, animated="false")
    assert explicit_still.header("content-type") == "image/png"


def test_missing_thumbnail_is_made_on_demand(server: TestServer, alice: User) -> None:
    mid = media_id(upload(alice, photo(1000, 500), "image/jpeg")["content_uri"])
    for path in thumbnail_files(server):
        path.unlink()
    image = opened(thumbnail(alice, mid, width=320, height=240).body)
    assert image.size == (320, 160)
    assert len(thumbnail_files(server)) == 1


def test_dynamic_thumbnails_make_the_exact_size(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"media": {"dynamic_thumbnails": True}})
    alice = server.user("alice")
    mid = media_id(upload(alice, photo(1000, 500), "image/jpeg")["content_uri"])
    crop = opened(thumbnail(alice, mid, width=50, height=70, method="crop").body)
    assert crop.size == (50, 70)
    scale = opened(thumbnail(alice, mid, width=200, height=200).body)
    assert scale.size == (200, 100)
    made = {(r.width, r.height, r.method) for r in rows(server, mid)}
    assert {(50, 70, "crop"), (200, 200, "scale")} <= made

    # The next request is served from the stored thumbnail, without the original.
    original = server.hs.data_dir / "media_store" / "local_content"
    for path in original.rglob("*"):
        if path.is_file():
            path.unlink()
    again = opened(thumbnail(alice, mid, width=50, height=70, method="crop").body)
    assert again.size == (50, 70)


def test_configured_sizes_come_from_the_config(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server(
        {"media": {"thumbnail_sizes": [{"width": 64, "height": 48, "method": "crop"}]}}
    )
    alice = server.user("alice")
    mid = media_id(upload(alice, photo(1000, 500), "image/jpeg")["content_uri"])
    assert [(r.width, r.height, r.method) for r in rows(server, mid)] == [
        (64, 48, "crop")
    ]
    # A scale request gets the crop size when no scale size is configured.
    assert opened(thumbnail(alice, mid, width=320, height=240).body).size == (64, 48)


def test_truncated_image_is_stored_but_not_thumbnailed(
    server: TestServer, alice: User
) -> None:
    data = photo(600, 400)
    mid = media_id(upload(alice, data[: len(data) // 2], "image/jpeg")["content_uri"])
    assert rows(server, mid) == []
    resp = thumbnail(alice, mid, expect=400, width=96, height=96, method="crop")
    assert resp.json["errcode"] == "M_UNKNOWN"
    assert thumbnail_files(server) == []
    # The upload itself stands.
    alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200)


def test_decompression_bomb_is_refused_and_nothing_stored(
    server: TestServer, alice: User
) -> None:
    mid = media_id(
        upload(alice, png_declaring(100_000, 100_000), "image/png")["content_uri"]
    )
    assert rows(server, mid) == []
    resp = thumbnail(alice, mid, expect=413, width=96, height=96, method="crop")
    assert resp.json["errcode"] == "M_TOO_LARGE"
    assert rows(server, mid) == []
    assert thumbnail_files(server) == []


def test_media_that_is_not_an_image(server: TestServer, alice: User) -> None:
    mid = media_id(upload(alice, b"hello", "text/plain")["content_uri"])
    resp = thumbnail(alice, mid, expect=400, width=32, height=32)
    assert resp.json["errcode"] == "M_UNKNOWN"
    # Not a PNG, whatever the upload said.
    fake = media_id(upload(alice, b"not a png", "image/png")["content_uri"])
    resp = thumbnail(alice, fake, expect=400, width=32, height=32)
    assert resp.json["errcode"] == "M_UNKNOWN"
    assert thumbnail_files(server) == []


@pytest.mark.parametrize(
    ("query", "errcode"),
    [
        ("height=32", "M_MISSING_PARAM"),
        ("width=32", "M_MISSING_PARAM"),
        ("width=abc&height=32", "M_INVALID_PARAM"),
        ("width=32&height=1.5", "M_INVALID_PARAM"),
        ("width=0&height=32", "M_INVALID_PARAM"),
        ("width=32&height=-5", "M_INVALID_PARAM"),
        ("width=32&height=32&method=fill", "M_INVALID_PARAM"),
        ("width=32&height=32&animated=maybe", "M_INVALID_PARAM"),
    ],
)
def test_bad_parameters(
    server: TestServer, alice: User, query: str, errcode: str
) -> None:
    mid = media_id(upload(alice, photo(100, 100), "image/jpeg")["content_uri"])
    for path in (f"{CLIENT_MEDIA}/thumbnail", f"{MEDIA}/thumbnail"):
        resp = alice.request("GET", f"{path}/test/{mid}?{query}", expect=400)
        assert resp.json["errcode"] == errcode


def test_unknown_parameters_are_ignored(server: TestServer, alice: User) -> None:
    mid = media_id(upload(alice, photo(100, 100), "image/jpeg")["content_uri"])
    resp = thumbnail(
        alice,
        mid,
        width=32,
        height=32,
        method="crop",
        timeout_ms=5000,
        allow_remote="false",
        x="y",
    )
    assert opened(resp.body).size == (32, 32)


def test_unknown_remote_bad_quarantined_and_pending_media(
    server: TestServer, alice: User
) -> None:
    resp = thumbnail(alice, "unknownmedia", expect=404, width=32, height=32)
    assert resp.json["errcode"] == "M_NOT_FOUND"
    # Another server's media is fetched over federation (tests/federation/
    # media/); test servers have no network, as when that server is down.
    resp = thumbnail(alice, "abcdef", 502, "other.example", width=32, height=32)
    assert resp.json["errcode"] == "M_UNKNOWN"
    resp = thumbnail(alice, "bad%2F..%2Fid", expect=400, width=32, height=32)
    assert resp.json["errcode"] == "M_INVALID_PARAM"
    resp = thumbnail(alice, "abcdef", 400, "bad%2F..", width=32, height=32)
    assert resp.json["errcode"] == "M_INVALID_PARAM"

    mid = media_id(upload(alice, photo(100, 100), "image/jpeg")["content_uri"])

    def quarantine(txn: Transaction) -> None:
        txn.execute(
            "UPDATE local_media SET quarantined = TRUE WHERE media_id = ?", (mid,)
        )

    server.get_success(server.db.run_interaction("quarantine", quarantine))
    resp = thumbnail(alice, mid, expect=404, width=32, height=32)
    assert resp.json["errcode"] == "M_NOT_FOUND"

    pending = alice.post("/_matrix/media/v1/create", {}, expect=200).json
    resp = thumbnail(
        alice, media_id(pending["content_uri"]), expect=504, width=32, height=32
    )
    assert resp.json["errcode"] == "M_NOT_YET_UPLOADED"


def test_async_upload_makes_thumbnails_too(server: TestServer, alice: User) -> None:
    created = alice.post("/_matrix/media/v1/create", {}, expect=200).json
    mid = media_id(created["content_uri"])
    alice.request(
        "PUT",
        f"{MEDIA}/upload/test/{mid}",
        photo(300, 300),
        headers={"Content-Type": "image/jpeg"},
        expect=200,
    )
    assert len(rows(server, mid)) == 5


def test_guests_may_fetch_thumbnails(
    make_server: Callable[..., TestServer],
) -> None:
    from tests.extras.guests import GUESTS_ON, register_guest

    server = make_server(GUESTS_ON)
    alice = server.user("alice")
    mid = media_id(upload(alice, photo(100, 100), "image/jpeg")["content_uri"])
    guest = register_guest(server)
    resp = thumbnail(guest, mid, width=32, height=32, method="crop")
    assert opened(resp.body).size == (32, 32)


def test_deleting_media_deletes_its_thumbnails(server: TestServer, alice: User) -> None:
    admin = server.user("admin", admin=True)
    mid = media_id(upload(alice, photo(300, 200), "image/jpeg")["content_uri"])
    thumbnail(alice, mid, width=96, height=96, method="crop", animated="true")
    assert len(thumbnail_files(server)) == 6
    admin.request("DELETE", f"/_synapse/admin/v1/media/test/{mid}", expect=200)
    assert thumbnail_files(server) == []
    assert rows(server, mid) == []
    thumbnail(alice, mid, expect=404, width=32, height=32)
