"""Per-key "not again before" times, bounded in size: negative caches such as
"this server did not answer, don't ask it again for a minute"."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

# Entries kept before expired ones are dropped (a flood of made-up server
# names must not grow memory without bound).
MAX_DEADLINES = 10_000


class Deadlines(Generic[K]):
    """Times before which something must not be done again, per key; expired
    entries are dropped once there are ``max_entries``, and the oldest if
    none has expired."""

    def __init__(self, max_entries: int = MAX_DEADLINES) -> None:
        self.max_entries = max_entries
        self._until: dict[K, int] = {}

    def __len__(self) -> int:
        return len(self._until)

    def passed(self, key: K, now_ms: int) -> bool:
        """Whether ``key`` may be acted on at ``now_ms``."""
        return self._until.get(key, 0) <= now_ms

    def set(self, key: K, until_ms: int, now_ms: int) -> None:
        """Hold ``key`` off until ``until_ms``."""
        if len(self._until) >= self.max_entries:
            self._until = {k: t for k, t in self._until.items() if t > now_ms}
            while len(self._until) >= self.max_entries:
                del self._until[next(iter(self._until))]
        self._until.pop(key, None)
        self._until[key] = until_ms
