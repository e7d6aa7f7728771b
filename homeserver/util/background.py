"""Fire-and-forget work that is never dropped on the floor."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

from prometheus_client import Counter
from twisted.internet import defer
from twisted.python.failure import Failure

from homeserver.util import db_usage

logger = logging.getLogger(__name__)

BACKGROUND_FAILURES = Counter(
    "homeserver_background_failures_total", "Background tasks that raised", ["name"]
)
_running: set[defer.Deferred[Any]] = set()


def run_in_background(
    name: str, coro: Coroutine[Any, Any, Any], *, db_unit: bool = True
) -> defer.Deferred[Any]:
    """Start ``coro`` now; keep a reference until it ends, and log any failure.

    Its database work is counted as the job ``name`` (util/db_usage.py), unless
    ``db_unit`` is false: a request counts its own work under its route.
    """
    d = defer.Deferred.fromCoroutine(_as_job(name, coro) if db_unit else coro)
    _running.add(d)

    def done(result: Any) -> None:
        _running.discard(d)
        if isinstance(result, Failure):
            BACKGROUND_FAILURES.labels(name).inc()
            logger.error(
                "background task %s failed",
                name,
                exc_info=(result.type, result.value, result.getTracebackObject()),
            )

    d.addBoth(done)
    return d


async def _as_job(name: str, coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` as its own db_usage unit (in the task's copy of the context)."""
    usage, token = db_usage.begin("job", name)
    try:
        return await coro
    finally:
        db_usage.end(usage, token)
