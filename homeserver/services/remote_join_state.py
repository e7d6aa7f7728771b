"""Taking in the room state a send_join answer brings.

Spec: server-server-api.md "Joining Rooms": the joining server checks the
signatures of the returned state and auth chain, that the join passes the auth
rules against that state, and then starts its copy of the room from it. The
state and auth chain become outliers; the join is the first event with state.

This is the minimal implementation of the ``process_remote_join`` contract; the
inbound pipeline's own one replaces it when the composition provides it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from signedjson.sign import SignatureVerifyException

from homeserver.errors import Codes, MatrixError
from homeserver.events.auth_rules import AuthError, check_auth_rules, signature_present
from homeserver.events.hashing import check_content_hash
from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.events.room_versions import RoomVersion
from homeserver.services.event_creation import EventCreationService, auth_state
from homeserver.services.federation_membership import EventVerifier
from homeserver.storage.stores.event_persistence import EventContext, EventPersister
from homeserver.storage.stores.events import EventStore

logger = logging.getLogger(__name__)


def _auth_order(events: Iterable[Event]) -> list[Event]:
    """The events ordered so that each comes after its auth events (those
    among them), ties broken by depth then ID."""
    by_id = {e.event_id: e for e in events}
    done: set[str] = set()
    ordered: list[Event] = []
    for start in sorted(by_id.values(), key=lambda e: (e.depth, e.event_id)):
        stack = [(start, False)]
        while stack:
            event, expanded = stack.pop()
            if event.event_id in done:
                continue
            if expanded:
                done.add(event.event_id)
                ordered.append(event)
                continue
            stack.append((event, True))
            for auth_id in event.auth_event_ids:
                if auth_id in by_id and auth_id not in done:
                    stack.append((by_id[auth_id], False))
    return ordered


class RemoteJoinState:
    """Verifies and persists a send_join answer."""

    def __init__(
        self,
        verifier: EventVerifier,
        persister: EventPersister,
        events: EventStore,
        creator: EventCreationService,
    ) -> None:
        self.verifier = verifier
        self.persister = persister
        self.events = events
        self.creator = creator

    async def process_remote_join(
        self,
        origin: str,
        room_version: RoomVersion,
        join_event: Event,
        state: list[Event],
        auth_chain: list[Event],
    ) -> None:
        """Check the answer, then persist it; the join becomes the room's tip.

        Raises:
            MatrixError: 502 if the state has no create event for the room or
                the join does not pass the auth rules against it.
        """
        room_id = join_event.room_id
        good = await self._verified(
            e for e in [*state, *auth_chain] if e.room_id == room_id
        )
        state_map: dict[StateKey, str] = {
            e.state_tuple: e.event_id
            for e in state
            if e.event_id in good and e.is_state()
        }
        create_key = (EventTypes.CREATE, "")
        if create_key not in state_map:
            raise MatrixError(502, "The room state has no create event", Codes.UNKNOWN)
        auth_ids = auth_state(
            room_version,
            join_event.type,
            join_event.state_key,
            join_event.sender,
            join_event.content,
            state_map,
        )
        auth_ids[create_key] = state_map[create_key]
        auth_events = {k: good[e] for k, e in auth_ids.items() if e in good}
        try:
            check_auth_rules(
                join_event, auth_events, verify_signature=signature_present
            )
        except AuthError as exc:
            raise MatrixError(
                502,
                f"The join does not pass the room's auth rules: {exc}",
                Codes.UNKNOWN,
            ) from None
        async with self.creator.linearizer.queue(room_id):
            known = await self.events.get_events(list(good))
            for event in _auth_order(good.values()):
                if event.event_id in known:
                    continue
                event.outlier = True
                await self.persister.persist_event(
                    event, EventContext(state_before={}, update_current_state=False)
                )
            await self.persister.persist_event(
                join_event, EventContext(state_before=state_map, resolved=True)
            )
        logger.info(
            "joined %s through %s: %d state events, %d in the auth chain",
            room_id,
            origin,
            len(state),
            len(auth_chain),
        )
        await self.creator.notify_new_event(join_event)

    async def _verified(self, events: Iterable[Event]) -> dict[str, Event]:
        """The events whose signatures and content hashes check out."""
        good: dict[str, Event] = {}
        for event in events:
            if event.event_id in good:
                continue
            try:
                await self.verifier.verify_event(event)
            except SignatureVerifyException as exc:
                logger.warning("dropping %s from a join: %s", event.event_id, exc)
                continue
            if not check_content_hash(event.pdu):
                logger.warning("dropping %s from a join: bad hash", event.event_id)
                continue
            good[event.event_id] = event
        return good
