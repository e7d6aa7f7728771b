"""How far a per-room extension has sent each room on a connection.

For data where every change matters (receipts, room account data) a room
that drops out of scope and comes back must get what it missed (MSC4508:
"the client ends up with up-to-date state"). Each room is either

- *live*: up to date at the connection's previous position; its changes come
  from one query over all live rooms since that position;
- *behind* at a position: it left scope while it had unsent changes; when it
  is back in scope it gets the changes since that position;
- unknown (never sent, or no longer the user's): it gets its initial data.

The memory is ``{"live": [room IDs], "behind": {room ID: position}}``: one
entry per room of the user at most, whatever the connection's age.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import attrs

from homeserver.types import JsonDict

Fetch = Callable[[Collection[str], int | None], Awaitable[Mapping[str, Any]]]
"""(rooms, since position or None for initial data) -> room ID -> data."""


@attrs.frozen
class Progress:
    """One response's data per room, and the memory after it."""

    rooms: dict[str, Any]
    memory: JsonDict


async def progress(
    memory: JsonDict | None,
    scope: Collection[str],
    eligible: Collection[str],
    since: int | None,
    upto: int,
    fetch: Fetch,
    fresh: Collection[str] = (),
) -> Progress:
    """The data to send for the rooms in ``scope``.

    Args:
        memory: the memory of the previous response (None: nothing sent yet).
        scope: the rooms in scope, all of them ``eligible``.
        eligible: the rooms whose data the user may get (others are forgotten).
        since: the stream's position at the connection's previous response.
        upto: the stream's position now.
        fetch: reads the data of rooms since a position (None: initial data).
        fresh: rooms in scope that must get their initial data again.
    """
    live: set[str] = set()
    behind: dict[str, int] = {}
    if memory is not None and since is not None:
        live = {r for r in memory.get("live", ()) if r in eligible}
        behind = {r: p for r, p in memory.get("behind", {}).items() if r in eligible}
    in_scope = set(scope)
    out: dict[str, Any] = {}
    initial = [r for r in scope if r in fresh or (r not in live and r not in behind)]
    if initial:
        out.update(await fetch(initial, None))
    follow = live - set(initial)
    if follow and since is not None and since < upto:
        changed = await fetch(sorted(follow), since)
        for room_id, data in changed.items():
            if room_id in in_scope:
                out[room_id] = data
            else:  # it misses these: catch up when back in scope
                live.discard(room_id)
                behind[room_id] = since
    by_position: dict[int, list[str]] = {}
    for room_id in in_scope & behind.keys():
        if room_id not in initial:
            by_position.setdefault(behind[room_id], []).append(room_id)
    for position, rooms in sorted(by_position.items()):
        if position < upto:
            out.update(await fetch(sorted(rooms), position))
    for room_id in in_scope:
        behind.pop(room_id, None)
    live |= in_scope
    return Progress(out, {"live": sorted(live), "behind": behind})
