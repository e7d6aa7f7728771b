"""One application service's transaction queue.

The federation outbox's design (``federation/sender/queue.py``): one
transaction in flight per AS, each queue on its own so a dead AS only delays
itself, exponential backoff capped by ``appservice.max_retry_interval`` and
kept in the database (the federation ``Backoff``). Unlike federation, nothing
is ever dropped: an AS is ours and will be fixed, so every failure is retried,
and the transaction is cut once (``appservice_txns``) and re-sent unchanged —
same txnId, same body — until the AS acknowledges it, even across a restart.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any

import attrs
from prometheus_client import Counter

from homeserver.services.appservices.outbound.api_client import (
    AppServiceApi,
    AppServiceRequestError,
)
from homeserver.services.appservices.outbound.body import BodyBuilder
from homeserver.services.appservices.outbound.target import AppServiceTarget
from homeserver.storage.stores.appservice_outbox import AppServiceOutboxStore
from homeserver.storage.stores.federation_outbox import Backoff
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

MIN_RETRY_INTERVAL_MS = 2_000
# Items read from the head of a queue to cut one transaction.
READ_BATCH = 300

TRANSACTIONS = Counter(
    "homeserver_appservice_transactions_total",
    "Transactions pushed to application services by outcome (sent, failed)",
    ["outcome"],
)


class _Outcome(enum.Enum):
    SENT = "sent"
    EMPTY = "empty"
    FAILED = "failed"


@attrs.frozen
class QueueConfig:
    """What every AS queue shares."""

    store: AppServiceOutboxStore
    api: AppServiceApi
    bodies: BodyBuilder
    clock: Clock
    max_retry_interval_ms: int


class AppServiceQueue:
    """The queue of one application service.

    Args:
        service: a callable giving the current registration (it may be
            replaced by a reload).
        config: shared collaborators and settings.
    """

    def __init__(
        self,
        as_id: str,
        service: Callable[[], AppServiceTarget | None],
        config: QueueConfig,
    ) -> None:
        self.as_id = as_id
        self.service = service
        self.config = config
        self.backoff: Backoff | None = None  # loaded on first use
        self._running = False
        self._again = False
        self._timer: Any = None

    def wake(self) -> None:
        """There may be something to send: start unless busy or backing off
        (then the retry timer starts it)."""
        if self._running:
            self._again = True
            return
        if self._timer is not None and self._timer.active():
            return
        self._running = True
        run_in_background("appservice_send", self._run())

    def retry_now(self) -> None:
        """Forget the wait (an admin asked): send now."""
        if self.backoff is not None and self.backoff.retry_interval:
            # Due now; the interval is kept, so a failure still doubles it.
            now = self.config.clock.time_msec()
            self.backoff = attrs.evolve(
                self.backoff, retry_last_ts=now - self.backoff.retry_interval
            )
        self.stop()
        self.wake()

    def stop(self) -> None:
        """Cancel the retry timer (at shutdown)."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def next_retry_ts(self) -> int | None:
        """When the next attempt is due, if the queue is backing off."""
        if self.backoff is None or not self.backoff.retry_interval:
            return None
        return self.backoff.retry_at()

    async def _run(self) -> None:
        try:
            if self.backoff is None:
                self.backoff = await self.config.store.get_backoff(self.as_id)
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
            logger.exception("the queue of application service %s failed", self.as_id)
            self._schedule_retry(MIN_RETRY_INTERVAL_MS)
        finally:
            self._running = False

    def _schedule_retry(self, wait_ms: int) -> None:
        self._timer = self.config.clock.call_later(wait_ms / 1000, self._retry_due)

    def _retry_due(self) -> None:
        self._timer = None
        self.wake()

    async def _send_one(self) -> _Outcome:
        """Send the transaction in flight, or cut the next one and send it."""
        service = self.service()
        if service is None or not service.url:
            return _Outcome.EMPTY
        config = self.config
        txn = await config.store.get_in_flight(self.as_id)
        if txn is None:
            items = await config.store.get_items(self.as_id, READ_BATCH)
            if not items:
                return _Outcome.EMPTY
            item_ids, body = await config.bodies.build(service, items)
            txn = await config.store.cut_transaction(self.as_id, item_ids, body)
        try:
            await config.api.push_transaction(service, txn.txn_id, txn.body)
        except AppServiceRequestError as exc:
            await self._failed(exc)
            return _Outcome.FAILED
        await config.store.complete_transaction(
            self.as_id, txn.txn_id, config.clock.time_msec()
        )
        self.backoff = Backoff()
        return _Outcome.SENT

    async def _failed(self, exc: Exception) -> None:
        now = self.config.clock.time_msec()
        assert self.backoff is not None
        interval = min(
            max(MIN_RETRY_INTERVAL_MS, self.backoff.retry_interval * 2),
            self.config.max_retry_interval_ms,
        )
        self.backoff = Backoff(self.backoff.failure_ts or now, now, interval)
        logger.warning(
            "pushing to application service %s failed (%s); retrying in %ds",
            self.as_id,
            exc,
            interval // 1000,
        )
        await self.config.store.set_backoff(self.as_id, self.backoff)
