"""Steps: rooms with their events, state and extremities.

Every event is written through the server's own event persister, in
Synapse's stream order, with the state before it read from Synapse's state
groups: the event, its edges, state groups, membership index, relations,
search index and redactions are written exactly as for an event the server
received itself. Events are not authorized again (Synapse did that; its
rejections and soft failures are kept). Outliers are stored as outliers, and
backfilled history (negative stream orderings) as backfilled events.

After the events, each room's current state and forward extremities are set
to Synapse's, so the rooms continue from exactly where Synapse left them, and
the user directory's index of each room is rebuilt.
"""

from __future__ import annotations

import json
from typing import Any

from homeserver.cli.errors import CliError
from homeserver.cli.import_synapse.steps import Context, Paused, Row, Step
from homeserver.cli.import_synapse.synapse_state import StateMap, SynapseStateGroups
from homeserver.cli.inline import wait
from homeserver.events.model import Event
from homeserver.events.room_versions import get_room_version
from homeserver.storage.database import Transaction
from homeserver.storage.stores.current_state_txns import replace_current_state_txn
from homeserver.storage.stores.event_persistence import EventContext

STEP = "events"
PROGRESS_EVERY = 200


def _event(row: Row, version_id: str) -> Event:
    version = get_room_version(version_id)
    if version is None:
        raise ValueError(f"unknown room version {version_id!r}")
    pdu: dict[str, Any] = json.loads(row["json"])
    pdu.pop("unsigned", None)
    meta = json.loads(row["internal_metadata"] or "{}")
    return Event(
        pdu=pdu,
        room_version=version,
        event_id=row["event_id"],
        rejected_reason=row["rejection_reason"],
        outlier=bool(row["outlier"]),
        soft_failed=bool(meta.get("soft_failed")),
        sender_device_id=meta.get("device_id"),
        txn_id=meta.get("txn_id"),
    )


class _RoomCursor:
    """Per room: the Chatly state group matching each Synapse group written
    so far, and the last group written (a base for deltas)."""

    def __init__(self) -> None:
        self.ours: dict[int, int] = {}
        self.last: dict[str, tuple[int, StateMap]] = {}


def _exists_txn(txn: Transaction, event_id: str) -> bool:
    row = txn.query_one("SELECT outlier FROM events WHERE event_id = ?", (event_id,))
    return row is not None and not row.outlier


def _import_one(
    ctx: Context, groups: SynapseStateGroups, rooms: _RoomCursor, row: Row
) -> None:
    target = ctx.target
    event = _event(row, row["room_version"])
    if target.run("import_event_exists", _exists_txn, event.event_id):
        return
    persister = target.core.persister
    group = None if event.outlier else groups.group_of(event.event_id)
    if group is None:
        event.outlier = True
        wait(persister.persist_outliers([event]))
        return
    key = event.state_tuple if event.is_state() else None
    before_group, state_before = groups.before(
        event.event_id, group, key, event.prev_event_ids
    )
    last = rooms.last.get(event.room_id)
    context = EventContext(
        state_before=state_before,
        state_group_before=rooms.ours.get(before_group) if before_group else None,
        delta_base_group=last[0] if last else None,
        delta_base_state=last[1] if last else None,
    )
    persisted = wait(
        persister.persist_event(
            event,
            context,
            event.sender_device_id,
            event.txn_id,
            backfilled=int(row["stream_ordering"]) < 0,
        )
    )
    if persisted.state_group_after is not None:
        rooms.ours[group] = persisted.state_group_after
        rooms.last[event.room_id] = (
            persisted.state_group_after,
            context.state_after(event),
        )


def _events(ctx: Context) -> int:
    state = ctx.target.state(STEP)
    done = state.rows_done
    after = int(state.position) if state.position is not None else None
    total = ctx.source.count("events")
    groups = SynapseStateGroups(ctx.source)
    rooms = _RoomCursor()
    query = (
        "SELECT e.stream_ordering, e.event_id, e.outlier, e.rejection_reason,"
        " j.json, j.internal_metadata, r.room_version"
        " FROM events AS e JOIN event_json AS j USING (event_id)"
        " JOIN rooms AS r ON r.room_id = e.room_id"
    )
    args: tuple[Any, ...] = ()
    if after is not None:
        query += " WHERE e.stream_ordering > ?"
        args = (after,)
        print(f"{STEP}: resuming after {done} events")
    limit = ctx.event_limit
    # Backfilled events (negative orderings) sort first: they are older.
    for row in ctx.source.rows(query + " ORDER BY e.stream_ordering", args):
        if limit is not None and done - state.rows_done >= limit:
            ctx.progress.step(STEP, done, total)
            raise Paused(
                f"{STEP}: stopped after {limit} events (--limit); run the same "
                "command again to continue"
            )
        try:
            _import_one(ctx, groups, rooms, row)
        except Exception as exc:
            raise CliError(
                f"could not import event {row['event_id']} (Synapse stream ordering"
                f" {row['stream_ordering']}): {type(exc).__name__}: {exc}; the events"
                " before it are imported, and running again retries it"
            ) from exc
        done += 1
        ctx.target.run(
            "import_events_progress",
            ctx.target.record_txn,
            STEP,
            done,
            str(row["stream_ordering"]),
        )
        if done % PROGRESS_EVERY == 0:
            ctx.progress.step(STEP, done, total)
    ctx.progress.step(STEP, done, total)
    return done


def _room_end_txn(
    txn: Transaction, room_id: str, current: StateMap, tips: list[str]
) -> None:
    known = {
        r.event_id
        for r in txn.query("SELECT event_id FROM events WHERE room_id = ?", (room_id,))
    }
    replace_current_state_txn(
        txn, room_id, {k: v for k, v in current.items() if v in known}
    )
    present = [t for t in tips if t in known]
    if present:
        txn.execute(
            "DELETE FROM event_forward_extremities WHERE room_id = ?", (room_id,)
        )
        txn.execute_many(
            "INSERT INTO event_forward_extremities (room_id, event_id) VALUES (?, ?)",
            [(room_id, t) for t in present],
        )


def _room_ends(ctx: Context) -> int:
    """Each room's current state and forward extremities, as Synapse had them."""
    rooms = [r["room_id"] for r in ctx.source.rows("SELECT room_id FROM rooms")]
    for room_id in rooms:
        current = {
            (r["type"], r["state_key"]): r["event_id"]
            for r in ctx.source.rows(
                "SELECT type, state_key, event_id FROM current_state_events"
                " WHERE room_id = ?",
                (room_id,),
            )
        }
        tips = [
            r["event_id"]
            for r in ctx.source.rows(
                "SELECT event_id FROM event_forward_extremities WHERE room_id = ?",
                (room_id,),
            )
        ]

        ctx.target.run("import_room_ends", _room_end_txn, room_id, current, tips)
    ctx.progress.step("room_state", len(rooms), len(rooms))
    return len(rooms)


def _user_directory(ctx: Context) -> int:
    """The user directory's index of each room (public or not, and its
    remote members), as the server keeps it from live events."""
    from homeserver.composition.user_directory import UserDirectoryBundle

    index = UserDirectoryBundle.build(core=ctx.target.core).index
    rooms = [r["room_id"] for r in ctx.source.rows("SELECT room_id FROM rooms")]
    for room_id in rooms:
        wait(index.refresh_room(room_id))
    ctx.progress.step("user_directory", len(rooms), len(rooms))
    return len(rooms)


STEPS = [
    Step(STEP, _events),
    Step("room_state", _room_ends),
    Step("user_directory", _user_directory),
]
