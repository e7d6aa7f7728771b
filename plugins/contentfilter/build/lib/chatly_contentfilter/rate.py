"""The per-user, per-room message rate limit: a sliding window of send
times in memory (nothing persisted; a restart forgets it)."""

from __future__ import annotations

from collections import deque

from chatly_contentfilter.config import RateLimit

MAX_TRACKED = 10_000
"""Above this many (room, user) windows, idle ones are dropped."""


class RateTracker:
    """Recent send times per (room, user), in ms on the server's clock."""

    def __init__(self) -> None:
        self._sent: dict[tuple[str, str], deque[int]] = {}

    def allow(self, room_id: str, user_id: str, limit: RateLimit, now_ms: int) -> bool:
        """Whether one more message is allowed now; if so, it is counted."""
        if limit.messages == 0:
            return True
        window_ms = int(limit.per_seconds * 1000)
        sent = self._sent.setdefault((room_id, user_id), deque())
        while sent and sent[0] <= now_ms - window_ms:
            sent.popleft()
        if len(sent) >= limit.messages:
            return False
        sent.append(now_ms)
        if len(self._sent) > MAX_TRACKED:
            self._forget_idle(now_ms - window_ms)
        return True

    def _forget_idle(self, before_ms: int) -> None:
        for key in [k for k, v in self._sent.items() if not v or v[-1] <= before_ms]:
            del self._sent[key]
