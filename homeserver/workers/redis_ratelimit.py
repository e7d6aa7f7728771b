"""Rate-limit buckets in Redis, shared by every process of a worker deployment.

The same token bucket as ``MemoryRatelimiter`` (``util/ratelimit.py``), kept
under ``{prefix}:rl:{action}:{key}`` (a hash: ``level``, the actions counted,
and ``at``, Redis's time of the last update in microseconds). One Lua script
reads, drains and updates a bucket atomically, so two processes counting the
same user at once never both take the last token. It reads the time with
Redis ``TIME``: one clock for the deployment, whatever the processes' clocks
say. Each bucket expires (``PEXPIRE``) when it would have drained, so idle
keys leave Redis on their own. redis-py runs the script with ``EVALSHA``
and loads it again (``SCRIPT LOAD``) when Redis answers ``NOSCRIPT`` (after
a restart or ``SCRIPT FLUSH``).

Redis is spoken as ``workers/redis_bus.py`` does: redis-py's synchronous
client, each call on a thread through the injected runner. When Redis cannot
be reached the check fails open: the action is allowed (and not counted), a
warning is logged at most once a minute, and
``homeserver_ratelimit_unchecked_total`` counts it. For a second after a
failure Redis is not asked at all, so an unreachable Redis costs a request
nothing more than a counter increment.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from prometheus_client import Counter
from redis.backoff import NoBackoff
from redis.retry import Retry

from homeserver.config.model import RateLimit
from homeserver.storage.database import Runner
from homeserver.util.clock import Clock
from homeserver.util.ratelimit import Mode, Ratelimiter

logger = logging.getLogger(__name__)

UNCHECKED = Counter(
    "homeserver_ratelimit_unchecked_total",
    "Rate-limited actions allowed without a check because Redis, which keeps "
    "the buckets of a worker deployment, could not be reached",
)

TIMEOUT = 1.0
"""Seconds a connection or a script may take before the check fails open."""
RETRY_AFTER = 1.0
"""Seconds Redis is left alone after a failure."""
WARN_EVERY = 60.0
"""Seconds between two warnings while Redis stays unreachable."""

# KEYS[1]: the bucket. ARGV: per_second, burst_count, cost, and the mode:
# "count" (check and count), "ask" (check only) or "record" (count, never
# refuse). Answers {1, 0} (allowed) or {0, retry_after_ms}.
SCRIPT = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local mode = ARGV[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local level = 0
local stored = redis.call('HMGET', key, 'level', 'at')
if stored[1] then
  local elapsed = (now - tonumber(stored[2])) / 1000000
  if elapsed < 0 then elapsed = 0 end
  level = math.max(0, tonumber(stored[1]) - elapsed * rate)
end
local function keep(value)
  if value <= 0 then
    redis.call('DEL', key)
    return
  end
  redis.call('HSET', key, 'level', string.format('%.17g', value),
             'at', string.format('%d', now))
  redis.call('PEXPIRE', key, string.format('%d', math.ceil(value / rate * 1000)))
end
if mode ~= 'record' and level + cost > burst then
  keep(level)
  return {0, math.floor((level + cost - burst) / rate * 1000) + 1}
end
if mode ~= 'ask' then
  keep(level + cost)
elseif level == 0 then
  redis.call('DEL', key)
end
return {1, 0}
"""


class RedisRatelimiter(Ratelimiter):
    """Token buckets in Redis, one per (action, key) for the deployment.

    Args:
        url: the Redis URL (``workers.redis_url``).
        prefix: the deployment's key prefix (``workers.redis_prefix``).
        runner: runs a blocking Redis call off the reactor.
        clock: paces the warnings and the pause after a failure (the
            buckets themselves run on Redis's clock).
        client_name: names its connections (``CLIENT LIST``).
        enabled: False allows everything and never talks to Redis.
    """

    def __init__(
        self,
        *,
        url: str,
        prefix: str,
        runner: Runner,
        clock: Clock,
        client_name: str,
        enabled: bool = True,
    ) -> None:
        super().__init__(enabled)
        self.prefix = prefix
        self.runner = runner
        self.clock = clock
        self._client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=TIMEOUT,
            socket_timeout=TIMEOUT,
            health_check_interval=30,
            client_name=client_name,
            # No retries inside redis-py: a failed check is allowed at once.
            retry=Retry(NoBackoff(), 0),
        )
        self._script = self._client.register_script(SCRIPT)
        self._pause_until = 0.0
        self._next_warning = 0.0

    def key(self, action: str, key: str) -> str:
        """The Redis key of a bucket."""
        return f"{self.prefix}:rl:{action}:{key}"

    async def _take(
        self, action: str, key: str, rate: RateLimit, cost: int, mode: Mode
    ) -> int | None:
        """The script on one bucket; allowed (None) when Redis could not be
        asked."""
        if self.clock.time() < self._pause_until:
            UNCHECKED.inc()
            return None
        keys = [self.key(action, key)]
        args: list[str | int] = [
            repr(float(rate.per_second)),
            rate.burst_count,
            cost,
            mode,
        ]
        try:
            found: Any = await self.runner(lambda: self._script(keys=keys, args=args))
        except redis.RedisError as exc:
            self._failed(exc)
            return None
        allowed, wait_ms = int(found[0]), int(found[1])
        return None if allowed else wait_ms

    def _failed(self, exc: redis.RedisError) -> None:
        UNCHECKED.inc()
        now = self.clock.time()
        self._pause_until = now + RETRY_AFTER
        if now >= self._next_warning:
            self._next_warning = now + WARN_EVERY
            logger.warning(
                "rate limits: Redis cannot be reached; allowing actions "
                "unchecked until it is back: %s",
                exc,
            )

    def close(self) -> None:
        """At shutdown: close the connections."""
        self._client.close()
