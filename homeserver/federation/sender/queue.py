"""One destination's transaction queue.

Spec: server-server API, "Transactions": at most 50 PDUs and 100 EDUs per
``PUT /_matrix/federation/v1/send/{txnId}``. One transaction is in flight per
destination; each queue runs on its own, so a slow or dead destination only
ever delays itself.

PDUs (and the EDUs that must not be lost) are read from the database queue
and deleted only once the destination acknowledged them; other EDUs wait in
memory. On a failure that may pass (unreachable, 5xx, 429) the queue backs off
exponentially, capped by ``federation.max_retry_interval``, and keeps
everything. A transaction the destination refuses (another 4xx) or a
destination that may never be contacted (a non-retriable ``RequestSendFailed``)
is dropped, as retrying the same request could never succeed.
"""

from __future__ import annotations

import enum
import itertools
import logging
from typing import Any
from urllib.parse import quote

import attrs
from prometheus_client import Counter

from homeserver.federation.errors import (
    HttpResponseError,
    NotRetryingDestination,
    RequestSendFailed,
)
from homeserver.federation.interfaces import FederationTransport
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.federation_outbox import (
    Backoff,
    FederationOutboxStore,
    PendingEdu,
)
from homeserver.types import JsonDict
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

MAX_PDUS_PER_TRANSACTION = 50
MAX_EDUS_PER_TRANSACTION = 100
MIN_RETRY_INTERVAL_MS = 5_000
# In-memory EDUs (typing, receipts, presence) kept for a destination that is
# down; older ones are dropped first, being superseded by newer ones anyway.
MAX_MEMORY_EDUS = 1_000
# Queued PDUs kept for a destination that is down. Past this the oldest are
# dropped: the newest event of each busy room is kept, and the destination
# fills the gap behind it with /get_missing_events and /state_ids when it
# receives it (spec: "Retrieving missing events").
MAX_BACKLOG_PDUS = 10_000

_txn_counter = itertools.count(1)
TRANSACTIONS = Counter(
    "homeserver_federation_transactions_total",
    "Outbound federation transactions by outcome (sent, dropped, failed)",
    ["outcome"],
)


class _Outcome(enum.Enum):
    SENT = "sent"
    EMPTY = "empty"
    DROPPED = "dropped"
    FAILED = "failed"


@attrs.frozen
class QueueConfig:
    """What every destination queue shares."""

    server_name: str
    transport: FederationTransport
    store: FederationOutboxStore
    events: EventStore
    clock: Clock
    max_retry_interval_ms: int
    request_timeout_ms: int
    txn_prefix: str
    max_backlog: int = MAX_BACKLOG_PDUS


class DestinationQueue:
    """The queue of one destination server.

    Args:
        destination: the server name.
        config: shared collaborators and settings.
    """

    def __init__(self, destination: str, config: QueueConfig) -> None:
        self.destination = destination
        self.config = config
        self.memory_edus: list[JsonDict] = []
        self.backoff: Backoff | None = None  # loaded on first use
        self._running = False
        self._again = False
        self._timer: Any = None
        self.transactions_sent = 0

    def add_edu(self, edu_type: str, content: JsonDict) -> None:
        """Queue an EDU in memory and wake the queue."""
        self.memory_edus.append({"edu_type": edu_type, "content": content})
        if len(self.memory_edus) > MAX_MEMORY_EDUS:
            del self.memory_edus[: len(self.memory_edus) - MAX_MEMORY_EDUS]
        self.wake()

    def wake(self) -> None:
        """There may be something to send: start sending unless already busy
        or backing off (then the retry timer starts it)."""
        if self._running:
            self._again = True
            return
        if self._timer is not None and self._timer.active():
            return
        self._running = True
        run_in_background("federation_send", self._run())

    def retry_now(self) -> None:
        """The destination showed signs of life: forget the backoff and send."""
        if self.backoff is not None and self.backoff.retry_interval:
            self.backoff = attrs.evolve(self.backoff, retry_last_ts=0)
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self.wake()

    def stop(self) -> None:
        """Cancel the retry timer (at shutdown)."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    async def _run(self) -> None:
        try:
            if self.backoff is None:
                self.backoff = await self.config.store.get_backoff(self.destination)
            while True:
                self._again = False
                wait_ms = self.backoff.retry_at() - self.config.clock.time_msec()
                if wait_ms > 0:
                    self._schedule_retry(wait_ms)
                    return
                outcome = await self._send_one()
                if outcome is not _Outcome.EMPTY:
                    TRANSACTIONS.labels(outcome.value).inc()
                if outcome is _Outcome.EMPTY and not self._again:
                    return
        except Exception:
            # A local failure (e.g. the database): try again later rather than
            # leaving the queue idle until the next event.
            logger.exception("the queue for %s failed", self.destination)
            self._schedule_retry(MIN_RETRY_INTERVAL_MS)
        finally:
            self._running = False

    def _schedule_retry(self, wait_ms: int) -> None:
        self._timer = self.config.clock.call_later(wait_ms / 1000, self._retry_due)

    def _retry_due(self) -> None:
        self._timer = None
        self.wake()

    async def _send_one(self) -> _Outcome:
        """Send the next transaction (after a failure, the backoff says when to
        try again)."""
        config = self.config
        pdu_rows, stored_edus = await config.store.get_pending(
            self.destination, MAX_PDUS_PER_TRANSACTION, MAX_EDUS_PER_TRANSACTION
        )
        memory = self.memory_edus[: MAX_EDUS_PER_TRANSACTION - len(stored_edus)]
        if not pdu_rows and not stored_edus and not memory:
            return _Outcome.EMPTY
        found = await config.events.get_events([eid for _, eid in pdu_rows])
        pdus = [found[eid].pdu for _, eid in pdu_rows if eid in found]
        edus = [_edu_json(e) for e in stored_edus] + memory
        txn_id = f"{config.txn_prefix}{next(_txn_counter)}"
        body = {
            "origin": config.server_name,
            "origin_server_ts": config.clock.time_msec(),
            "pdus": pdus,
            "edus": edus,
        }
        orderings = [s for s, _ in pdu_rows]
        edu_ids = [e.edu_id for e in stored_edus]
        logger.debug(
            "sending transaction %s to %s: %d PDUs, %d EDUs",
            txn_id,
            self.destination,
            len(pdus),
            len(edus),
        )
        try:
            response = await config.transport.put_json(
                self.destination,
                f"/_matrix/federation/v1/send/{quote(txn_id, safe='')}",
                body,
                timeout_ms=config.request_timeout_ms,
            )
        except Exception as exc:  # noqa: BLE001 - every failure is handled below
            return await self._failed(exc, orderings, edu_ids, memory)
        self.transactions_sent += 1
        _log_pdu_errors(self.destination, txn_id, response)
        await config.store.remove_sent(self.destination, orderings, edu_ids, True)
        self._forget_memory_edus(memory)
        self.backoff = Backoff()
        return _Outcome.SENT

    def _forget_memory_edus(self, sent: list[JsonDict]) -> None:
        """Remove the EDUs a transaction carried (by identity: more may have
        been added, or the oldest trimmed, while it was in flight)."""
        ids = {id(edu) for edu in sent}
        self.memory_edus = [e for e in self.memory_edus if id(e) not in ids]

    async def _failed(
        self,
        exc: Exception,
        orderings: list[int],
        edu_ids: list[int],
        memory: list[JsonDict],
    ) -> _Outcome:
        """Back off (and keep everything) or drop the transaction."""
        if _is_permanent(exc):
            logger.warning(
                "dropping a transaction of %d PDUs and %d EDUs for %s: %s",
                len(orderings),
                len(edu_ids) + len(memory),
                self.destination,
                exc,
            )
            await self.config.store.remove_sent(
                self.destination, orderings, edu_ids, False
            )
            self._forget_memory_edus(memory)
            return _Outcome.DROPPED
        now = self.config.clock.time_msec()
        assert self.backoff is not None
        if isinstance(exc, NotRetryingDestination):
            backoff = Backoff(
                self.backoff.failure_ts or now, now, max(1_000, exc.retry_at_ms - now)
            )
        else:
            interval = min(
                max(MIN_RETRY_INTERVAL_MS, self.backoff.retry_interval * 2),
                self.config.max_retry_interval_ms,
            )
            backoff = Backoff(self.backoff.failure_ts or now, now, interval)
        self.backoff = backoff
        logger.info(
            "sending to %s failed (%s); retrying in %ds",
            self.destination,
            exc,
            backoff.retry_interval // 1000,
        )
        await self.config.store.set_backoff(self.destination, backoff)
        dropped = await self.config.store.prune_backlog(
            self.destination, self.config.max_backlog
        )
        if dropped:
            logger.warning(
                "%s has been down since %d: dropped its %d oldest queued events "
                "(it will fetch what it needs from the newest ones)",
                self.destination,
                backoff.failure_ts,
                dropped,
            )
        return _Outcome.FAILED


def _is_permanent(exc: Exception) -> bool:
    """Whether retrying the same transaction can never help."""
    if isinstance(exc, NotRetryingDestination):
        return False
    if isinstance(exc, RequestSendFailed):
        return not exc.retriable
    if isinstance(exc, HttpResponseError):
        return 400 <= exc.code < 500 and exc.code not in (408, 429)
    return False


def _edu_json(edu: PendingEdu) -> JsonDict:
    return {"edu_type": edu.edu_type, "content": edu.content}


def _log_pdu_errors(destination: str, txn_id: str, response: Any) -> None:
    """The destination's verdict on each PDU: errors are worth a log line, the
    PDUs are not sent again (the spec's per-PDU results are final)."""
    results = response.get("pdus") if isinstance(response, dict) else None
    if not isinstance(results, dict):
        return
    for event_id, result in results.items():
        if isinstance(result, dict) and result.get("error"):
            logger.warning(
                "%s rejected %s in transaction %s: %s",
                destination,
                event_id,
                txn_id,
                result["error"],
            )
