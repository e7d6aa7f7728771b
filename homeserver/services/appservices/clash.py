"""Detecting a clash of exclusive namespaces between two registrations.

Whether two regexes share a match is hard in general; this checks the cases
that happen in practice: each exclusive regex yields a few example strings
(its shortest match and one with every repetition taken once more), and a
clash is an example of one registration's exclusive regex that the other
registration's exclusive regex of the same kind also matches.
"""

from __future__ import annotations

import re
from re import _constants as c  # type: ignore[attr-defined]
from re import _parser as parser  # type: ignore[attr-defined]
from typing import Any

_CATEGORY_SAMPLES = {
    c.CATEGORY_DIGIT: "0",
    c.CATEGORY_NOT_DIGIT: "a",
    c.CATEGORY_SPACE: " ",
    c.CATEGORY_NOT_SPACE: "a",
    c.CATEGORY_WORD: "a",
    c.CATEGORY_NOT_WORD: "-",
}


def examples(regex: str) -> list[str]:
    """A few strings ``regex`` matches (none if it is too unusual to sample)."""
    try:
        parsed = parser.parse(regex)
    except re.error:
        return []
    found = []
    for extra in (0, 1):
        try:
            found.append(_sample(parsed, extra))
        except _Unsampleable:
            continue
    return [s for s in dict.fromkeys(found) if re.match(regex, s)]


class _Unsampleable(Exception):
    pass


def _sample(items: Any, extra: int) -> str:
    return "".join(_sample_one(op, arg, extra) for op, arg in items)


def _sample_one(op: Any, arg: Any, extra: int) -> str:
    if op is c.LITERAL:
        return chr(arg)
    if op is c.NOT_LITERAL:
        return "a" if arg != ord("a") else "b"
    if op is c.ANY:
        return "x"
    if op is c.IN:
        return _sample_in(arg)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        low, high, body = arg
        count = low + extra
        if high is not c.MAXREPEAT:
            count = min(count, high)
        return _sample(body, extra) * count
    if op is c.SUBPATTERN:
        return _sample(arg[-1], extra)
    if op is c.BRANCH:
        return _sample(arg[1][0], extra)
    if op is c.AT:
        return ""
    raise _Unsampleable(op)


def _sample_in(items: Any) -> str:
    for op, arg in items:
        if op is c.NEGATE:
            raise _Unsampleable(op)
        if op is c.LITERAL:
            return chr(arg)
        if op is c.RANGE:
            return chr(arg[0])
        if op is c.CATEGORY and arg in _CATEGORY_SAMPLES:
            return _CATEGORY_SAMPLES[arg]
    raise _Unsampleable(c.IN)


def overlaps(regex_a: str, regex_b: str) -> bool:
    """Whether the two regexes (probably) share a match."""
    if regex_a == regex_b:
        return True
    return any(re.match(regex_b, s) for s in examples(regex_a)) or any(
        re.match(regex_a, s) for s in examples(regex_b)
    )
