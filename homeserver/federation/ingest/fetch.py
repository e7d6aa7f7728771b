"""Asking another server for events we lack, and checking what comes back.

Spec: server-server-api.md "Backfilling and retrieving missing events"
(POST /get_missing_events, GET /backfill), "Retrieving events" (GET /event,
/state_ids) and "Retrieving event authorisation information" (GET
/event_auth). Every event that comes back passes checks 1-3 (format,
signatures, content hash) before anyone sees it; bad ones are dropped and
logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from homeserver.events.model import Event
from homeserver.events.room_versions import RoomVersion
from homeserver.federation.errors import RequestSendFailed
from homeserver.federation.ingest.verify import EventVerifier, PduDropped
from homeserver.federation.interfaces import FederationTransport
from homeserver.util.clock import Clock
from homeserver.util.cooperate import Cooperator
from homeserver.util.deadlines import Deadlines

logger = logging.getLogger(__name__)

FEDERATION_V1 = "/_matrix/federation/v1"
# /event requests one call may make: a server whose /state lacked what its
# /state_ids named, or whose events cite hundreds of auth events it won't
# send, does not get us to ask it for thousands of events one at a time
# while the room's other events wait.
MAX_EVENT_REQUESTS = 100
# After a server did not answer (unreachable, timed out), fetches from it fail
# at once for this long: one PDU that needs something from a silent server
# must not make every later PDU of the room wait out the same timeouts.
SILENT_FOR_MS = 60_000


def _q(value: str) -> str:
    return quote(value, safe="")


class FetchFailed(Exception):
    """The other server could not give us what we asked for."""


class RemoteEventFetcher:
    """Signed requests for events, through the federation transport."""

    def __init__(
        self,
        transport: FederationTransport,
        verifier: EventVerifier,
        clock: Clock | None = None,
    ) -> None:
        self.transport = transport
        self.verifier = verifier
        self.clock = clock
        self._silent: Deadlines[str] = Deadlines()

    def _is_silent(self, destination: str) -> bool:
        return self.clock is not None and not self._silent.passed(
            destination, self.clock.time_msec()
        )

    def _check_answering(self, destination: str) -> None:
        """Raise FetchFailed at once if ``destination`` did not answer lately."""
        if self._is_silent(destination):
            raise FetchFailed(f"{destination} did not answer a moment ago")

    def _failed(self, destination: str, exc: Exception) -> None:
        """Remember a destination that did not answer (an error answer is an
        answer)."""
        if self.clock is not None and isinstance(exc, RequestSendFailed):
            now = self.clock.time_msec()
            logger.info(
                "%s did not answer: not asking it for events for %d s",
                destination,
                SILENT_FOR_MS // 1000,
            )
            self._silent.set(destination, now + SILENT_FOR_MS, now)

    async def _get(self, destination: str, path: str, query: Any = None) -> Any:
        self._check_answering(destination)
        try:
            return await self.transport.get_json(destination, path, query)
        except Exception as exc:
            logger.warning("GET %s from %s failed: %s", path, destination, exc)
            self._failed(destination, exc)
            raise FetchFailed(f"{destination}: {exc}") from None

    async def _checked(
        self, destination: str, pdus: Any, room_version: RoomVersion
    ) -> list[Event]:
        """The PDUs of a response that pass checks 1-3, in order."""
        if not isinstance(pdus, list):
            raise FetchFailed(f"{destination} answered without a list of PDUs")
        out: list[Event] = []
        turns = Cooperator(self.clock)
        for pdu in pdus:
            await turns.step()
            try:
                out.append(await self.verifier.verify(pdu, room_version))
            except PduDropped as exc:
                logger.warning("dropping an event from %s: %s", destination, exc)
        return out

    async def get_event(
        self, destination: str, room_version: RoomVersion, event_id: str
    ) -> Event:
        """GET /event/{eventId}: one checked event with exactly that ID.

        Raises:
            FetchFailed: unreachable, an error, or not the event asked for.
        """
        body = await self._get(destination, f"{FEDERATION_V1}/event/{_q(event_id)}")
        pdus = body.get("pdus") if isinstance(body, dict) else None
        events = await self._checked(destination, pdus, room_version)
        for event in events:
            if event.event_id == event_id:
                return event
        raise FetchFailed(f"{destination} did not return a valid {event_id}")

    async def get_events(
        self, destination: str, room_version: RoomVersion, event_ids: Iterable[str]
    ) -> list[Event]:
        """Each of ``event_ids`` that can be fetched (failures are logged), up
        to ``MAX_EVENT_REQUESTS`` of them."""
        wanted = list(event_ids)
        if len(wanted) > MAX_EVENT_REQUESTS:
            logger.warning(
                "asked to fetch %d events one by one from %s: fetching only %d",
                len(wanted),
                destination,
                MAX_EVENT_REQUESTS,
            )
            wanted = wanted[:MAX_EVENT_REQUESTS]
        out = []
        for event_id in wanted:
            try:
                out.append(await self.get_event(destination, room_version, event_id))
            except FetchFailed as exc:
                logger.warning("could not fetch %s: %s", event_id, exc)
                if self._is_silent(destination):
                    break
        return out

    async def get_event_auth(
        self, destination: str, room_version: RoomVersion, room_id: str, event_id: str
    ) -> list[Event]:
        """GET /event_auth/{roomId}/{eventId}: the event's checked auth chain."""
        body = await self._get(
            destination, f"{FEDERATION_V1}/event_auth/{_q(room_id)}/{_q(event_id)}"
        )
        chain = body.get("auth_chain") if isinstance(body, dict) else None
        return await self._checked(destination, chain, room_version)

    async def get_state(
        self, destination: str, room_version: RoomVersion, room_id: str, event_id: str
    ) -> list[Event]:
        """GET /state/{roomId}?event_id=: the checked state before the event
        and its auth chain, as one list."""
        body = await self._get(
            destination,
            f"{FEDERATION_V1}/state/{_q(room_id)}",
            {"event_id": event_id},
        )
        if not isinstance(body, dict):
            raise FetchFailed(f"{destination} sent a malformed /state answer")
        pdus = body.get("pdus")
        chain = body.get("auth_chain")
        if not isinstance(pdus, list) or not isinstance(chain, list):
            raise FetchFailed(f"{destination} sent a malformed /state answer")
        return await self._checked(destination, [*chain, *pdus], room_version)

    async def get_state_ids(
        self, destination: str, room_id: str, event_id: str
    ) -> tuple[list[str], list[str]]:
        """GET /state_ids/{roomId}?event_id=: (state before it, its auth chain)."""
        body = await self._get(
            destination,
            f"{FEDERATION_V1}/state_ids/{_q(room_id)}",
            {"event_id": event_id},
        )
        if not isinstance(body, dict):
            raise FetchFailed(f"{destination} sent a malformed /state_ids answer")
        pdu_ids, chain_ids = body.get("pdu_ids"), body.get("auth_chain_ids")
        if not isinstance(pdu_ids, list) or not isinstance(chain_ids, list):
            raise FetchFailed(f"{destination} sent a malformed /state_ids answer")
        return (
            [i for i in pdu_ids if isinstance(i, str)],
            [i for i in chain_ids if isinstance(i, str)],
        )

    async def get_missing_events(
        self,
        destination: str,
        room_version: RoomVersion,
        room_id: str,
        earliest: list[str],
        latest: list[str],
        limit: int,
        min_depth: int,
    ) -> list[Event]:
        """POST /get_missing_events/{roomId}: checked events between
        ``earliest`` (which we have) and ``latest``."""
        path = f"{FEDERATION_V1}/get_missing_events/{_q(room_id)}"
        body = {
            "earliest_events": earliest,
            "latest_events": latest,
            "limit": limit,
            "min_depth": min_depth,
        }
        self._check_answering(destination)
        try:
            answer = await self.transport.post_json(destination, path, body)
        except Exception as exc:
            logger.warning("get_missing_events from %s failed: %s", destination, exc)
            self._failed(destination, exc)
            raise FetchFailed(f"{destination}: {exc}") from None
        events = answer.get("events") if isinstance(answer, dict) else None
        return await self._checked(
            destination, _at_most(events, limit, destination), room_version
        )

    async def backfill(
        self,
        destination: str,
        room_version: RoomVersion,
        room_id: str,
        extremities: list[str],
        limit: int,
    ) -> list[Event]:
        """GET /backfill/{roomId}?v=...&limit=: checked history before
        ``extremities``."""
        body = await self._get(
            destination,
            f"{FEDERATION_V1}/backfill/{_q(room_id)}",
            {"v": extremities, "limit": str(limit)},
        )
        pdus = body.get("pdus") if isinstance(body, dict) else None
        return await self._checked(
            destination, _at_most(pdus, limit, destination), room_version
        )


def _at_most(pdus: Any, limit: int, destination: str) -> Any:
    """The first ``limit`` of a list of PDUs we asked for ``limit`` of: a
    server that sends more does not get the rest checked (each costs
    signature checks and maybe key fetches)."""
    if isinstance(pdus, list) and len(pdus) > limit:
        logger.warning(
            "%s sent %d events where %d were asked for: keeping %d",
            destination,
            len(pdus),
            limit,
            limit,
        )
        return pdus[:limit]
    return pdus
