"""Thumbnails made with Pillow from real images (homeserver/services/media/thumbnailer.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
from PIL import Image
from twisted.internet import defer
from twisted.python.failure import Failure

from homeserver.services.media import thumbnail_frames
from homeserver.services.media.thumbnail_sizes import (
    DEFAULT_THUMBNAIL_SIZES,
    ThumbnailSize,
)
from homeserver.services.media.thumbnailer import (
    DEFAULT_MAX_IMAGE_PIXELS,
    ImageTooLarge,
    Thumbnailer,
    ThumbnailError,
    fit_within,
    make_thumbnail,
    make_thumbnails,
    probe_image,
)
from tests.media.images import (
    BLUE,
    RED,
    close_to,
    encode,
    gif_animation,
    opened,
    photo,
    png_declaring,
)

T = TypeVar("T")


def alpha(image: Image.Image, x: int, y: int) -> int:
    value: Any = image.getpixel((x, y))
    return int(value[3])


# --- scale and crop ---------------------------------------------------------


def test_scale_keeps_the_aspect_ratio_within_the_box() -> None:
    thumb = make_thumbnail(photo(1000, 500), 320, 240, "scale")
    assert (thumb.width, thumb.height) == (320, 160)
    assert thumb.content_type == "image/jpeg"
    image = opened(thumb.content)
    assert image.format == "JPEG"
    assert image.size == (320, 160)
    assert close_to(image.getpixel((10, 80)), RED)
    assert close_to(image.getpixel((310, 80)), BLUE)


def test_scale_never_enlarges() -> None:
    thumb = make_thumbnail(photo(100, 60), 640, 480, "scale")
    assert opened(thumb.content).size == (100, 60)


def test_crop_fills_the_box_exactly_cutting_both_sides() -> None:
    # 300x100: red | blue halves; a centred 96x96 crop keeps both colours.
    thumb = make_thumbnail(photo(300, 100), 96, 96, "crop")
    image = opened(thumb.content)
    assert image.size == (96, 96) == (thumb.width, thumb.height)
    assert thumb.method == "crop"
    assert close_to(image.getpixel((5, 48)), RED)
    assert close_to(image.getpixel((90, 48)), BLUE)


def test_crop_of_a_small_image_still_fills_the_box() -> None:
    assert opened(make_thumbnail(photo(20, 10), 32, 32, "crop").content).size == (
        32,
        32,
    )


def test_png_with_alpha_gives_a_png_keeping_transparency() -> None:
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    image.paste((0, 255, 0, 255), (50, 50, 150, 150))
    thumb = make_thumbnail(encode(image, "PNG"), 96, 96, "crop")
    assert thumb.content_type == "image/png"
    out = opened(thumb.content)
    assert out.format == "PNG"
    assert out.mode == "RGBA"
    assert alpha(out, 0, 0) == 0
    assert alpha(out, 48, 48) == 255


def test_webp_photo_gives_a_jpeg() -> None:
    webp = encode(Image.new("RGB", (400, 300), RED), "WEBP")
    assert make_thumbnail(webp, 320, 240, "scale").content_type == "image/jpeg"


def test_exif_orientation_is_applied() -> None:
    # Stored 200x100 (red left, blue right) with orientation 6: shown rotated
    # 90 degrees clockwise, so 100x200 with red on top.
    image = Image.new("RGB", (200, 100), RED)
    image.paste(BLUE, (100, 0, 200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(image, "JPEG", exif=exif.tobytes(), quality=95)
    thumb = make_thumbnail(data, 320, 240, "scale")
    out = opened(thumb.content)
    assert out.size == (thumb.width, thumb.height) == (100, 200)
    assert close_to(out.getpixel((50, 10)), RED)
    assert close_to(out.getpixel((50, 190)), BLUE)
    assert out.getexif().get(0x0112) in (None, 1)


def test_several_sizes_from_one_decode() -> None:
    sizes = [ThumbnailSize(32, 32, "crop"), ThumbnailSize(320, 240, "scale")]
    thumbs = make_thumbnails(photo(800, 800), sizes)
    assert [(t.width, t.height, t.method) for t in thumbs] == [
        (32, 32, "crop"),
        (240, 240, "scale"),
    ]


def test_fit_within() -> None:
    assert fit_within(1000, 10, 100, 100) == (100, 1)
    assert fit_within(10, 1000, 100, 100) == (1, 100)
    assert fit_within(50, 50, 100, 100) == (50, 50)


# --- animations -------------------------------------------------------------


def test_animated_gif_stays_animated_when_asked() -> None:
    thumb = make_thumbnail(gif_animation(5), 96, 96, "crop", animated=True)
    assert thumb.content_type == "image/gif"
    assert thumb.animated
    out = opened(thumb.content)
    assert out.format == "GIF"
    assert out.size == (96, 96)
    assert getattr(out, "n_frames", 1) == 5
    out.seek(4)
    assert out.info.get("duration") == 70


def test_animated_gif_gives_its_first_frame_otherwise() -> None:
    thumb = make_thumbnail(gif_animation(5), 96, 96, "crop")
    assert not thumb.animated
    assert thumb.content_type == "image/png"
    out = opened(thumb.content)
    assert getattr(out, "n_frames", 1) == 1
    assert close_to(out.convert("RGB").getpixel((48, 48)), (0, 255, 0))


def test_animated_webp_stays_animated_when_asked() -> None:
    images = [Image.new("RGB", (200, 100), (60 * i, 0, 0)) for i in range(3)]
    webp = encode(images[0], "WEBP", save_all=True, append_images=images[1:])
    thumb = make_thumbnail(webp, 320, 240, "scale", animated=True)
    assert thumb.content_type == "image/webp"
    out = opened(thumb.content)
    assert out.size == (200, 100)
    assert getattr(out, "n_frames", 1) == 3


def test_still_image_asked_for_animated_is_a_still_thumbnail() -> None:
    thumb = make_thumbnail(photo(100, 100), 32, 32, "crop", animated=True)
    assert thumb.content_type == "image/jpeg"
    assert not thumb.animated


# --- refusals ---------------------------------------------------------------


def test_decompression_bomb_is_refused_from_the_header_quickly() -> None:
    bomb = png_declaring(100_000, 100_000)
    assert probe_image(png_declaring(8, 8)).width == 8  # the forgery is valid
    started = time.monotonic()
    with pytest.raises(ImageTooLarge, match="pixels"):
        make_thumbnail(bomb, 96, 96, "crop")
    assert time.monotonic() - started < 1


def test_just_over_the_pixel_limit_is_refused() -> None:
    # 6000x6000 = 36M pixels: over our 32M default, under Pillow's own limit.
    assert 6000 * 6000 > DEFAULT_MAX_IMAGE_PIXELS
    with pytest.raises(ImageTooLarge, match="over the limit"):
        make_thumbnail(png_declaring(6000, 6000), 96, 96, "crop")
    with pytest.raises(ThumbnailError):
        make_thumbnail(photo(200, 200), 32, 32, "crop", max_image_pixels=30_000)


def test_truncated_image_is_refused() -> None:
    data = photo(400, 400)
    with pytest.raises(ThumbnailError):
        make_thumbnail(data[: len(data) // 2], 96, 96, "crop")
    png = encode(Image.effect_noise((300, 300), 50), "PNG")
    with pytest.raises(ThumbnailError):
        make_thumbnail(png[: len(png) // 2], 96, 96, "crop")


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, not an image", b"%PDF-1.4\n" + b"0" * 100, b"\x89PNG\r\n\x1a\n"],
)
def test_non_image_is_refused(data: bytes) -> None:
    with pytest.raises(ThumbnailError):
        make_thumbnail(data, 96, 96, "crop")
    with pytest.raises(ThumbnailError):
        probe_image(data)


def test_unsupported_format_is_refused() -> None:
    with pytest.raises(ThumbnailError):
        make_thumbnail(encode(Image.new("RGB", (50, 50)), "BMP"), 32, 32, "crop")


def test_empty_box_is_refused() -> None:
    with pytest.raises(ThumbnailError):
        make_thumbnail(photo(50, 50), 0, 32, "crop")


def test_probe_reads_the_header() -> None:
    info = probe_image(gif_animation(3))
    assert (info.content_type, info.width, info.height, info.animated) == (
        "image/gif",
        200,
        100,
        True,
    )


# --- off the reactor thread -------------------------------------------------


def test_thumbnailer_runs_the_work_through_its_runner() -> None:
    threads: list[threading.Thread] = []

    def runner(fn: Callable[[], Any]) -> defer.Deferred[Any]:
        result: dict[str, Any] = {}

        def work() -> None:
            threads.append(threading.current_thread())
            try:
                result["value"] = fn()
            except Exception as e:  # handed back as the Deferred's failure
                result["error"] = e

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        if "error" in result:
            return defer.fail(result["error"])
        return defer.succeed(result["value"])

    thumbnailer = Thumbnailer(runner, max_image_pixels=1_000_000)
    thumb = done(thumbnailer.thumbnail(photo(64, 64), 32, 32, "crop"))
    assert (thumb.width, thumb.height) == (32, 32)
    assert threads and threads[0] is not threading.current_thread()

    with pytest.raises(ThumbnailError):
        done(thumbnailer.thumbnail(png_declaring(2000, 2000), 32, 32, "crop"))

    sizes = [ThumbnailSize(32, 32, "crop")]
    assert len(done(thumbnailer.thumbnails(photo(64, 64), sizes))) == 1
    info = done(thumbnailer.probe(photo(64, 48)))
    assert (info.width, info.height) == (64, 48)


def done(coro: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine whose runner has already finished its work."""
    d: defer.Deferred[T] = defer.Deferred.fromCoroutine(coro)
    results: list[T] = []
    failures: list[Failure] = []
    d.addCallbacks(results.append, failures.append)
    if failures:
        failures[0].raiseException()
    return results[0]


def test_transparent_gif_gives_a_png_with_alpha() -> None:
    image = Image.new("P", (64, 64), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (16, 16, 48, 48))
    thumb = make_thumbnail(encode(image, "GIF", transparency=0), 32, 32, "crop")
    out = opened(thumb.content)
    assert (thumb.content_type, out.format, out.mode) == ("image/png", "PNG", "RGBA")
    assert alpha(out, 0, 0) == 0
    assert close_to(out.getpixel((16, 16)), RED)


def test_truncated_animation_is_refused_when_animating() -> None:
    data = gif_animation(5)
    with pytest.raises(ThumbnailError, match="truncated"):
        make_thumbnail(data[: len(data) * 7 // 10], 96, 96, "crop", animated=True)


def test_animation_past_the_frame_cap_gives_its_first_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(thumbnail_frames, "MAX_ANIMATED_FRAMES", 3)
    thumb = make_thumbnail(gif_animation(5), 96, 96, "crop", animated=True)
    assert not thumb.animated
    assert thumb.content_type == "image/png"
    assert getattr(opened(thumb.content), "n_frames", 1) == 1


def test_probe_refuses_a_bomb() -> None:
    with pytest.raises(ThumbnailError, match="pixels"):
        probe_image(png_declaring(100_000, 100_000))


def test_large_jpeg_decoded_at_reduced_scale_keeps_exact_sizes() -> None:
    # 2048x1536: decoded at 1/2 in the DCT (1024x768 still covers 800x600).
    thumbs = make_thumbnails(photo(2048, 1536), DEFAULT_THUMBNAIL_SIZES)
    assert [opened(t.content).size for t in thumbs] == [
        (32, 32),
        (96, 96),
        (320, 240),
        (640, 480),
        (800, 600),
    ]
    scaled = opened(thumbs[4].content)
    assert close_to(scaled.getpixel((10, 300)), RED)
    assert close_to(scaled.getpixel((790, 300)), BLUE)


def test_reduced_scale_decode_respects_a_quarter_turn() -> None:
    # Stored 2000x1000 with orientation 6: shown 1000x2000, red on top; the
    # reduced decode must still cover 160x320 after the turn (planning it on
    # the stored 2000x1000 would decode at 1/8 and give only 125x250).
    image = Image.new("RGB", (2000, 1000), RED)
    image.paste(BLUE, (1000, 0, 2000, 1000))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(image, "JPEG", exif=exif.tobytes(), quality=95)
    out = opened(make_thumbnail(data, 240, 320, "scale").content)
    assert out.size == (160, 320)
    assert close_to(out.getpixel((80, 10)), RED)
    assert close_to(out.getpixel((80, 310)), BLUE)


def test_animation_keeps_its_loop_setting() -> None:
    looping = opened(
        make_thumbnail(gif_animation(3), 96, 96, "crop", animated=True).content
    )
    assert looping.info.get("loop") == 0
    images = [Image.new("RGB", (100, 100), (80 * i, 0, 0)) for i in range(3)]
    once = encode(images[0], "GIF", save_all=True, append_images=images[1:])
    assert "loop" not in opened(once).info
    thumb = make_thumbnail(once, 32, 32, "crop", animated=True)
    assert thumb.animated
    assert "loop" not in opened(thumb.content).info
