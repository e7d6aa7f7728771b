"""Presence policy as pure functions: timeouts, what is worth telling, the wire form.

Spec: client-server API, "Presence" ("Last active ago", "Idle timeout"). The
rules follow Synapse's ``handle_timeout`` / ``should_notify`` /
``format_user_presence_state``, so clients see the same transitions.
"""

from __future__ import annotations

import attrs

from homeserver.storage.stores.presence import PresenceState, UserPresence
from homeserver.types import JsonDict

# A user is "currently active" for this long after their last activity; within
# it, further activity updates last_active_ts in memory without telling anyone
# (the spec's currently_active mechanism).
LAST_ACTIVE_GRANULARITY_MS = 60_000
PRESENCE_EVENT_TYPE = "m.presence"


@attrs.frozen
class Timeouts:
    """How long until idle (online -> unavailable) and until offline, in ms."""

    idle_ms: int
    sync_online_ms: int


def with_currently_active(state: UserPresence, now: int) -> UserPresence:
    """``currently_active`` recomputed: online and active within a minute."""
    active = (
        state.state == PresenceState.ONLINE
        and now - state.last_active_ts < LAST_ACTIVE_GRANULARITY_MS
    )
    if active == state.currently_active:
        return state
    return attrs.evolve(state, currently_active=active)


def apply_timeouts(
    state: UserPresence, now: int, syncing: bool, timeouts: Timeouts
) -> UserPresence:
    """The state after the idle and offline timeouts have been applied at ``now``.

    Args:
        syncing: whether a /sync (or socket) of the user is in progress.
    """
    if state.state == PresenceState.OFFLINE:
        return state
    new = state
    if new.state == PresenceState.ONLINE and (
        now - new.last_active_ts > timeouts.idle_ms
    ):
        new = attrs.evolve(new, state=PresenceState.UNAVAILABLE)
    # Someone who acted recently (PUT online, a send) but does not sync is not
    # taken offline until the timeout has passed since that, too.
    last_seen = max(new.last_user_sync_ts, new.last_active_ts)
    if not syncing and now - last_seen > timeouts.sync_online_ms:
        new = attrs.evolve(new, state=PresenceState.OFFLINE)
    return with_currently_active(new, now)


def should_notify(old: UserPresence, new: UserPresence) -> bool:
    """Whether a change is worth persisting and telling the user's audience."""
    if old.status_msg != new.status_msg or old.state != new.state:
        return True
    bumped = new.last_active_ts - old.last_active_ts > LAST_ACTIVE_GRANULARITY_MS
    if old.state == PresenceState.ONLINE:
        if old.currently_active != new.currently_active:
            return True
        # While currently_active, clients need no last-active updates.
        return bumped and not new.currently_active
    return bumped


def presence_content(state: UserPresence, now: int) -> JsonDict:
    """The content of an m.presence event, or a GET /presence/{userId}/status body.

    ``last_active_ago`` and ``currently_active`` are computed here, at read
    time, so they are always current.
    """
    content: JsonDict = {"presence": state.state}
    if state.last_active_ts:
        content["last_active_ago"] = max(0, now - state.last_active_ts)
    if state.status_msg:
        content["status_msg"] = state.status_msg
    if state.state == PresenceState.ONLINE:
        content["currently_active"] = with_currently_active(state, now).currently_active
    return content


def presence_event(state: UserPresence, now: int) -> JsonDict:
    """An m.presence event for /sync: ``{type, sender, content}``."""
    return {
        "type": PRESENCE_EVENT_TYPE,
        "sender": state.user_id,
        "content": presence_content(state, now),
    }
