"""Persisting an event: every write for one event in one transaction.

The event row, its DAG edges and auth edges, the forward and backward
extremities, its state group, the current-state delta, the membership index
and redaction bookkeeping are written together, so a crash at any point leaves
nothing half-written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from functools import partial
from typing import Protocol

import attrs

from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.events.relations import RelationTypes, relation_of
from homeserver.signals import EventPersisted, Signal
from homeserver.storage.database import Database, Transaction
from homeserver.storage.id_generators import BackfillIdGenerator, StreamIdGenerator
from homeserver.storage.stores.current_state_txns import (
    index_auth_chain_txn,
    replace_current_state_txn,
    set_current_state_txn,
)
from homeserver.storage.stores.event_extremities import (
    update_backward_extremities_txn,
    update_extremities_txn,
)
from homeserver.storage.stores.event_routing import (
    EventWrite,
    EventWriteRoute,
    LocalEventWrites,
)
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.forward_extremities import ExtremityWrite
from homeserver.storage.stores.outlier_persistence import (
    OUTLIER_CHUNK,
    existing_event_ids_txn,
    insert_outliers_txn,
    mark_redacted_txn,
)
from homeserver.storage.stores.push_actions import (
    EventPushActions,
    insert_push_actions_txn,
)
from homeserver.storage.stores.relations_cache import ChildlessParents
from homeserver.storage.stores.relations_txns import (
    index_relation_txn,
    unindex_relation_txn,
)
from homeserver.storage.stores.search_index import (
    index_event_txn,
)
from homeserver.storage.stores.state import StateStore
from homeserver.util.ports import Port

# Every relation type: a parent with no row at all in the index has none.
ALL_RELATION_TYPES = frozenset(
    {
        RelationTypes.ANNOTATION,
        RelationTypes.REPLACE,
        RelationTypes.REFERENCE,
        RelationTypes.THREAD,
    }
)


@attrs.frozen
class EventContext:
    """What the persister needs to know about the state around an event.

    Args:
        state_before: the full state before the event.
        state_group_before: an existing group equal to ``state_before``, if any.
        delta_base_group: a group to store ``state_before`` as a delta on, when
            it has no group yet (e.g. it came out of state resolution).
        delta_base_state: the state of ``delta_base_group``.
        update_current_state: whether the room's current state becomes the
            state after this event.
        resolved: ``state_before`` came from resolving several parents' states,
            so the current state is rewritten in full, not just by this event.
        new_current_state: when set, the room's current state is replaced by
            exactly this map (a remote event that forks the DAG: the resolution
            of the states after every forward extremity).
        apply_redaction: for a redaction event, whether it may redact its
            target (a remote redaction by someone without the power to, of
            another server's event, is kept but not applied).
        sole_extremity: the event becomes the room's only forward extremity
            (a join through another server: its state is the room's state, and
            tips left from before we left the room are stale).
        fresh: a local event built just now on the room's forward extremities
            (``EventCreationService.send``): nothing stored can name it yet
            (no row of it as an outlier, no edge, redaction or relation to
            it), and its prev events are DAG events we hold, so the persist
            skips the look-ups that would find out.
    """

    state_before: Mapping[StateKey, str]
    state_group_before: int | None = None
    delta_base_group: int | None = None
    delta_base_state: Mapping[StateKey, str] | None = None
    update_current_state: bool = True
    resolved: bool = False
    new_current_state: Mapping[StateKey, str] | None = None
    apply_redaction: bool = True
    sole_extremity: bool = False
    fresh: bool = False

    def state_after(self, event: Event) -> dict[StateKey, str]:
        """The state after ``event`` (rejected events change nothing)."""
        state = dict(self.state_before)
        if event.is_state() and event.rejected_reason is None:
            state[event.state_tuple] = event.event_id
        return state


class PushEvaluation(Protocol):
    """Push rule evaluation of each new live event (the push domain): its
    notifying actions are written in the event's own transaction, so a reader
    that sees the event sees its unread counts."""

    async def evaluate(
        self, event: Event, context: EventContext
    ) -> EventPushActions | None:
        """The event's notifying actions (never raises)."""

    def on_persisted(
        self,
        event: Event,
        context: EventContext,
        actions: EventPushActions | None,
        stream_ordering: int,
    ) -> None:
        """After commit, once the event's stream position is visible."""


class _NoPush:
    async def evaluate(
        self, event: Event, context: EventContext
    ) -> EventPushActions | None:
        return None

    def on_persisted(
        self,
        event: Event,
        context: EventContext,
        actions: EventPushActions | None,
        stream_ordering: int,
    ) -> None:
        return None


@attrs.frozen
class PersistedEvent:
    """Where an event landed."""

    stream_ordering: int
    state_group_after: int | None


@attrs.frozen
class FreshWrite:
    """One fresh local event of a batch (``EventPersister.persist_batch``),
    its push actions already evaluated."""

    event: Event
    context: EventContext
    device_id: str | None
    txn_id: str | None
    actions: EventPushActions | None


class EventPersister:
    """Writes events; the single writer of the DAG tables."""

    def __init__(
        self,
        *,
        db: Database,
        events: EventStore,
        state: StateStore,
        stream_ids: StreamIdGenerator,
        backfill_ids: BackfillIdGenerator,
        persisted: Signal[EventPersisted],
        index_for_search: bool = True,
        childless: ChildlessParents | None = None,
    ) -> None:
        self.db = db
        # The relations index's cache of parents without children: a
        # persisted child (new, backfilled, de-outliered) invalidates its parent.
        self.childless = childless or ChildlessParents()
        # Off with search disabled (``server.enable_search``): nothing is
        # indexed, as in Synapse; redactions still unindex.
        self.index_for_search = index_for_search
        self.events = events
        self.state = state
        self.stream_ids = stream_ids
        self.backfill_ids = backfill_ids
        # Emitted before the new stream position becomes visible to readers,
        # so in-memory change caches are never behind what readers can see.
        self.persisted = persisted
        # Push rules: plugged in by the bind step (no push without it).
        self.push: Port[PushEvaluation] = Port(_NoPush())
        # Which process writes which room: plugged in worker mode only.
        self.route: Port[EventWriteRoute] = Port(LocalEventWrites())

    async def persist_event(
        self,
        event: Event,
        context: EventContext,
        device_id: str | None = None,
        txn_id: str | None = None,
        *,
        backfilled: bool = False,
    ) -> PersistedEvent:
        """Write ``event`` and everything that follows from it, atomically.

        An event we already hold as an outlier is de-outliered: its row gets
        the new flags and a new stream ordering, and the DAG bookkeeping is
        done as for a new event.

        Args:
            backfilled: a historic event fetched by backfill: it gets a
                stream ordering below every existing one (so /sync never sees
                it as new), and leaves the forward extremities and the current
                state alone.

        Raises:
            MatrixError: 503 (retryable) when the room is written by another
                process that cannot be reached.
        """
        route = self.route.get()
        if not route.is_local(event.room_id):
            # The room's event persister writes it (and takes its stream
            # position); nothing is written here.
            persisted = await route.persist_remotely(
                EventWrite(event, context, device_id, txn_id, backfilled)
            )
            self._child_written(event)
            self._remember(
                event,
                context,
                persisted.stream_ordering,
                persisted.state_group_after,
                device_id,
                txn_id,
            )
            return persisted
        if backfilled:
            stream_ordering = await self.backfill_ids.allocate_async(self.db)
            group = await self.db.run_interaction(
                "persist_backfilled_event",
                self._persist_txn,
                event,
                context,
                stream_ordering,
                device_id,
                txn_id,
                True,
                None,
            )
            self._child_written(event)
            event.stream_ordering = stream_ordering
            return PersistedEvent(stream_ordering, group)
        push = self.push.get()
        actions = await push.evaluate(event, context)
        generation = self.childless.generation
        async with self.stream_ids.allocate_many_async(self.db, 1) as [stream_ordering]:
            with self.events.extremities.writing(event.room_id) as tips:
                group = await self.db.run_interaction(
                    "persist_event",
                    self._persist_new_txn,
                    event,
                    context,
                    stream_ordering,
                    (device_id, txn_id),
                    generation,
                    actions,
                    tips,
                )
                self._child_written(event)
                self._remember(
                    event, context, stream_ordering, group, device_id, txn_id
                )
                self.persisted.emit(EventPersisted(event, stream_ordering))
        push.on_persisted(event, context, actions, stream_ordering)
        return PersistedEvent(stream_ordering, group)

    async def persist_batch(self, writes: Sequence[FreshWrite]) -> list[int | None]:
        """Write fresh local events (``EventContext.fresh``) of rooms this
        process writes in ONE transaction, in order: an event may name the
        one before it as its prev (group commit, docs/performance.md). All
        or nothing; their stream orderings follow the order given.

        Returns:
            The state group after each event.
        """
        push = self.push.get()
        generation = self.childless.generation
        rooms = list(dict.fromkeys(w.event.room_id for w in writes))
        async with self.stream_ids.allocate_many_async(
            self.db, len(writes)
        ) as orderings:
            with ExitStack() as stack:
                tips = {
                    room: stack.enter_context(self.events.extremities.writing(room))
                    for room in rooms
                }
                groups = await self.db.run_interaction(
                    "persist_events",
                    self._persist_batch_txn,
                    writes,
                    orderings,
                    generation,
                    tips,
                )
                for write, ordering, group in zip(
                    writes, orderings, groups, strict=True
                ):
                    self._child_written(write.event)
                    self._remember(
                        write.event,
                        write.context,
                        ordering,
                        group,
                        write.device_id,
                        write.txn_id,
                    )
                    self.persisted.emit(EventPersisted(write.event, ordering))
        for write, ordering in zip(writes, orderings, strict=True):
            push.on_persisted(write.event, write.context, write.actions, ordering)
        return groups

    def _persist_batch_txn(
        self,
        txn: Transaction,
        writes: Sequence[FreshWrite],
        orderings: Sequence[int],
        generation: int,
        tips: Mapping[str, ExtremityWrite],
    ) -> list[int | None]:
        each: dict[str, list[ExtremityWrite]] = {room: [] for room in tips}
        groups = []
        for write, ordering in zip(writes, orderings, strict=True):
            event_tips = ExtremityWrite()
            each[write.event.room_id].append(event_tips)
            groups.append(
                self._persist_new_txn(
                    txn,
                    write.event,
                    write.context,
                    ordering,
                    (write.device_id, write.txn_id),
                    generation,
                    write.actions,
                    event_tips,
                )
            )
        for room, room_tips in tips.items():
            room_tips.note_all(each[room])
        return groups

    def _remember(
        self,
        event: Event,
        context: EventContext,
        stream_ordering: int,
        group: int | None,
        device_id: str | None,
        txn_id: str | None,
    ) -> None:
        """After the commit: the event holds what its row holds, and a fresh
        one (nothing can have redacted it) is remembered with its state group,
        which the room's next event reads as its prev's."""
        event.stream_ordering = stream_ordering
        if not context.fresh:
            return
        event.sender_device_id, event.txn_id = device_id, txn_id
        event.replaces_state = (
            context.state_before.get(event.state_tuple) if event.is_state() else None
        )
        self.events.remember(event)
        if group is not None:
            self.state.remember_event_group(event.event_id, group)

    def _persist_new_txn(
        self,
        txn: Transaction,
        event: Event,
        context: EventContext,
        stream_ordering: int,
        sent_by: tuple[str | None, str | None],
        generation: int,
        actions: EventPushActions | None,
        tips: ExtremityWrite,
    ) -> int | None:
        device_id, txn_id = sent_by
        group = self._persist_txn(
            txn, event, context, stream_ordering, device_id, txn_id, False, tips
        )
        self._note_if_childless_txn(txn, event, generation, context.fresh)
        if actions is not None and actions.users:
            insert_push_actions_txn(
                txn, actions, stream_ordering, new_event=context.fresh
            )
        return group

    def _note_if_childless_txn(
        self, txn: Transaction, event: Event, generation: int, fresh: bool
    ) -> None:
        """Note a new event that nothing relates to yet as childless, so that
        the /sync passes serving it at once ask nothing about its relations
        (``generation``, read before the transaction, guards against a child
        written meanwhile; a fresh event has no child to look for)."""
        if event.outlier or event.is_state():
            return
        if event.rejected_reason is not None or event.soft_failed:
            return
        if not fresh and txn.query_one(
            "SELECT 1 AS one FROM event_relations WHERE relates_to_id = ? LIMIT 1",
            (event.event_id,),
        ):
            return
        txn.call_after(
            lambda: self.childless.note_childless(
                [event.event_id], ALL_RELATION_TYPES, generation
            )
        )

    def _child_written(self, event: Event) -> None:
        relation = relation_of(event.content)
        if relation is not None:
            self.childless.invalidate(relation.parent_id)

    async def persist_outliers(self, events: Sequence[Event]) -> None:
        """Store many outliers, given in auth order, ``OUTLIER_CHUNK`` to a
        transaction (a room's state and auth chain when we join it). Each
        must have ``outlier`` set and its ``rejected_reason`` decided; events
        already stored are left alone."""
        route = self.route.get()
        remote = [e for e in events if not route.is_local(e.room_id)]
        if remote:
            await route.persist_outliers_remotely(remote)
            events = [e for e in events if route.is_local(e.room_id)]
        for start in range(0, len(events), OUTLIER_CHUNK):
            chunk = events[start : start + OUTLIER_CHUNK]
            async with self.stream_ids.allocate_many_async(
                self.db, len(chunk)
            ) as orderings:
                written = await self.db.run_interaction(
                    "persist_outliers",
                    self._persist_outliers_txn,
                    list(zip(chunk, orderings, strict=True)),
                )
                for event, ordering in written:
                    event.stream_ordering = ordering
                    self.persisted.emit(EventPersisted(event, ordering))

    def _persist_outliers_txn(
        self, txn: Transaction, events: list[tuple[Event, int]]
    ) -> list[tuple[Event, int]]:
        existing = existing_event_ids_txn(txn, [e.event_id for e, _ in events])
        new = [(e, o) for e, o in events if e.event_id not in existing]
        insert_outliers_txn(txn, new, self._insert_room_txn, self.events.invalidate)
        return new

    def _persist_txn(
        self,
        txn: Transaction,
        event: Event,
        context: EventContext,
        stream_ordering: int,
        device_id: str | None,
        txn_id: str | None,
        backfilled: bool,
        tips: ExtremityWrite | None,
    ) -> int | None:
        room_id = event.room_id
        if context.fresh or not self._deoutlier_txn(
            txn, event, context, stream_ordering
        ):
            self._insert_event_txn(
                txn, event, context, stream_ordering, device_id, txn_id
            )
        if tips is not None:
            tips.note()  # no change to the tips, unless noted below
        if event.outlier:
            # No state is known around an outlier: no group, no extremities.
            return None
        if backfilled:
            update_backward_extremities_txn(txn, event)
        elif event.rejected_reason is None and not event.soft_failed:
            if context.sole_extremity:
                txn.execute_later(
                    "DELETE FROM event_forward_extremities WHERE room_id = ?",
                    (room_id,),
                )
            removed, added = update_extremities_txn(txn, event, context.fresh)
            if tips is not None:
                # A fresh event without prevs opens a new room: its only tip.
                first = context.fresh and not event.prev_event_ids
                tips.note(
                    removed=removed,
                    added=added,
                    replaced=context.sole_extremity or first,
                )
        else:
            # Never a tip for new events, but no longer a gap either.
            txn.execute_later(
                "DELETE FROM event_backward_extremities"
                " WHERE room_id = ? AND event_id = ?",
                (room_id, event.event_id),
            )
        group = self._state_group_txn(txn, event, context)
        if context.update_current_state and not backfilled:
            self._update_current_state_txn(txn, room_id, context, event)
        return group

    def _insert_event_txn(
        self,
        txn: Transaction,
        event: Event,
        context: EventContext,
        stream_ordering: int,
        device_id: str | None,
        txn_id: str | None,
    ) -> None:
        """Insert the event row, its edges, auth edges and membership index row."""
        room_id = event.room_id
        if event.type == EventTypes.CREATE and event.state_key == "":
            self._insert_room_txn(txn, event)
        txn.execute_later(
            "INSERT INTO events (event_id, room_id, type, state_key, sender, depth,"
            " stream_ordering, origin_server_ts, json, outlier, rejected_reason,"
            " soft_failed, replaces_state, sender_device_id, txn_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.event_id,
                room_id,
                event.type,
                event.state_key,
                event.sender,
                event.depth,
                stream_ordering,
                event.origin_server_ts,
                json.dumps(event.pdu, ensure_ascii=False),
                event.outlier,
                event.rejected_reason,
                event.soft_failed,
                context.state_before.get(event.state_tuple)
                if event.is_state()
                else None,
                device_id,
                txn_id,
            ),
        )
        txn.insert_many(
            "event_edges",
            ("event_id", "prev_event_id"),
            [(event.event_id, p) for p in dict.fromkeys(event.prev_event_ids)],
            later=True,
        )
        txn.insert_many(
            "event_auth",
            ("event_id", "auth_id"),
            [(event.event_id, a) for a in dict.fromkeys(event.auth_event_ids)],
            later=True,
        )
        if event.is_state():
            index_auth_chain_txn(txn, event)
        if event.type == EventTypes.MEMBER and event.rejected_reason is None:
            txn.execute_later(
                "INSERT INTO room_memberships (event_id, room_id, user_id, sender,"
                " membership, stream_ordering, depth) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    event.event_id,
                    room_id,
                    event.state_key,
                    event.sender,
                    event.membership or "",
                    stream_ordering,
                    event.depth,
                ),
            )
        if self.index_for_search:
            # Before the redactions: a redaction that arrived first unindexes it.
            index_event_txn(txn, event)
        index_relation_txn(txn, event, stream_ordering)
        self._redactions_txn(txn, event, context.apply_redaction, context.fresh)

    def _deoutlier_txn(
        self,
        txn: Transaction,
        event: Event,
        context: EventContext,
        stream_ordering: int,
    ) -> bool:
        """Turn a stored outlier into a DAG event; False if there is none.

        Its edges, auth edges and membership row were written when it was
        stored; the row gets the flags decided now, and a new stream ordering
        so that it reaches /sync as a new event.
        """
        if event.outlier:
            return False
        row = txn.query_one(
            "SELECT outlier, redacted_by FROM events WHERE event_id = ?",
            (event.event_id,),
        )
        if not row or not row.outlier:
            return False
        if self.index_for_search and row.redacted_by is None:
            index_event_txn(txn, event)
        txn.execute(
            "UPDATE events SET outlier = ?, stream_ordering = ?, rejected_reason = ?,"
            " soft_failed = ?, replaces_state = ?, json = ? WHERE event_id = ?",
            (
                False,
                stream_ordering,
                event.rejected_reason,
                event.soft_failed,
                context.state_before.get(event.state_tuple)
                if event.is_state()
                else None,
                json.dumps(event.pdu, ensure_ascii=False),
                event.event_id,
            ),
        )
        txn.execute(
            "UPDATE room_memberships SET stream_ordering = ? WHERE event_id = ?",
            (stream_ordering, event.event_id),
        )
        if event.rejected_reason is None and not event.soft_failed:
            index_relation_txn(txn, event, stream_ordering)
        else:
            unindex_relation_txn(txn, event.event_id)
        txn.call_after(partial(self.events.invalidate, event.event_id))
        return True

    def _redactions_txn(
        self, txn: Transaction, event: Event, apply: bool, fresh: bool
    ) -> None:
        """Apply a redaction to its target, or an earlier redaction to this
        event (none can name a fresh one).

        Callers persist only redactions already judged valid (same sender or
        enough power); the stored JSON stays whole and is redacted when served.
        """
        targets: list[tuple[str, str]] = []
        if (
            event.type == EventTypes.REDACTION
            and event.redacts
            and event.rejected_reason is None
            and apply
        ):
            txn.execute_later(
                "INSERT INTO redactions (event_id, redacts) VALUES (?, ?)",
                (event.event_id, event.redacts),
            )
            targets.append((event.redacts, event.event_id))
        if not fresh:
            for row in txn.query(
                "SELECT event_id FROM redactions WHERE redacts = ?",
                (event.event_id,),
            ):
                targets.append((event.event_id, row.event_id))
        mark_redacted_txn(txn, targets, self.events.invalidate)

    def _insert_room_txn(self, txn: Transaction, event: Event) -> None:
        txn.execute(
            # A row may already exist for a room we were invited to over
            # federation before we had its create event.
            "INSERT INTO rooms (room_id, room_version, creator, created_ts)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (room_id) DO NOTHING",
            (
                event.room_id,
                event.room_version.identifier,
                event.content.get("creator", event.sender),
                event.origin_server_ts,
            ),
        )

    def _state_group_txn(
        self, txn: Transaction, event: Event, context: EventContext
    ) -> int:
        before = context.state_group_before
        if before is None:
            before = self.state.store_state_group_txn(
                txn,
                event.room_id,
                context.state_before,
                context.delta_base_group,
                context.delta_base_state,
            )
        after = before
        if event.is_state() and event.rejected_reason is None:
            after = self.state.store_state_group_txn(
                txn,
                event.room_id,
                context.state_after(event),
                before,
                context.state_before,
                changed={event.state_tuple: event.event_id},
            )
        txn.execute_later(
            "INSERT INTO event_to_state_group (event_id, state_group) VALUES (?, ?)",
            (event.event_id, after),
        )
        return after

    def _update_current_state_txn(
        self, txn: Transaction, room_id: str, context: EventContext, event: Event
    ) -> None:
        if event.rejected_reason is not None or event.soft_failed:
            return
        if context.new_current_state is not None:
            replace_current_state_txn(txn, room_id, context.new_current_state)
            return
        if context.resolved:
            replace_current_state_txn(txn, room_id, context.state_after(event))
            return
        if event.is_state():
            set_current_state_txn(txn, room_id, event)
