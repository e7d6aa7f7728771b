"""Choosing a thumbnail size the way Synapse does (thumbnail_sizes.py)."""

from __future__ import annotations

import attrs
import pytest

from homeserver.services.media.thumbnail_sizes import (
    DEFAULT_THUMBNAIL_SIZES,
    ThumbnailSize,
    parse_method,
    select_thumbnail,
)


def pick(width: int, height: int, method: str) -> tuple[int, int, str] | None:
    size = select_thumbnail(DEFAULT_THUMBNAIL_SIZES, width, height, method)
    return None if size is None else (size.width, size.height, size.method)


def test_defaults_are_synapses() -> None:
    assert [(s.width, s.height, s.method) for s in DEFAULT_THUMBNAIL_SIZES] == [
        (32, 32, "crop"),
        (96, 96, "crop"),
        (320, 240, "scale"),
        (640, 480, "scale"),
        (800, 600, "scale"),
    ]


@pytest.mark.parametrize(
    ("request_size", "expected"),
    [
        ((20, 20, "crop"), (32, 32, "crop")),
        ((32, 32, "crop"), (32, 32, "crop")),
        ((50, 50, "crop"), (96, 96, "crop")),
        ((100, 50, "crop"), (96, 96, "crop")),
        ((500, 500, "crop"), (96, 96, "crop")),
        ((100, 100, "scale"), (320, 240, "scale")),
        ((400, 300, "scale"), (640, 480, "scale")),
        ((1000, 1000, "scale"), (800, 600, "scale")),
        ((96, 96, "CROP"), (96, 96, "crop")),
    ],
)
def test_selects_like_synapse(
    request_size: tuple[int, int, str], expected: tuple[int, int, str]
) -> None:
    assert pick(*request_size) == expected


def test_unknown_method_or_no_candidates_selects_nothing() -> None:
    assert pick(96, 96, "stretch") is None
    assert select_thumbnail([ThumbnailSize(96, 96, "crop")], 96, 96, "scale") is None


@attrs.frozen
class Stored:
    width: int
    height: int
    method: str
    content_type: str
    length: int


def test_stored_thumbnails_prefer_the_desired_type_then_the_smallest() -> None:
    stored = [
        Stored(96, 96, "crop", "image/jpeg", 500),
        Stored(96, 96, "crop", "image/png", 900),
        Stored(96, 96, "crop", "image/png", 700),
    ]
    chosen = select_thumbnail(
        stored,
        96,
        96,
        "crop",
        content_type=lambda s: s.content_type,
        desired_type="image/png",
        length=lambda s: s.length,
    )
    assert chosen is stored[2]


def test_parse_method() -> None:
    assert parse_method("crop") == "crop"
    assert parse_method("scale") == "scale"
    with pytest.raises(ValueError):
        parse_method("zoom")
