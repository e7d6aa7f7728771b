"""Decoding path and query parameters: strictly, the same for every transport.

A parameter must be valid percent-encoding (``%`` and two hex digits) of valid
UTF-8, and must not contain a NUL character; anything else is answered 400
M_INVALID_PARAM naming the parameter, before an endpoint sees it (see
``homeserver/util/json_values.py`` for why NUL is refused at the edge).
"""

from __future__ import annotations

import re

from homeserver.errors import InvalidParam
from homeserver.util.json_values import NUL

_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")
_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def _unquote(raw: str | bytes, plus_is_space: bool) -> str | None:
    """``raw`` percent-decoded and read as UTF-8, or None if it is not valid."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    if plus_is_space:
        data = data.replace(b"+", b" ")
    if _BAD_PERCENT.search(data):
        return None
    decoded = _PERCENT.sub(lambda m: bytes([int(m.group(1), 16)]), data)
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None


def decode_path_param(name: str, raw: str) -> str:
    """One path parameter, percent-decoded.

    Raises:
        InvalidParam: bad percent-encoding, invalid UTF-8 or a NUL character.
    """
    value = _unquote(raw, plus_is_space=False)
    if value is None:
        raise InvalidParam(
            f"Path parameter {name!r} is not valid percent-encoded UTF-8"
        )
    if NUL in value:
        raise InvalidParam(
            f"Path parameter {name!r} must not contain a NUL character (U+0000)"
        )
    return value


def parse_query(raw: str | bytes) -> dict[str, list[str]]:
    """A query string as name -> values, in order (blank values kept).

    Raises:
        InvalidParam: a name or value with bad percent-encoding, invalid UTF-8
            or a NUL character.
    """
    query: dict[str, list[str]] = {}
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    for part in raw.split(b"&"):
        if not part:
            continue
        raw_name, _, raw_value = part.partition(b"=")
        name = _unquote(raw_name, plus_is_space=True)
        if name is None:
            raise InvalidParam(
                "A query parameter name is not valid percent-encoded UTF-8"
            )
        if NUL in name:
            raise InvalidParam(
                "A query parameter name must not contain a NUL character (U+0000)"
            )
        shown = name[:60]
        value = _unquote(raw_value, plus_is_space=True)
        if value is None:
            raise InvalidParam(
                f"Query parameter {shown!r} is not valid percent-encoded UTF-8"
            )
        if NUL in value:
            raise InvalidParam(
                f"Query parameter {shown!r} must not contain a NUL character (U+0000)"
            )
        query.setdefault(name, []).append(value)
    return query
