"""Token-bucket rate limiting keyed by action and requester.

``Ratelimiter`` is what every domain is given: async ``check``, ``record`` and
``check_requester``. One process keeps its buckets in memory
(``MemoryRatelimiter``); a worker deployment keeps them in Redis
(``homeserver/workers/redis_ratelimit.py``), so a user whose requests land
on several processes still has one bucket per (action, key). Both count the
same way: a bucket holds up to ``burst_count`` actions and drains at
``per_second``; an action that does not fit is refused with 429
M_LIMIT_EXCEEDED and ``retry_after_ms``, the time until it would.
"""

from __future__ import annotations

from typing import Literal, Protocol

from homeserver.config.model import RateLimit
from homeserver.errors import LimitExceeded
from homeserver.util.clock import Clock


class RateLimited(Protocol):
    """Who a per-user limit is about: a ``Requester``."""

    @property
    def user_id(self) -> str:
        """The user the bucket is kept for."""

    @property
    def ratelimit_exempt(self) -> bool:
        """Whether per-user limits spare this requester."""


def retry_after_ms(level: float, cost: int, rate: RateLimit) -> int:
    """Milliseconds until ``cost`` more actions fit a bucket at ``level``
    (rounded up past the instant, so a retry then fits)."""
    wait = (level + cost - rate.burst_count) / rate.per_second
    return int(wait * 1000) + 1


Mode = Literal["count", "ask", "record"]
"""What a bucket is asked: check and count, check only, or count without
refusing."""


class Ratelimiter:
    """Counts actions per (action, key) and refuses those past the rate.

    Subclasses keep the buckets (``_take``); ``enabled`` False answers every
    check with "allowed" and counts nothing.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    async def check(
        self,
        action: str,
        key: str,
        rate: RateLimit,
        update: bool = True,
        cost: int = 1,
    ) -> None:
        """Count ``cost`` actions; raise 429 M_LIMIT_EXCEEDED if they do not fit.

        Args:
            action: what is limited, e.g. ``login_address``.
            key: who does it, e.g. an IP address or user ID.
            rate: the configured limit.
            update: count the actions (False only asks).
            cost: how many actions this is (e.g. new servers contacted).

        Raises:
            LimitExceeded: 429 M_LIMIT_EXCEEDED with ``retry_after_ms``.
        """
        if not self.enabled:
            return
        wait_ms = await self._take(
            action, key, rate, cost, "count" if update else "ask"
        )
        if wait_ms is not None:
            raise LimitExceeded(retry_after_ms=wait_ms)

    async def record(self, action: str, key: str, rate: RateLimit) -> None:
        """Count an action without refusing it (e.g. a failed login)."""
        if self.enabled:
            await self._take(action, key, rate, 1, "record")

    async def _take(
        self, action: str, key: str, rate: RateLimit, cost: int, mode: Mode
    ) -> int | None:
        """Drain the bucket to now, then do ``mode`` with ``cost`` actions.
        A refused check leaves the count as it was.

        Returns:
            None when allowed (always for ``record``), else ``retry_after_ms``.
        """
        raise NotImplementedError

    async def check_requester(
        self,
        action: str,
        requester: RateLimited,
        rate: RateLimit,
        key: str | None = None,
        cost: int = 1,
    ) -> None:
        """A per-user limit: ``check`` keyed by the requester's user ID (or
        ``key``), except for requesters ``ratelimit_exempt`` spares.

        Raises:
            LimitExceeded: 429 M_LIMIT_EXCEEDED with ``retry_after_ms``.
        """
        if requester.ratelimit_exempt:
            return
        await self.check(
            action, requester.user_id if key is None else key, rate, cost=cost
        )

    def close(self) -> None:
        """At shutdown: let go of where the buckets live (memory: nothing)."""


class MemoryRatelimiter(Ratelimiter):
    """The buckets of one process, in memory.

    Entries that have drained are dropped as they are touched, so the table
    stays as small as the set of recently active keys.
    """

    def __init__(self, clock: Clock, enabled: bool = True) -> None:
        super().__init__(enabled)
        self.clock = clock
        # key -> (tokens used, time of last update)
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    async def _take(
        self, action: str, key: str, rate: RateLimit, cost: int, mode: Mode
    ) -> int | None:
        now = self.clock.time()
        bucket = (action, key)
        used, last = self._buckets.get(bucket, (0.0, now))
        level = max(0.0, used - (now - last) * rate.per_second)
        if mode != "record" and level + cost > rate.burst_count:
            self._buckets[bucket] = (level, now)
            return retry_after_ms(level, cost, rate)
        if mode != "ask":
            self._buckets[bucket] = (level + cost, now)
        elif level == 0:
            self._buckets.pop(bucket, None)
        return None
