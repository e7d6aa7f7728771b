"""Which state a sliding-sync room entry carries in ``required_state``
(MSC4186, "RequiredStateRequest" and "Lazy loaded memberships").

Pure: given the room's state now (and, for a room the client already has,
the state it was last sent at) it picks the entries to send.

- A room sent for the first time: the state matching the config.
- A room the client has: only what changed since it was last sent and
  matches the config (a removed entry as a ``{type, state_key}`` stub), plus,
  when the config grew, the state only the new config matches.
- Lazy members: the membership of the timeline's senders and of the targets
  of its membership events, not those sent before on the connection; when
  the timeline is not ``limited``, every membership change too (after a gap
  the client drops its member-list cache, MSC4186; members sent before whose
  membership changed in the gap are sent again when they appear). Memberships
  sent this way ignore ``exclude``.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.services.sliding_sync.model import RequiredState

# How many lazily sent members a connection remembers per room; past it the
# oldest are forgotten (and may be sent again).
MAX_LAZY_REMEMBERED = 100

StateMap = dict[StateKey, str]


@attrs.frozen
class StatePick:
    """What to send: key -> event ID (None: a stub for removed state)."""

    picked: dict[StateKey, str | None]
    lazy_sent: list[str]
    changed: frozenset[StateKey]


def lazy_users(timeline: Iterable[Event]) -> list[str]:
    """Senders, and targets of membership events, in timeline order."""
    out: dict[str, None] = {}
    for event in timeline:
        out[event.sender] = None
        if event.type == EventTypes.MEMBER and event.state_key:
            out[event.state_key] = None
    return list(out)


def pick_state(
    wanted: RequiredState,
    now: StateMap,
    then: StateMap | None,
    *,
    old: RequiredState | None,
    timeline: list[Event],
    limited: bool,
    lazy_sent: Iterable[str],
) -> StatePick:
    """The ``required_state`` entries of one room entry.

    Args:
        wanted: the room's config (``$ME`` resolved).
        now: the state at the response (the part this needs of it).
        then: the state when the room was last sent; None for a room sent
            whole (initial).
        old: the config the room was last sent with, if it was.
        timeline: the events of the entry's timeline.
        limited: whether that timeline has a gap.
        lazy_sent: members sent lazily before on the connection.
    """
    picked: dict[StateKey, str | None] = {}
    changed: frozenset[StateKey] = frozenset()
    if then is None:
        picked = {k: v for k, v in now.items() if wanted.matches(*k)}
    else:
        changed = frozenset(
            k for k in now.keys() | then.keys() if now.get(k) != then.get(k)
        )
        picked = {k: now.get(k) for k in changed if wanted.matches(*k)}
        if old is not None:
            picked.update(
                (k, v)
                for k, v in now.items()
                if wanted.matches(*k) and not old.matches(*k)
            )
    lazy: list[str] = []
    if wanted.lazy_members:
        fresh = then is None or old is None or not old.lazy_members
        # A member whose membership changed since is no longer known to the
        # client as it was sent: sent again when needed.
        moved = {k[1] for k in changed if k[0] == EventTypes.MEMBER}
        before = set() if fresh else set(lazy_sent) - moved
        users = lazy_users(timeline)
        for user_id in users:
            key = (EventTypes.MEMBER, user_id)
            if user_id not in before and key in now:
                picked[key] = now[key]
        if then is not None and not limited:
            picked.update((k, now.get(k)) for k in changed if k[0] == EventTypes.MEMBER)
        kept = list(before)
        sent_now = [u for u in users if (EventTypes.MEMBER, u) in now]
        sent_now += [k[1] for k in picked if k[0] == EventTypes.MEMBER]
        lazy = list(dict.fromkeys([*sent_now, *sorted(kept)]))[:MAX_LAZY_REMEMBERED]
    return StatePick(picked, lazy, changed)
