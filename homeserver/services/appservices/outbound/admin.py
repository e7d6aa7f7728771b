"""Admin view of the application-service queues, shaped like the federation
destinations admin API (``federation/sender/admin.py``): each AS's backlog,
progress and backoff, and retrying it at once.

``GET /_chatly/admin/v1/appservices``, ``GET .../appservices/{appserviceId}``
and ``POST .../appservices/{appserviceId}/retry`` (docs/appservices.md,
"Admin").
"""

from __future__ import annotations

from homeserver.errors import NotFound
from homeserver.services.appservices.outbound.sender import AppServiceSender
from homeserver.storage.stores.appservice_outbox import AppServiceQueueInfo
from homeserver.types import JsonDict


def _json(info: AppServiceQueueInfo, next_retry_ts: int | None) -> JsonDict:
    in_flight = info.in_flight
    return {
        "id": info.as_id,
        # Items waiting plus those of the transaction in flight.
        "pending": info.pending_items + (in_flight.item_count if in_flight else 0),
        "in_flight_txn_id": str(in_flight.txn_id) if in_flight else None,
        "last_txn_id": str(info.last_txn_id) if info.last_txn_id else None,
        "last_success_ts": info.last_success_ts,
        "failure_ts": info.backoff.failure_ts,
        "retry_last_ts": info.backoff.retry_last_ts or None,
        "retry_interval": info.backoff.retry_interval,
        "next_retry_ts": next_retry_ts,
    }


class AppServiceQueueAdmin:
    """Lists the AS queues and retries them.

    Args:
        sender: the AS sender (its store and queues).
    """

    def __init__(self, sender: AppServiceSender) -> None:
        self.sender = sender

    async def list_queues(self) -> JsonDict:
        """GET /_chatly/admin/v1/appservices."""
        services = sorted(s.id for s in self.sender.services())
        found = [await self._queue(as_id) for as_id in services]
        return {"appservices": found, "total": len(found)}

    async def get_queue(self, as_id: str) -> JsonDict:
        """GET /_chatly/admin/v1/appservices/{appserviceId}."""
        if self.sender.service(as_id) is None:
            raise NotFound("Unknown application service")
        return await self._queue(as_id)

    async def retry(self, as_id: str) -> JsonDict:
        """POST .../appservices/{appserviceId}/retry: forget the wait and
        push now."""
        if self.sender.service(as_id) is None:
            raise NotFound("Unknown application service")
        self.sender.retry_now(as_id)
        return {}

    async def _queue(self, as_id: str) -> JsonDict:
        info = await self.sender.store.get_queue_info(as_id)
        queue = self.sender.queues.get(as_id)
        next_retry = queue.next_retry_ts() if queue is not None else None
        if next_retry is None and info.backoff.retry_interval:
            next_retry = info.backoff.retry_at()
        return _json(info, next_retry)
