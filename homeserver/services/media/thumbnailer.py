"""Making thumbnails with Pillow: pure functions, and a helper that runs them off
the reactor thread.

Spec: client-server API, "Content repository" -> "Thumbnails" (``scale`` and
``crop``, ``animated``). Decoding is the dangerous part: only JPEG, PNG, GIF and
WebP are opened (each decoder is attack surface), the declared size is checked
against ``max_image_pixels`` from the header before any pixel is decoded, and
every way a decode can fail comes out as one ``ThumbnailError``.
"""

from __future__ import annotations

import io
import logging
import struct
from collections.abc import Sequence

import attrs
from PIL import Image, ImageOps

from homeserver.services.media.thumbnail_frames import (
    Frame,
    decode_animation,
    encode_animation,
    fit_within,
    orientation_swaps_axes,
    resize,
    scaled_size,
)
from homeserver.services.media.thumbnail_sizes import ThumbnailMethod, ThumbnailSize
from homeserver.storage.database import Runner

logger = logging.getLogger(__name__)

# Synapse's default ``max_image_pixels``.
DEFAULT_MAX_IMAGE_PIXELS = 32_000_000

# The decoders we let Pillow use, and the content type of each.
_FORMATS: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
# Content types a thumbnail can be made from (image/jpg is a common misspelling).
THUMBNAILABLE_TYPES = frozenset({*_FORMATS.values(), "image/jpg"})

# What a broken, truncated or hostile file makes Pillow raise.
_DECODE_ERRORS = (
    OSError,  # includes UnidentifiedImageError and "image file is truncated"
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    IndexError,
    Image.DecompressionBombError,
)


class ThumbnailError(Exception):
    """The bytes are not an image we can thumbnail (not an image, an unsupported
    format, truncated, corrupt, or over the pixel limit). Endpoints answer 400."""


class ImageTooLarge(ThumbnailError):
    """The image declares more pixels than ``max_image_pixels`` (a
    decompression bomb, or just too big to decode). Endpoints answer 413
    M_TOO_LARGE, the spec's "too large for the server to thumbnail"."""


@attrs.frozen
class Thumbnail:
    """One made thumbnail.

    Attributes:
        content: the encoded image.
        content_type: ``image/jpeg``, ``image/png``, or for an animated
            thumbnail ``image/gif`` or ``image/webp``.
        width: its width in pixels.
        height: its height in pixels.
        method: the method it was made with.
        animated: whether it has more than one frame.
    """

    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")
    content_type: str
    width: int
    height: int
    method: ThumbnailMethod
    animated: bool

    @property
    def length(self) -> int:
        """The size of ``content`` in bytes."""
        return len(self.content)


@attrs.frozen
class ImageInfo:
    """What an image's header says.

    Attributes:
        content_type: the real content type, whatever the upload claimed.
        width: its width in pixels (before EXIF orientation).
        height: its height in pixels.
        animated: whether it has more than one frame.
    """

    content_type: str
    width: int
    height: int
    animated: bool


def _open(data: bytes, max_image_pixels: int) -> Image.Image:
    """Open ``data`` reading only its header, refusing oversized images."""
    try:
        image = Image.open(io.BytesIO(data), formats=list(_FORMATS))
    except Image.DecompressionBombError as e:
        raise ImageTooLarge(f"image is over Pillow's pixel limit: {e}") from e
    except _DECODE_ERRORS as e:
        raise ThumbnailError(f"not a supported image: {e}") from e
    width, height = image.size
    if width < 1 or height < 1:
        image.close()
        raise ThumbnailError("image has no pixels")
    if width * height > max_image_pixels:
        image.close()
        raise ImageTooLarge(
            f"image is {width}x{height}, over the limit of {max_image_pixels} pixels"
        )
    return image


def probe_image(
    data: bytes, max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> ImageInfo:
    """Read an image's header without decoding its pixels.

    Raises:
        ThumbnailError: not a supported image, or over ``max_image_pixels``.
    """
    with _open(data, max_image_pixels) as image:
        return ImageInfo(
            content_type=_FORMATS[str(image.format)],
            width=image.width,
            height=image.height,
            animated=bool(getattr(image, "is_animated", False)),
        )


def make_thumbnail(
    data: bytes,
    width: int,
    height: int,
    method: ThumbnailMethod,
    *,
    animated: bool = False,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> Thumbnail:
    """A thumbnail of the image in ``data``; blocking, so run it off the reactor.

    Args:
        data: the original image's bytes.
        width: the box's width.
        height: the box's height.
        method: ``scale`` fits the image in the box keeping its aspect ratio,
            never enlarging; ``crop`` scales it to cover the box and cuts the
            overflow from both sides, so the result is exactly the box.
        animated: keep the frames of an animated GIF or WebP; otherwise the
            thumbnail is of the first frame.
        max_image_pixels: refuse images declaring more pixels than this.

    Returns:
        The thumbnail: JPEG for photos, PNG for images that may have
        transparency (PNG and GIF sources, or any with an alpha channel), GIF
        or WebP for animations.

    Raises:
        ThumbnailError: the data is not a usable image, or the box is empty.
    """
    return make_thumbnails(
        data,
        [ThumbnailSize(width, height, method)],
        animated=animated,
        max_image_pixels=max_image_pixels,
    )[0]


def make_thumbnails(
    data: bytes,
    sizes: Sequence[ThumbnailSize],
    *,
    animated: bool = False,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> list[Thumbnail]:
    """One thumbnail per size, decoding the image once (for thumbnails made on
    upload). Arguments, result and errors as ``make_thumbnail``."""
    for size in sizes:
        if size.width < 1 or size.height < 1:
            raise ThumbnailError("thumbnail width and height must be positive")
        if size.width * size.height > max_image_pixels:
            raise ThumbnailError("thumbnail size is over the pixel limit")
    with _open(data, max_image_pixels) as image:
        source_format = str(image.format)
        try:
            frames = decode_animation(image, max_image_pixels) if animated else None
            if frames is not None:
                loop = image.info.get("loop")  # absent: plays once
                try:
                    return [_animated(frames, loop, source_format, s) for s in sizes]
                finally:
                    for frame in frames:
                        frame.image.close()
            _draft(image, sizes)
            with _first_frame(image) as first:
                return [_still(first, source_format, s) for s in sizes]
        except _DECODE_ERRORS as e:
            raise ThumbnailError(f"cannot decode image: {e}") from e


class Thumbnailer:
    """Makes thumbnails on a thread pool, never on the reactor thread.

    Args:
        runner: the blocking-work runner (the ``cpu`` pool in production,
            ``inline_runner`` in fake-reactor tests).
        max_image_pixels: refuse images declaring more pixels than this.
    """

    def __init__(
        self, runner: Runner, max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    ) -> None:
        self.runner = runner
        self.max_image_pixels = max_image_pixels

    async def probe(self, data: bytes) -> ImageInfo:
        """``probe_image`` off the reactor thread."""
        info: ImageInfo = await self.runner(
            lambda: probe_image(data, self.max_image_pixels)
        )
        return info

    async def thumbnail(
        self,
        data: bytes,
        width: int,
        height: int,
        method: ThumbnailMethod,
        *,
        animated: bool = False,
    ) -> Thumbnail:
        """``make_thumbnail`` off the reactor thread.

        Raises:
            ThumbnailError: as ``make_thumbnail``.
        """
        result: Thumbnail = await self.runner(
            lambda: make_thumbnail(
                data,
                width,
                height,
                method,
                animated=animated,
                max_image_pixels=self.max_image_pixels,
            )
        )
        return result

    async def thumbnails(
        self, data: bytes, sizes: Sequence[ThumbnailSize], *, animated: bool = False
    ) -> list[Thumbnail]:
        """``make_thumbnails`` off the reactor thread.

        Raises:
            ThumbnailError: as ``make_thumbnail``.
        """
        result: list[Thumbnail] = await self.runner(
            lambda: make_thumbnails(
                data, sizes, animated=animated, max_image_pixels=self.max_image_pixels
            )
        )
        return result


# --- still images -----------------------------------------------------------


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        "transparency" in image.info
    )


def _draft(image: Image.Image, sizes: Sequence[ThumbnailSize]) -> None:
    """Let a JPEG decode at a reduced scale (1/2, 1/4 or 1/8, done in the DCT)
    still at least as large as every size needs: most of a photo's decode cost
    saved. No-op for other formats."""
    if image.format != "JPEG":
        return
    swapped = orientation_swaps_axes(image)
    width, height = (image.height, image.width) if swapped else image.size
    need_w, need_h = scaled_size(width, height, sizes)
    image.draft(None, (need_h, need_w) if swapped else (need_w, need_h))


def _first_frame(image: Image.Image) -> Image.Image:
    """The first frame decoded, EXIF-oriented, in RGB or RGBA."""
    image.seek(0)
    image.load()
    try:
        oriented = ImageOps.exif_transpose(image)
    except Exception:  # EXIF parsing fails in many ways; orientation is optional
        logger.info("ignoring unreadable EXIF data", exc_info=True)
        oriented = image.copy()
    mode = "RGBA" if _has_alpha(oriented) else "RGB"
    if oriented.mode == "CMYK" or oriented.mode != mode:
        converted = oriented.convert(mode)
        oriented.close()
        return converted
    return oriented


def _still(first: Image.Image, source_format: str, size: ThumbnailSize) -> Thumbnail:
    with resize(first, size) as out:
        png = out.mode == "RGBA" or source_format in ("PNG", "GIF")
        buffer = io.BytesIO()
        if png:
            # optimize=True costs 2.5x the time for files about 1% smaller.
            out.save(buffer, "PNG")
        else:
            out.save(buffer, "JPEG", quality=80)
        return Thumbnail(
            content=buffer.getvalue(),
            content_type="image/png" if png else "image/jpeg",
            width=out.width,
            height=out.height,
            method=size.method,
            animated=False,
        )


def _animated(
    frames: list[Frame], loop: int | None, source_format: str, size: ThumbnailSize
) -> Thumbnail:
    fmt = "WEBP" if source_format == "WEBP" else "GIF"
    content, width, height = encode_animation(frames, loop, fmt, size)
    return Thumbnail(
        content=content,
        content_type=_FORMATS[fmt],
        width=width,
        height=height,
        method=size.method,
        animated=len(frames) > 1,
    )


__all__ = [
    "DEFAULT_MAX_IMAGE_PIXELS",
    "THUMBNAILABLE_TYPES",
    "ImageTooLarge",
    "ImageInfo",
    "Thumbnail",
    "ThumbnailError",
    "Thumbnailer",
    "fit_within",
    "make_thumbnail",
    "make_thumbnails",
    "probe_image",
]
