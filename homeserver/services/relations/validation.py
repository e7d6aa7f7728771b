"""Checking the relation of an event a local user sends.

Spec: client-server API, "Event relationships" (relations stay in their
room), "Threading" ("Validation of m.thread relationships"), "Event
replacements" ("Validity of replacement events"); annotations as MSC2677
and Synapse (one reaction per user, key and event). Run inside the room's
send lock, so two identical reactions sent at once cannot both pass.
"""

from __future__ import annotations

from collections.abc import Mapping

from homeserver.errors import BadJson, Codes, MatrixError
from homeserver.events.model import Event, StateKey
from homeserver.events.relations import (
    MAX_AGGREGATION_KEY_LENGTH,
    Relation,
    RelationTypes,
    relation_of,
)
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.relations import RelationsStore

ENCRYPTED = "m.room.encrypted"


class RelationValidator:
    """Refuses relations a client must not send (400)."""

    def __init__(self, events: EventStore, store: RelationsStore) -> None:
        self.events = events
        self.store = store

    async def check(self, event: Event, auth_events: Mapping[StateKey, Event]) -> None:
        """Raise if ``event``'s relation is invalid; events without one pass.

        Raises:
            MatrixError: 400 (M_DUPLICATE_ANNOTATION for a repeated reaction,
                M_BAD_JSON for an invalid edit, M_UNKNOWN otherwise).
        """
        relation = relation_of(event.content)
        if relation is None:
            return
        parent = await self.events.get_event(relation.parent_id)
        if parent is not None and parent.room_id != event.room_id:
            raise MatrixError(400, "Relations must be in the same room")
        if parent is None and not await self.store.is_relation_target(
            relation.parent_id
        ):
            # Nothing tells how the client could know the event exists.
            raise MatrixError(400, "Can't send relation to unknown event")
        if relation.rel_type == RelationTypes.ANNOTATION:
            await self._check_annotation(event, relation)
        elif relation.rel_type == RelationTypes.THREAD:
            if parent is not None and relation_of(parent.content) is not None:
                raise MatrixError(
                    400, "Cannot start threads from an event with a relation"
                )
        elif relation.rel_type == RelationTypes.REPLACE:
            check_replacement(event, parent)

    async def _check_annotation(self, event: Event, relation: Relation) -> None:
        key = relation.key
        if key is None:
            raise MatrixError(400, "Missing aggregation key")
        if len(key) > MAX_AGGREGATION_KEY_LENGTH:
            raise MatrixError(400, "Aggregation key is too long")
        if await self.store.has_annotation(
            relation.parent_id, event.type, key, event.sender
        ):
            raise MatrixError(
                400,
                "Can't send same reaction twice",
                errcode=Codes.DUPLICATE_ANNOTATION,
            )


def check_replacement(edit: Event, original: Event | None) -> None:
    """The spec's validity rules for a replacement, as a 400 M_BAD_JSON.

    An edit of an event we do not hold can't be checked and passes (it is
    checked again, on the events, whenever it would be bundled).
    """
    problem = replacement_problem(edit, original)
    if problem is not None:
        raise BadJson(problem)


def replacement_problem(edit: Event, original: Event | None) -> str | None:
    """Why ``edit`` is no valid replacement of ``original``, or None."""
    if edit.is_state():
        return "A replacement event must not be a state event"
    if edit.type != ENCRYPTED and not isinstance(
        edit.content.get("m.new_content"), Mapping
    ):
        return "A replacement event must have an m.new_content object"
    if original is None:
        return None
    if original.is_state():
        return "State events cannot be edited"
    if original.sender != edit.sender:
        return "Only the original sender can edit an event"
    if original.room_id != edit.room_id:
        return "Relations must be in the same room"
    if original.type != edit.type:
        return "A replacement event must have the same type as the original event"
    original_relation = relation_of(original.content)
    if (
        original_relation is not None
        and original_relation.rel_type == RelationTypes.REPLACE
    ):
        return "An edit cannot itself be edited"
    return None
