"""When an email pusher may mail about a room again (pure).

As Synapse: the first mail about a room starts a 10-minute back-off; each mail
sent while the room is still backed off multiplies it (up to a day); a room
quiet for 12 hours beyond its back-off starts afresh.
"""

from __future__ import annotations

from homeserver.storage.stores.email_throttle import RoomThrottle

THROTTLE_START_MS = 10 * 60 * 1000
THROTTLE_MAX_MS = 24 * 60 * 60 * 1000
THROTTLE_MULTIPLIER = 144
THROTTLE_RESET_AFTER_MS = 12 * 60 * 60 * 1000


def ready_at(throttle: RoomThrottle | None) -> int:
    """When the room may next be mailed about (ms; 0: at once)."""
    if throttle is None:
        return 0
    return throttle.last_sent_ts + throttle.throttle_ms


def after_sending(throttle: RoomThrottle | None, now_ms: int) -> RoomThrottle:
    """The room's throttle once a mail about it was sent at ``now_ms``."""
    if throttle is None or throttle.throttle_ms == 0:
        return RoomThrottle(last_sent_ts=now_ms, throttle_ms=THROTTLE_START_MS)
    quiet_ms = now_ms - ready_at(throttle)
    if quiet_ms > THROTTLE_RESET_AFTER_MS:
        return RoomThrottle(last_sent_ts=now_ms, throttle_ms=THROTTLE_START_MS)
    return RoomThrottle(
        last_sent_ts=now_ms,
        throttle_ms=min(throttle.throttle_ms * THROTTLE_MULTIPLIER, THROTTLE_MAX_MS),
    )
