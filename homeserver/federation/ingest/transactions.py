"""Inbound transactions: PUT /_matrix/federation/v1/send/{txnId}.

Spec: server-server-api.md "Transactions" (at most 50 PDUs and 100 EDUs),
the ``transactions`` API (a result per PDU; a rejected event is not an error),
"Server Access Control Lists (ACLs)" (per-PDU, and room EDUs m.typing and
m.receipt). A transaction is processed once: a retry with the same
(origin, txnId) gets the stored answer. PDUs of one room are processed in
order; rooms are processed concurrently.

Servers send one transaction at a time to a destination, so one origin's
transactions are processed one at a time, in arrival order; a few may wait
(a retry of one still being processed, say), more get 429: a server that
floods us holds at most ``MAX_PENDING_PER_ORIGIN`` bodies in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from homeserver.errors import Codes, LimitExceeded, MatrixError
from homeserver.events.hashing import compute_event_id
from homeserver.federation.acl import ServerAclChecker
from homeserver.federation.edus.registry import EduRegistry
from homeserver.federation.ingest.events import FederationEventService
from homeserver.federation.ingest.verify import PduDropped
from homeserver.storage.stores.federation import FederationStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.json_values import find_bad_value, has_nul
from homeserver.util.linearizer import Linearizer

logger = logging.getLogger(__name__)

MAX_PDUS = 50
MAX_EDUS = 100
# Answers are kept this long for retries (senders retry within minutes).
KEEP_ANSWERS_MS = 24 * 60 * 60 * 1000
PRUNE_EVERY = 200
# Transactions of one origin being processed or waiting their turn.
MAX_PENDING_PER_ORIGIN = 5
RETRY_PENDING_AFTER_MS = 1000


class FederationTransactionService:
    """Processes inbound transactions.

    Attributes:
        on_origin_seen: called with the origin of every new transaction (the
            sender uses it to retry a destination that is evidently back).
    """

    def __init__(
        self,
        events: FederationEventService,
        edus: EduRegistry,
        acl: ServerAclChecker,
        store: FederationStore,
        clock: Clock,
    ) -> None:
        self.events = events
        self.edus = edus
        self.acl = acl
        self.store = store
        self.clock = clock
        self.on_origin_seen: list[Callable[[str], None]] = []
        self._linearizer = Linearizer()
        self._pending: dict[str, int] = {}
        self._since_prune = 0

    async def on_transaction(
        self, origin: str, txn_id: str, body: JsonDict
    ) -> JsonDict:
        """Process one transaction from ``origin`` (already authenticated).

        Returns:
            ``{"pdus": {event_id: {} or {"error": ...}}}``.

        Raises:
            MatrixError: 400 M_BAD_JSON for a malformed transaction or one over
                the size limits.
        """
        pdus, edus = _parse_transaction(body)
        pending = self._pending.get(origin, 0)
        if pending >= MAX_PENDING_PER_ORIGIN:
            logger.warning(
                "transaction %s from %s: %d of its transactions pending already;"
                " answering 429",
                txn_id,
                origin,
                pending,
            )
            raise LimitExceeded(RETRY_PENDING_AFTER_MS)
        self._pending[origin] = pending + 1
        try:
            return await self._one_at_a_time(origin, txn_id, pdus, edus)
        finally:
            left = self._pending[origin] - 1
            if left:
                self._pending[origin] = left
            else:
                del self._pending[origin]

    async def _one_at_a_time(
        self, origin: str, txn_id: str, pdus: list[Any], edus: list[Any]
    ) -> JsonDict:
        async with self._linearizer.queue(origin):
            earlier = await self.store.get_received_transaction(origin, txn_id)
            if earlier is not None:
                logger.info(
                    "transaction %s from %s: a retry, same answer", txn_id, origin
                )
                return earlier
            for callback in self.on_origin_seen:
                callback(origin)
            logger.info(
                "transaction %s from %s: %d PDUs, %d EDUs",
                txn_id,
                origin,
                len(pdus),
                len(edus),
            )
            results = await self._process_pdus(origin, pdus)
            await self._process_edus(origin, edus)
            response: JsonDict = {"pdus": results}
            now = self.clock.time_msec()
            await self.store.insert_received_transaction(origin, txn_id, response, now)
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self._since_prune = 0
            await self.store.delete_received_transactions_before(now - KEEP_ANSWERS_MS)
        return response

    async def _process_pdus(self, origin: str, pdus: list[Any]) -> dict[str, JsonDict]:
        by_room: dict[str, list[JsonDict]] = {}
        for pdu in pdus:
            room_id = pdu.get("room_id") if isinstance(pdu, dict) else None
            if not isinstance(room_id, str) or has_nul(room_id):
                logger.warning(
                    "ignoring a PDU without a usable room_id from %s", origin
                )
                continue
            by_room.setdefault(room_id, []).append(pdu)
        results: dict[str, JsonDict] = {}
        await defer.gatherResults(
            [
                defer.Deferred.fromCoroutine(
                    self._process_room(origin, room_id, room_pdus, results)
                )
                for room_id, room_pdus in by_room.items()
            ],
            consumeErrors=True,
        )
        return results

    async def _process_room(
        self,
        origin: str,
        room_id: str,
        pdus: list[JsonDict],
        results: dict[str, JsonDict],
    ) -> None:
        """The PDUs of one room, in order."""
        try:
            version = await self.events.room_version(room_id)
        except PduDropped:
            logger.info(
                "ignoring %d PDUs from %s for unknown room %s",
                len(pdus),
                origin,
                room_id,
            )
            return
        allowed = await self.acl.is_allowed(origin, room_id)
        for pdu in pdus:
            try:
                event_id = compute_event_id(pdu, version)
            except Exception:
                logger.warning("ignoring a PDU from %s with no usable ID", origin)
                continue
            if not allowed:
                logger.warning(
                    "server ACL of %s denies %s: PDU %s ignored",
                    room_id,
                    origin,
                    event_id,
                )
                results[event_id] = {"error": "Server is banned from this room"}
                continue
            try:
                await self.events.on_receive_pdu(origin, pdu)
                results[event_id] = {}
            except PduDropped as exc:
                logger.warning("PDU %s from %s dropped: %s", event_id, origin, exc)
                results[event_id] = {"error": str(exc)}
            except Exception:
                logger.exception("failed to process PDU %s from %s", event_id, origin)
                results[event_id] = {"error": "Internal error processing the event"}

    async def _process_edus(self, origin: str, edus: list[Any]) -> None:
        for edu in edus:
            if not isinstance(edu, dict):
                continue
            edu_type, content = edu.get("edu_type"), edu.get("content")
            if not isinstance(edu_type, str) or not isinstance(content, dict):
                logger.info("ignoring a malformed EDU from %s", origin)
                continue
            problem = find_bad_value(edu)
            if problem is not None:
                logger.info("ignoring an EDU from %s: %s", origin, problem)
                continue
            filtered = await self._apply_acl(origin, edu_type, content)
            if filtered is not None:
                await self.edus.handle(origin, edu_type, filtered)

    async def _apply_acl(
        self, origin: str, edu_type: str, content: JsonDict
    ) -> JsonDict | None:
        """The EDU content the room ACLs let through (None: drop it)."""
        if edu_type == "m.typing":
            room_id = content.get("room_id")
            if isinstance(room_id, str) and not await self.acl.is_allowed(
                origin, room_id
            ):
                logger.info("dropping m.typing from %s: ACL of %s", origin, room_id)
                return None
            return content
        if edu_type == "m.receipt":
            allowed = {
                room_id: receipts
                for room_id, receipts in content.items()
                if await self.acl.is_allowed(origin, room_id)
            }
            if len(allowed) < len(content):
                logger.info("dropping receipts from %s for ACL'd rooms", origin)
            return allowed or None
        return content


def _parse_transaction(body: JsonDict) -> tuple[list[Any], list[Any]]:
    pdus = body.get("pdus", [])
    edus = body.get("edus", [])
    if not isinstance(pdus, list) or not isinstance(edus, list):
        raise MatrixError(400, "pdus and edus must be arrays", Codes.BAD_JSON)
    if len(pdus) > MAX_PDUS or len(edus) > MAX_EDUS:
        raise MatrixError(
            400,
            f"A transaction has at most {MAX_PDUS} PDUs and {MAX_EDUS} EDUs",
            Codes.BAD_JSON,
        )
    return pdus, edus
