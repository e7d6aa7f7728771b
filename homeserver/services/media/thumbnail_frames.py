"""Thumbnail geometry (``scale`` and ``crop``) and animated thumbnails: the frames
of an animated GIF or WebP decoded within a budget, resized and encoded again.

Spec: client-server API, "Content repository" -> "Thumbnails". Used by
``thumbnailer.py``; pure functions over Pillow images, blocking.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence

import attrs
from PIL import Image, ImageSequence

from homeserver.services.media.thumbnail_sizes import ThumbnailSize

logger = logging.getLogger(__name__)

# An animation costs a decode per frame: past this many frames, or this many
# times ``max_image_pixels`` decoded in all, the thumbnail is the first frame.
MAX_ANIMATED_FRAMES = 500
_ANIMATION_PIXEL_BUDGET = 4

_EXIF_ORIENTATION = 0x0112
_ORIENTATION_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


# --- geometry ---------------------------------------------------------------


def fit_within(src_w: int, src_h: int, box_w: int, box_h: int) -> tuple[int, int]:
    """The size ``scale`` gives: inside the box, same aspect, never enlarged."""
    if src_w <= box_w and src_h <= box_h:
        return src_w, src_h
    if box_w * src_h < box_h * src_w:
        return box_w, max(box_w * src_h // src_w, 1)
    return max(box_h * src_w // src_h, 1), box_h


def crop_plan(
    src_w: int, src_h: int, box_w: int, box_h: int
) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """For ``crop``: the size to scale to (covering the box) and the box to cut."""
    if box_w * src_h > box_h * src_w:
        scaled_w, scaled_h = box_w, max(box_w * src_h // src_w, box_h)
        top = (scaled_h - box_h) // 2
        return (scaled_w, scaled_h), (0, top, box_w, top + box_h)
    scaled_w, scaled_h = max(box_h * src_w // src_h, box_w), box_h
    left = (scaled_w - box_w) // 2
    return (scaled_w, scaled_h), (left, 0, left + box_w, box_h)


def scaled_size(
    width: int, height: int, sizes: Sequence[ThumbnailSize]
) -> tuple[int, int]:
    """The smallest size a ``width`` x ``height`` image can be decoded at and
    still give every one of ``sizes`` without enlarging."""
    need_w = need_h = 1
    for size in sizes:
        if size.method == "crop":
            (w, h), _ = crop_plan(width, height, size.width, size.height)
        else:
            w, h = fit_within(width, height, size.width, size.height)
        need_w, need_h = max(need_w, w), max(need_h, h)
    return need_w, need_h


def resize(image: Image.Image, size: ThumbnailSize) -> Image.Image:
    """``image`` scaled or cropped to ``size`` (a new image).

    ``reducing_gap`` first shrinks by a whole factor with a box filter while
    the image is over 3x the target, then finishes with Lanczos: what
    ``Image.thumbnail`` does, much faster, with no visible difference.
    """
    if size.method == "crop":
        scaled, box = crop_plan(image.width, image.height, size.width, size.height)
        with image.resize(scaled, Image.Resampling.LANCZOS, reducing_gap=3.0) as big:
            return big.crop(box)
    target = fit_within(image.width, image.height, size.width, size.height)
    if target == image.size:
        return image.copy()
    return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)


# --- animations -------------------------------------------------------------


@attrs.frozen
class Frame:
    """One decoded frame (RGBA, oriented) and how long it shows, in ms."""

    image: Image.Image
    duration: int


def orientation_swaps_axes(image: Image.Image) -> bool:
    """Whether the EXIF orientation turns the image a quarter turn."""
    return _orientation(image) in (
        Image.Transpose.TRANSPOSE,
        Image.Transpose.ROTATE_270,
        Image.Transpose.TRANSVERSE,
        Image.Transpose.ROTATE_90,
    )


def _orientation(image: Image.Image) -> Image.Transpose | None:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION)
    except Exception:  # EXIF parsing fails in many ways; orientation is optional
        return None
    return _ORIENTATION_TRANSPOSE.get(value) if isinstance(value, int) else None


def decode_animation(image: Image.Image, max_image_pixels: int) -> list[Frame] | None:
    """Every frame of an animation, decoded, or None for a still image or one
    too long to animate within the budget (then the first frame is used)."""
    if not getattr(image, "is_animated", False):
        return None
    budget = max_image_pixels * _ANIMATION_PIXEL_BUDGET
    frame_pixels = image.width * image.height
    transpose = _orientation(image)
    frames: list[Frame] = []
    try:
        for frame in _frames(image):
            if len(frames) >= MAX_ANIMATED_FRAMES or (
                frame_pixels * len(frames) > budget
            ):
                logger.info("animation too long to thumbnail; using its first frame")
                _close(frames)
                return None
            rgba = frame.convert("RGBA")
            if transpose is not None:
                rotated = rgba.transpose(transpose)
                rgba.close()
                rgba = rotated
            frames.append(Frame(rgba, int(frame.info.get("duration", 100))))
    except BaseException:
        _close(frames)
        raise
    return frames


def _close(frames: list[Frame]) -> None:
    for frame in frames:
        frame.image.close()


def _frames(image: Image.Image) -> Iterator[Image.Image]:
    yield from ImageSequence.Iterator(image)


def encode_animation(
    frames: list[Frame], loop: int | None, fmt: str, size: ThumbnailSize
) -> tuple[bytes, int, int]:
    """The frames resized to ``size`` and encoded as ``fmt`` (GIF or WEBP),
    repeating ``loop`` times (0: forever; None: played once, GIF only).

    Returns:
        The encoded animation, its width and its height.
    """
    resized = [resize(f.image, size) for f in frames]
    buffer = io.BytesIO()
    extra: dict[str, object] = (
        {"quality": 80} if fmt == "WEBP" else {"disposal": 2, "optimize": False}
    )
    if loop is not None or fmt == "WEBP":
        extra["loop"] = int(loop or 0)
    resized[0].save(
        buffer,
        fmt,
        save_all=True,
        append_images=resized[1:],
        duration=[f.duration for f in frames],
        **extra,
    )
    width, height = resized[0].size
    for image in resized:
        image.close()
    return buffer.getvalue(), width, height
