"""Field-by-field comparison of two normalised responses, and the allow-list
of differences that are on purpose."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

MISSING = "<absent>"


@attrs.frozen
class Difference:
    """One place where the two responses disagree."""

    path: str
    chatly: Any
    synapse: Any

    def __str__(self) -> str:
        def show(v: Any) -> str:
            return v if v is MISSING else json.dumps(v, sort_keys=True)[:300]

        return f"{self.path}: chatly {show(self.chatly)} / synapse {show(self.synapse)}"


ANY = "<any>"


@attrs.frozen
class Allowed:
    """A listed difference: a path pattern (fnmatch, ``.``-separated), why
    the two servers differ there and, when given, the only value Synapse may
    have there."""

    pattern: str
    reason: str
    synapse: Any = ANY

    def covers(self, difference: Difference) -> bool:
        if self.synapse is not ANY and difference.synapse != self.synapse:
            return False
        return fnmatch.fnmatchcase(difference.path, self.pattern)


def diff(chatly: Any, synapse: Any, path: str = "") -> list[Difference]:
    """Every place where ``chatly`` and ``synapse`` differ: a key only one
    has, lists of different lengths, unequal scalars."""
    if isinstance(chatly, dict) and isinstance(synapse, dict):
        out: list[Difference] = []
        for key in sorted(set(chatly) | set(synapse)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in synapse:
                out.append(Difference(sub, chatly[key], MISSING))
            elif key not in chatly:
                out.append(Difference(sub, MISSING, synapse[key]))
            else:
                out.extend(diff(chatly[key], synapse[key], sub))
        return out
    if isinstance(chatly, list) and isinstance(synapse, list):
        if len(chatly) != len(synapse):
            return [Difference(path, chatly, synapse)]
        out = []
        for i, (a, b) in enumerate(zip(chatly, synapse, strict=True)):
            out.extend(diff(a, b, f"{path}.{i}"))
        return out
    if chatly != synapse or type(chatly) is not type(synapse):
        return [Difference(path, chatly, synapse)]
    return []


def unexplained(
    differences: Iterable[Difference], allowed: Sequence[Allowed]
) -> list[Difference]:
    """The differences no allow-list entry covers."""
    return [d for d in differences if not any(a.covers(d) for a in allowed)]


def unused(
    differences: Iterable[Difference], allowed: Sequence[Allowed]
) -> list[Allowed]:
    """Allow-list entries that cover no difference (stale: remove them)."""
    found = list(differences)
    return [a for a in allowed if not any(a.covers(d) for d in found)]
