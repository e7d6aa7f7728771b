"""Thumbnail sizes: the defaults and choosing the best one for a request.

Spec: client-server API, "Content repository" -> "Thumbnails". A server keeps
a fixed list of sizes and answers a request for any size with the closest one
it has (or makes), the way Synapse's ``_select_thumbnail`` chooses among its
stored thumbnails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol, TypeVar

import attrs

ThumbnailMethod = Literal["scale", "crop"]
THUMBNAIL_METHODS: tuple[ThumbnailMethod, ...] = ("scale", "crop")


def parse_method(value: str) -> ThumbnailMethod:
    """``value`` as a thumbnail method.

    Raises:
        ValueError: when it is neither ``scale`` nor ``crop``.
    """
    if value == "scale":
        return "scale"
    if value == "crop":
        return "crop"
    raise ValueError(f"unknown thumbnail method {value!r}")


@attrs.frozen
class ThumbnailSize:
    """One configured thumbnail size.

    Attributes:
        width: the box's width in pixels.
        height: the box's height in pixels.
        method: ``crop`` fills the box exactly; ``scale`` fits the image inside
            it, keeping the aspect ratio and never enlarging.
    """

    width: int
    height: int
    method: ThumbnailMethod


# Synapse's default ``thumbnail_sizes``.
DEFAULT_THUMBNAIL_SIZES: tuple[ThumbnailSize, ...] = (
    ThumbnailSize(32, 32, "crop"),
    ThumbnailSize(96, 96, "crop"),
    ThumbnailSize(320, 240, "scale"),
    ThumbnailSize(640, 480, "scale"),
    ThumbnailSize(800, 600, "scale"),
)


class SizedThumbnail(Protocol):
    """What selection needs to know of a candidate."""

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def method(self) -> str: ...


T = TypeVar("T", bound=SizedThumbnail)


def select_thumbnail(
    candidates: Sequence[T],
    width: int,
    height: int,
    method: str,
    *,
    content_type: Callable[[T], str | None] | None = None,
    desired_type: str | None = None,
    length: Callable[[T], int] | None = None,
) -> T | None:
    """The candidate that best answers a request for ``width``x``height``.

    Only candidates made with the requested method count. Those at least as
    large as the request in one dimension are preferred; among them the
    closest in size wins (for ``crop`` the closest aspect ratio first, then
    one that covers the whole request), then one of the desired content type,
    then the smallest file. Ties go to the earlier candidate.

    Args:
        candidates: configured sizes or stored thumbnails.
        width: the requested width.
        height: the requested height.
        method: ``scale`` or ``crop``; anything else selects nothing.
        content_type: reads a candidate's content type, for stored thumbnails.
        desired_type: the content type to prefer.
        length: reads a candidate's size in bytes, for stored thumbnails.

    Returns:
        The chosen candidate, or None when none was made with ``method``.
    """
    method = method.lower()
    larger: list[tuple[tuple[int, ...], int]] = []
    smaller: list[tuple[tuple[int, ...], int]] = []
    for index, candidate in enumerate(candidates):
        if candidate.method != method:
            continue
        t_w, t_h = candidate.width, candidate.height
        size_quality = abs((width - t_w) * (height - t_h))
        type_quality = int(
            desired_type is not None
            and content_type is not None
            and content_type(candidate) != desired_type
        )
        length_quality = length(candidate) if length is not None else 0
        key: tuple[int, ...]
        if method == "crop":
            aspect_quality = abs(width * t_h - height * t_w)
            min_quality = 0 if width <= t_w and height <= t_h else 1
            key = (aspect_quality, min_quality, size_quality, type_quality)
        else:
            key = (size_quality, type_quality)
        key = (*key, length_quality)
        bucket = larger if t_w >= width or t_h >= height else smaller
        bucket.append((key, index))
    for bucket in (larger, smaller):
        if bucket:
            return candidates[min(bucket)[1]]
    return None
