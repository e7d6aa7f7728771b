"""Dot-separated property paths and glob matching (spec v1.19 appendices).

``content.m\\.relates_to.rel_type`` names ``content["m.relates_to"]["rel_type"]``:
a backslash escapes a dot or a backslash; any other ``\\x`` is a literal
backslash followed by ``x``.
"""

from __future__ import annotations

import re
from functools import lru_cache

# The spec's word characters: a word boundary is the start or end of the
# value or any character outside these sets.
_WORD = "A-Za-z0-9_"


@lru_cache(maxsize=4096)
def split_path(path: str) -> tuple[str, ...]:
    """The property names of a dot-separated path, escapes resolved."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(path):
        char = path[i]
        if char == "\\" and i + 1 < len(path) and path[i + 1] in ".\\":
            current.append(path[i + 1])
            i += 2
            continue
        if char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return tuple(parts)


def escape_key(name: str) -> str:
    """One property name escaped for a dot-separated path."""
    return name.replace("\\", "\\\\").replace(".", "\\.")


def has_wildcards(pattern: str) -> bool:
    """Whether a glob has ``*`` or ``?`` (else it matches by equality)."""
    return "*" in pattern or "?" in pattern


def _glob_body(pattern: str) -> str:
    return "".join(
        ".*?" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
    )


@lru_cache(maxsize=8192)
def glob_regex(pattern: str, *, word_boundary: bool) -> re.Pattern[str]:
    """A compiled, case-insensitive regex for a glob.

    Args:
        pattern: ``*`` matches zero or more characters, ``?`` exactly one.
        word_boundary: match any substring that starts and ends at a word
            boundary (``content.body``), else the whole value.
    """
    body = _glob_body(pattern)
    if word_boundary:
        source = f"(?<![{_WORD}]){body}(?![{_WORD}])"
    else:
        source = f"{body}\\Z"
    return re.compile(source, re.DOTALL | re.IGNORECASE)


@lru_cache(maxsize=8192)
def literal_word_regex(text: str) -> re.Pattern[str]:
    """A regex finding ``text`` literally between word boundaries, any case."""
    return re.compile(f"(?<![{_WORD}]){re.escape(text)}(?![{_WORD}])", re.IGNORECASE)
