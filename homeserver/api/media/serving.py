"""How a media file is answered: headers and byte ranges.

Spec: client-server API "Content repository" (Content-Type and
Content-Disposition of downloads, v1.12), RFC 6266 / RFC 5987 for the file
name, RFC 9110 for ``Range``. Only types a browser cannot run script from are
served ``inline``; every response is sandboxed by its Content-Security-Policy.
"""

from __future__ import annotations

import re
import urllib.parse

from homeserver.api.http.site import Response

# As Synapse's INLINE_CONTENT_TYPES: types that are safe to render in a page.
INLINE_CONTENT_TYPES = frozenset(
    {
        "text/css",
        "text/plain",
        "text/csv",
        "application/json",
        "application/ld+json",
        "image/jpeg",
        "image/gif",
        "image/png",
        "image/apng",
        "image/webp",
        "image/avif",
        "video/mp4",
        "video/webm",
        "video/ogg",
        "video/quicktime",
        "audio/mp4",
        "audio/webm",
        "audio/aac",
        "audio/mpeg",
        "audio/ogg",
        "audio/wave",
        "audio/wav",
        "audio/x-wav",
        "audio/x-pn-wav",
        "audio/flac",
        "audio/x-flac",
    }
)

MEDIA_HEADERS = {
    "Content-Security-Policy": (
        "sandbox; default-src 'none'; script-src 'none'; plugin-types "
        "application/pdf; style-src 'unsafe-inline'; media-src 'self'; "
        "object-src 'self';"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Cache-Control": "public,max-age=86400,s-maxage=86400",
    "Accept-Ranges": "bytes",
}

# Characters of an RFC 9110 token that may stand as a plain quoted filename.
_PLAIN_FILENAME = re.compile(r"^[\x20-\x7e]+$")
_UNSATISFIABLE = (-1, -1)
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def content_type_header(media_type: str) -> str:
    """The Content-Type to send: text types get a UTF-8 charset if they name none."""
    if media_type.lower().startswith("text/") and "charset" not in media_type.lower():
        return f"{media_type}; charset=UTF-8"
    return media_type


def content_disposition(media_type: str, filename: str | None) -> str:
    """``inline`` for safe types, ``attachment`` otherwise, with the file name
    as a quoted string if it is plain ASCII, else RFC 5987 ``filename*``."""
    base = media_type.split(";", 1)[0].strip().lower()
    disposition = "inline" if base in INLINE_CONTENT_TYPES else "attachment"
    if not filename:
        return disposition
    if _PLAIN_FILENAME.match(filename) and '"' not in filename and "\\" not in filename:
        return f'{disposition}; filename="{filename}"'
    quoted = urllib.parse.quote(filename, safe="")
    return f"{disposition}; filename*=utf-8''{quoted}"


def media_response(
    data: bytes, media_type: str, filename: str | None, range_header: str | None
) -> Response:
    """The response for a download: 200 with the whole file, or 206 with one
    byte range, or 416 for a range outside it (multi-range requests get the
    whole file, which RFC 9110 allows)."""
    headers = dict(MEDIA_HEADERS)
    headers["Content-Disposition"] = content_disposition(media_type, filename)
    content_type = content_type_header(media_type)
    span = _parse_range(range_header, len(data)) if range_header else None
    if span is None:
        return Response(data, content_type, headers=headers)
    if span == _UNSATISFIABLE:
        headers["Content-Range"] = f"bytes */{len(data)}"
        return Response(b"", content_type, code=416, headers=headers)
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
    return Response(data[start : end + 1], content_type, code=206, headers=headers)


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive; ``_UNSATISFIABLE``; None to ignore it."""
    match = _RANGE.match(value.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            return _UNSATISFIABLE
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size:
        return _UNSATISFIABLE
    if end < start:
        return None
    return start, min(end, size - 1)
