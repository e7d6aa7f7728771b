"""Bundled aggregations: ``unsigned["m.relations"]`` of served events.

Spec: client-server API, "Aggregations of child events", "Server-side
aggregation of m.replace / m.thread / m.reference relationships".

- ``m.replace``: the most recent valid edit (``origin_server_ts``, then the
  larger event ID), whole, as the client would see it; none for a redacted
  original. The original's content is served as it is (spec v1.7+, MSC3925;
  Synapse agrees): clients apply ``m.new_content`` themselves.
- ``m.thread``: ``latest_event`` (serialised, with its own aggregations),
  ``count`` and ``current_user_participated``.
- ``m.reference``: ``chunk`` of ``{"event_id": ...}``, oldest first.
- Annotations are not bundled (spec v1.19 defines no aggregation for them;
  Synapse stopped bundling them too). State events get none.

Every child goes through ``RelatedEventsViewer.choose`` for the requesting
user, so a redacted child (unindexed on redaction), an event they may not
see or one they hid is in no aggregation.
"""

from __future__ import annotations

from collections.abc import Sequence

from homeserver.events.model import Event
from homeserver.events.relations import RelationTypes
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.serializer import EventSerializer
from homeserver.services.relations.validation import replacement_problem
from homeserver.services.relations.viewer import RelatedEventsViewer
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.relations import RelationsStore
from homeserver.types import JsonDict


class BundledAggregations:
    """Builds ``m.relations`` for a batch of events (the serializer's source)."""

    def __init__(
        self,
        *,
        events: EventStore,
        store: RelationsStore,
        viewer: RelatedEventsViewer,
        serializer: EventSerializer,
    ) -> None:
        self.events = events
        self.store = store
        self.viewer = viewer
        self.serializer = serializer

    async def bundle(
        self,
        events: Sequence[Event],
        requester: Requester,
        *,
        nested: bool,
        include_room_id: bool = True,
    ) -> dict[str, JsonDict]:
        """``m.relations`` by event ID, for the events that have any."""
        parents = {e.event_id: e for e in events if not e.is_state()}
        if not parents:
            return {}
        rel_types = [RelationTypes.REPLACE, RelationTypes.REFERENCE]
        if not nested:
            rel_types.append(RelationTypes.THREAD)
        children = await self.store.get_bundled_children(parents, rel_types)
        if not children:
            return {}

        def of_type(rel_type: str) -> dict[str, list[str]]:
            return {
                parent_id: by_type[rel_type]
                for parent_id, by_type in children.items()
                if rel_type in by_type
            }

        edit_ids = {
            parent_id: ids
            for parent_id, ids in of_type(RelationTypes.REPLACE).items()
            if parents[parent_id].redacted_by is None
        }
        reference_ids = of_type(RelationTypes.REFERENCE)
        thread_ids = of_type(RelationTypes.THREAD)
        wanted = {
            i
            for found in (edit_ids, reference_ids, thread_ids)
            for ids in found.values()
            for i in ids
        }
        if not wanted:
            return {}
        fetched = await self.events.get_events(wanted)
        user_id = requester.user_id
        # A relation only ever counts inside its own room (another server
        # may have sent one naming an event of a room it is not in).
        rooms = {
            i: parents[parent_id].room_id
            for found in (edit_ids, reference_ids, thread_ids)
            for parent_id, ids in found.items()
            for i in ids
        }
        same_room = [e for i, e in fetched.items() if e.room_id == rooms.get(i)]
        chosen = {e.event_id: e for e in await self.viewer.choose(user_id, same_room)}
        out: dict[str, JsonDict] = {}
        edits = self._latest_edits(parents, edit_ids, chosen)
        if edits:
            served = await self.serializer.serialize(
                list(edits.values()),
                requester,
                nested=True,
                include_room_id=include_room_id,
            )
            for parent_id, body in zip(edits, served, strict=True):
                out.setdefault(parent_id, {})[RelationTypes.REPLACE] = body
        for parent_id, ids in reference_ids.items():
            chunk = [{"event_id": i} for i in reversed(ids) if i in chosen]
            if chunk:
                out.setdefault(parent_id, {})[RelationTypes.REFERENCE] = {
                    "chunk": chunk
                }
        await self._threads(
            parents, thread_ids, chosen, requester, out, include_room_id
        )
        return out

    def _latest_edits(
        self,
        parents: dict[str, Event],
        edit_ids: dict[str, list[str]],
        chosen: dict[str, Event],
    ) -> dict[str, Event]:
        latest: dict[str, Event] = {}
        for parent_id, ids in edit_ids.items():
            original = parents[parent_id]
            valid = [
                chosen[i]
                for i in ids
                if i in chosen and replacement_problem(chosen[i], original) is None
            ]
            if valid:
                latest[parent_id] = max(
                    valid, key=lambda e: (e.origin_server_ts, e.event_id)
                )
        return latest

    async def _threads(
        self,
        parents: dict[str, Event],
        thread_ids: dict[str, list[str]],
        chosen: dict[str, Event],
        requester: Requester,
        out: dict[str, JsonDict],
        include_room_id: bool,
    ) -> None:
        """Each thread root's summary (children come newest first)."""
        user_id = requester.user_id
        summaries: dict[str, tuple[Event, int, bool]] = {}
        for root_id, ids in thread_ids.items():
            children = [chosen[i] for i in ids if i in chosen]
            if not children:
                continue
            participated = parents[root_id].sender == user_id or any(
                c.sender == user_id for c in children
            )
            summaries[root_id] = (children[0], len(children), participated)
        if not summaries:
            return
        latest = await self.serializer.serialize(
            [s[0] for s in summaries.values()],
            requester,
            nested=True,
            include_room_id=include_room_id,
        )
        for (root_id, (_, count, participated)), body in zip(
            summaries.items(), latest, strict=True
        ):
            out.setdefault(root_id, {})[RelationTypes.THREAD] = {
                "latest_event": body,
                "count": count,
                "current_user_participated": participated,
            }
