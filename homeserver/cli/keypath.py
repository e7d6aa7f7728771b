"""Dotted key paths (``listeners.0.port``) into plain YAML data."""

from __future__ import annotations

import difflib
from typing import Any

from homeserver.cli.errors import CliError


def split_key(key: str) -> list[str]:
    """The segments of a dotted key path.

    Raises:
        CliError: the path is empty or has an empty segment.
    """
    parts = key.split(".")
    if not key or any(not part for part in parts):
        raise CliError(
            f"invalid key {key!r}: expected a dotted path like server.server_name"
        )
    return parts


def _where(parts: list[str], count: int) -> str:
    return ".".join(parts[:count]) or "the top level"


def _did_you_mean(segment: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(segment, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _index(parts: list[str], i: int, items: list[Any]) -> int:
    segment = parts[i]
    if not segment.isdigit() or int(segment) >= len(items):
        where = f"unknown key {'.'.join(parts)!r}: {_where(parts, i)}"
        if not items:
            raise CliError(f"{where} is an empty list")
        raise CliError(
            f"{where} is a list of {len(items)} item(s), so {segment!r} must be "
            f"an index from 0 to {len(items) - 1}"
        )
    return int(segment)


def _step(parts: list[str], i: int, node: Any) -> Any:
    segment = parts[i]
    if isinstance(node, dict):
        if segment not in node:
            hint = _did_you_mean(segment, [str(k) for k in node])
            raise CliError(
                f"unknown key {'.'.join(parts)!r}: {_where(parts, i)} has no "
                f"{segment!r}{hint}"
            )
        return node[segment]
    if isinstance(node, list):
        return node[_index(parts, i, node)]
    raise CliError(
        f"unknown key {'.'.join(parts)!r}: {_where(parts, i)} is a single value, "
        "not a mapping or list"
    )


def lookup(data: Any, key: str) -> Any:
    """The value at ``key`` in ``data``.

    Raises:
        CliError: naming the key when it does not exist.
    """
    parts = split_key(key)
    node = data
    for i in range(len(parts)):
        node = _step(parts, i, node)
    return node


def assign(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` in ``data`` to ``value``, in place.

    Missing (or empty) mappings on the way are created; list items must exist.

    Raises:
        CliError: the path runs through a list index that does not exist, or
            through a single value.
    """
    parts = split_key(key)
    node: Any = data
    for i, segment in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            index = _index(parts, i, node)
            if last:
                node[index] = value
                return
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[segment] = value
                return
            if node.get(segment) is None:
                if parts[i + 1].isdigit():
                    raise CliError(
                        f"cannot set {key!r}: {_where(parts, i + 1)} is not in the "
                        "file, and list items must exist before they can be set"
                    )
                node[segment] = {}
            node = node[segment]
        else:
            raise CliError(
                f"cannot set {key!r}: {_where(parts, i)} is a single value, "
                "not a mapping or list"
            )


def remove(data: dict[str, Any], key: str) -> None:
    """Delete ``key`` from ``data``, in place.

    Raises:
        CliError: the key is not in ``data``, or names a list item.
    """
    parts = split_key(key)
    try:
        parent = lookup(data, ".".join(parts[:-1])) if len(parts) > 1 else data
    except CliError:
        parent = None
    if isinstance(parent, dict) and parts[-1] in parent:
        del parent[parts[-1]]
        if not parent and len(parts) > 1:
            # Drop the section it leaves empty, e.g. `metrics: {}`.
            _remove_if_empty(data, parts[:-1])
        return
    if isinstance(parent, list):
        raise CliError(f"cannot unset {key!r}: list items cannot be removed")
    raise CliError(f"{key!r} is not set in the file, so it already has its default")


def _remove_if_empty(data: dict[str, Any], parts: list[str]) -> None:
    """Delete empty mappings at ``parts`` and above (never list items)."""
    while parts:
        parent = lookup(data, ".".join(parts[:-1])) if len(parts) > 1 else data
        if not isinstance(parent, dict) or parent.get(parts[-1]) != {}:
            return
        del parent[parts[-1]]
        parts = parts[:-1]
