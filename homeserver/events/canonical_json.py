"""Canonical JSON: the byte encoding that hashes and signatures are computed over.

Spec: appendices.md "Canonical JSON"; rooms/fragments/v1-canonical-json.md and
v6-canonical-json.md (strict enforcement from room version 6).

Encoding is the shortest UTF-8 JSON with object keys sorted by code point and no
insignificant whitespace; Python's encoder (via the ``canonicaljson`` library)
already escapes exactly the characters the spec grammar requires (``"``, ``\\``
and U+0000-U+001F, using the short forms ``\\b \\t \\n \\f \\r`` where they exist and
lowercase ``\\u00XX`` otherwise).

Floats are still *encoded* in lax mode (as Python's shortest repr, as Synapse
does), because events in rooms v1-v5 may carry them (e.g. "floaty" power levels)
and their hashes were computed that way by the servers that sent them.
"""

from __future__ import annotations

from typing import Any

from canonicaljson import encode_canonical_json as _encode

# Integers must fit in an IEEE double without loss: [-(2**53)+1, (2**53)-1].
MIN_SAFE_INTEGER = -(2**53) + 1
MAX_SAFE_INTEGER = 2**53 - 1


class InvalidCanonicalJson(ValueError):
    """A value that canonical JSON can't (or, in strict mode, mustn't) encode."""


def check_canonical_json_values(value: Any) -> None:
    """Apply the strict (room v6+) canonical JSON value rules to ``value``.

    Rejects, anywhere in the structure: floats (including integral ones such as
    ``1.0``, and NaN/Infinity), integers outside
    ``[-(2**53)+1, (2**53)-1]``, and object keys that aren't strings.

    Args:
        value: a JSON-like structure of dicts, lists/tuples and scalars.

    Raises:
        InvalidCanonicalJson: describing the first offending value and where it is.
    """
    # Iterative walk, so deeply nested input can't exhaust the Python stack.
    stack: list[tuple[Any, str]] = [(value, "$")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, int):
            if not MIN_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                raise InvalidCanonicalJson(
                    f"integer at {path} is outside the range canonical JSON allows"
                )
        elif isinstance(item, float):
            raise InvalidCanonicalJson(
                f"float at {path} ({item!r}) is not allowed in canonical JSON"
            )
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise InvalidCanonicalJson(
                        f"object key {key!r} at {path} is not a string"
                    )
                stack.append((child, f"{path}.{key}"))
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))
        # Anything else is left for the encoder to reject with a TypeError.


def encode_canonical_json(value: Any, strict: bool = False) -> bytes:
    """Encode ``value`` as canonical JSON.

    Args:
        value: a JSON-like structure.
        strict: apply the room v6+ value rules (see
            :func:`check_canonical_json_values`) before encoding.

    Returns:
        The UTF-8 bytes.

    Raises:
        InvalidCanonicalJson: in strict mode, for a forbidden value; in either mode,
            for NaN/Infinity or strings that aren't valid Unicode (lone
            surrogates), which have no JSON encoding.
        TypeError: for values of non-JSON types.
    """
    if strict:
        check_canonical_json_values(value)
    try:
        return _encode(value)
    except ValueError as e:  # NaN/Infinity; UnicodeEncodeError is a ValueError too
        raise InvalidCanonicalJson(f"value has no canonical JSON encoding: {e}") from e
