#!/usr/bin/env python3
"""Thumbnail generation time: ours and Synapse's, on the same images.

Makes three test images with Pillow (a 2048x1536 JPEG photo, a 1024x1024 PNG
with alpha, a 20-frame 480x270 GIF), then times making the five default sizes
(32x32 and 96x96 crop, 320x240, 640x480 and 800x600 scale) from each, once per
round, decoding the image once per round, as both servers do on upload:

- ours: ``homeserver.services.media.thumbnailer.make_thumbnails``, in process;
- Synapse's: ``synapse.media.thumbnailer.Thumbnailer`` (EXIF transpose, then
  ``crop``/``scale`` per size), in the interop tier's cached Synapse virtualenv
  (tests/interop/synapse.py; installed on first use), in a child process.

    python bench/thumbnail_bench.py [--rounds 20] [--no-synapse]

prints one JSON line per image: the median milliseconds per round for each.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from homeserver.services.media.thumbnail_sizes import (  # noqa: E402
    DEFAULT_THUMBNAIL_SIZES,
)
from homeserver.services.media.thumbnailer import make_thumbnails  # noqa: E402

# Runs in Synapse's virtualenv: argv = rounds, then (path, output type,
# animated) triples; prints {path: [milliseconds per round]} as JSON.
SYNAPSE_SIDE = r"""
import json, sys, time
from synapse.media.thumbnailer import Thumbnailer
SIZES = [(32, 32, "crop"), (96, 96, "crop"), (320, 240, "scale"),
         (640, 480, "scale"), (800, 600, "scale")]
rounds = int(sys.argv[1])
args = sys.argv[2:]
out = {}
for i in range(0, len(args), 3):
    path, out_type, animated = args[i], args[i + 1], args[i + 2] == "1"
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        with Thumbnailer(path) as t:
            t.transpose()
            for w, h, method in SIZES:
                if method == "crop":
                    t.crop(w, h, out_type, animated).getvalue()
                else:
                    tw, th = t.aspect(w, h)
                    tw, th = min(t.width, tw), min(t.height, th)
                    t.scale(tw, th, out_type, animated).getvalue()
        times.append((time.perf_counter() - started) * 1000)
    out[path] = times
print(json.dumps(out))
"""


def _images() -> dict[str, tuple[bytes, str, bool]]:
    """name -> (bytes, Synapse's output type for it, animated)."""
    photo = Image.effect_noise((2048, 1536), 60).convert("RGB")
    ImageDraw.Draw(photo).ellipse((300, 200, 1700, 1300), fill=(200, 80, 40))
    jpeg = io.BytesIO()
    photo.save(jpeg, "JPEG", quality=90)
    alpha = Image.new("RGBA", (1024, 1024), (0, 0, 0, 0))
    ImageDraw.Draw(alpha).rectangle((100, 100, 900, 900), fill=(20, 120, 250, 200))
    png = io.BytesIO()
    alpha.save(png, "PNG")
    frames = [
        Image.new("RGB", (480, 270), (12 * i, 255 - 12 * i, 90)) for i in range(20)
    ]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=50)
    return {
        "photo.jpg": (jpeg.getvalue(), "image/jpeg", False),
        "alpha.png": (png.getvalue(), "image/png", False),
        "animated.gif": (gif.getvalue(), "image/png", True),
    }


def _ours(data: bytes, animated: bool, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        make_thumbnails(data, DEFAULT_THUMBNAIL_SIZES, animated=animated)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _synapse(
    images: dict[str, tuple[bytes, str, bool]], directory: Path, rounds: int
) -> dict[str, list[float]]:
    sys.path.insert(0, str(ROOT / "tests"))
    from tests.interop.synapse import ensure_synapse

    python = ensure_synapse()
    args = [str(rounds)]
    for name, (data, out_type, animated) in images.items():
        path = directory / name
        path.write_bytes(data)
        args += [str(path), out_type, "1" if animated else "0"]
    result = subprocess.run(
        [str(python), "-c", SYNAPSE_SIDE, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    times: dict[str, list[float]] = json.loads(result.stdout)
    return {Path(path).name: value for path, value in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--no-synapse", action="store_true")
    options = parser.parse_args()
    images = _images()
    with tempfile.TemporaryDirectory() as tmp:
        theirs = (
            {} if options.no_synapse else _synapse(images, Path(tmp), options.rounds)
        )
    for name, (data, _, animated) in images.items():
        line: dict[str, object] = {
            "image": name,
            "bytes": len(data),
            "animated": animated,
            "ours_ms": round(
                statistics.median(_ours(data, animated, options.rounds)), 2
            ),
        }
        if name in theirs:
            line["synapse_ms"] = round(statistics.median(theirs[name]), 2)
        print(json.dumps(line))


if __name__ == "__main__":
    main()
