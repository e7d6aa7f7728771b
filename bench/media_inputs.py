"""The inputs of bench/media_bench.py: random 1 MiB files and fresh images.

Made before either server starts, so that making them never competes with a
server for the CPU; each image differs from the others (shapes and noise), so
no server can answer one from another's thumbnails.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Protocol

from PIL import Image, ImageDraw

MIB = 1024 * 1024


class _Sizes(Protocol):
    files: int
    images: int


def photo_jpeg(seed: int) -> bytes:
    """A 2048x1536 (3.1 MP) photo-like JPEG: gradient, shapes, sensor noise."""
    w, h = 2048, 1536
    base = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    draw = ImageDraw.Draw(base)
    for i in range(6):
        x, y = (seed * 311 + i * 397) % w, (seed * 173 + i * 229) % h
        colour = ((seed * 50 + i * 40) % 256, (i * 90) % 256, (seed * 30) % 256)
        draw.ellipse((x - 300, y - 200, x + 300, y + 200), fill=colour)
    noise = Image.effect_noise((w, h), 40).convert("RGB")
    out = io.BytesIO()
    Image.blend(base, noise, 0.2).save(out, "JPEG", quality=90)
    return out.getvalue()


def screenshot_png(seed: int) -> bytes:
    """A 1920x1080 (2.1 MP) screenshot-like PNG: flat panels and text lines."""
    w, h = 1920, 1080
    image = Image.new("RGB", (w, h), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 320, h), fill=(40 + seed % 50, 44, 52))
    for row in range(60, h - 20, 18):
        width = 400 + (row * 7 + seed * 13) % 1100
        draw.rectangle((360, row, 360 + width, row + 9), fill=(60, 60, 70))
        draw.text((40, row), f"item {row} {seed}", fill=(220, 220, 220))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@dataclass
class Inputs:
    files: list[bytes]
    images: dict[str, list[bytes]]

    @classmethod
    def make(cls, sizes: _Sizes) -> Inputs:
        return cls(
            files=[os.urandom(MIB) for _ in range(sizes.files + 1)],
            images={
                "jpeg": [photo_jpeg(i) for i in range(sizes.images)],
                "png": [screenshot_png(i) for i in range(sizes.images)],
            },
        )
