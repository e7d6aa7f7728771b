"""Real images made with Pillow for the thumbnail tests."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from PIL import Image

RED = (255, 0, 0)
BLUE = (0, 0, 255)


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def photo(width: int, height: int, orientation: int | None = None) -> bytes:
    """A JPEG whose left half is red and right half blue, with an EXIF
    orientation tag when given."""
    image = Image.new("RGB", (width, height), RED)
    image.paste(BLUE, (width // 2, 0, width, height))
    if orientation is None:
        return encode(image, "JPEG", quality=95)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif.tobytes(), quality=95)


def gif_animation(frames: int, size: tuple[int, int] = (200, 100)) -> bytes:
    images = [Image.new("RGB", size, (40 * i, 255 - 40 * i, 0)) for i in range(frames)]
    return encode(
        images[0], "GIF", save_all=True, append_images=images[1:], duration=70, loop=0
    )


def png_declaring(width: int, height: int) -> bytes:
    """A small valid PNG whose header is rewritten to declare width x height."""
    data = bytearray(encode(Image.new("RGB", (8, 8)), "PNG"))
    # Signature (8) + IHDR length (4) + b"IHDR" (4), then width and height.
    struct.pack_into(">II", data, 16, width, height)
    crc = zlib.crc32(bytes(data[12:29]))
    struct.pack_into(">I", data, 29, crc)
    return bytes(data)


def opened(content: bytes) -> Image.Image:
    return Image.open(io.BytesIO(content))


def close_to(pixel: Any, colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel[:3], colour, strict=True))
