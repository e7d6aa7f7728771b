"""The values a request may carry: one rule for strings and numbers at the edge.

Both database engines must see the same input, and PostgreSQL refuses a NUL
character (U+0000) in a text column where SQLite stores it, so no string with
a NUL may reach a service: not in a request body (keys and values, at any
depth, event content included), not in a path or query parameter.

Integers must fit canonical JSON (spec: appendices "Canonical JSON"): a value
outside [-(2**53)+1, 2**53-1] could not go into an event, and one past 64 bits
cannot go into a database column at all. Floats must be finite (``1e999``
parses as infinity).

The walk is iterative, so deeply nested input cannot exhaust the stack.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

MIN_SAFE_INTEGER = -(2**53) + 1
MAX_SAFE_INTEGER = 2**53 - 1
NUL = "\x00"
# Keys longer than this are cut short when a message names them.
_KEY_SHOWN = 60
# What JSON text must contain to hold a bad value: the escape of a NUL (a raw
# control character is not valid JSON), an integer of 16 or more digits
# (2**53 has 16), or an exponent of 3 or more digits (floats overflow at
# 1e309).
_SUSPECT = re.compile(rb"\\u0000|[0-9]{16}|[eE][-+]?[0-9]{3}")


def may_hold_bad_value(raw: bytes) -> bool:
    """Whether the JSON text ``raw`` could hold a value ``find_bad_value``
    refuses: a quick scan, so that most bodies are never walked."""
    return _SUSPECT.search(raw) is not None


def _join(path: str, key: str | int) -> str:
    """``path.key``, the same notation as request-body structuring errors."""
    if isinstance(key, str) and len(key) > _KEY_SHOWN:
        key = key[:_KEY_SHOWN] + "..."
    if isinstance(key, str):
        key = key.replace(NUL, "\\u0000")
    return f"{path}.{key}" if path else str(key)


def find_bad_value(
    value: Any, path: str = "", skip: Iterable[str] = (), nul_only: bool = False
) -> str | None:
    """Describe the first value in ``value`` that breaks the rules, or None.

    Args:
        value: parsed JSON.
        path: the key path of ``value`` itself, for the message.
        skip: top-level keys of ``value`` left unchecked (a caller checks each
            item under them on its own, e.g. the PDUs of a transaction).
        nul_only: check only for NUL (remote events, whose numbers follow the
            rules of their room version).

    Returns:
        A message naming the field, e.g. ``content.body: must not contain a NUL
        character (U+0000)``, or None if every value is acceptable.
    """
    skipped = set(skip)
    stack: list[tuple[Any, str, bool]] = [(value, path, True)]
    while stack:
        item, where, top = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return f"{where or '(top level)'}: must not contain a NUL character (U+0000)"
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not nul_only and not MIN_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return (
                    f"{where or '(top level)'}: integer out of range (canonical "
                    f"JSON allows {MIN_SAFE_INTEGER} to {MAX_SAFE_INTEGER})"
                )
        elif isinstance(item, float):
            if not nul_only and not math.isfinite(item):
                return f"{where or '(top level)'}: number out of range"
        elif isinstance(item, dict):
            for key in item:
                if isinstance(key, str) and NUL in key:
                    return (
                        f"{_join(where, key)}: a key must not contain a NUL "
                        "character (U+0000)"
                    )
            # Pushed in reverse, so the first bad value in document order is
            # the one named.
            stack.extend(
                (child, _join(where, key), False)
                for key, child in reversed(item.items())
                if not (top and key in skipped)
            )
        elif isinstance(item, list | tuple):
            stack.extend(
                (child, _join(where, i), False)
                for i, child in reversed(list(enumerate(item)))
            )
    return None


def has_nul(*values: str | None) -> bool:
    """Whether any of the strings holds a NUL character."""
    return any(value is not None and NUL in value for value in values)
