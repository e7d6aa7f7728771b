"""The sliding-sync room builder (Contract A): one room's entry of a response.

MSC4186, "Room results" and "Changing room configs", with Synapse's fields
and semantics (``handlers/sliding_sync``). A room is sent whole
(``initial: true``) the first time on a connection and when the user (re)joins
it; after that an entry carries what changed since the room was last sent:
new timeline events, changed state matching ``required_state``, a new name
or avatar, heroes and counts when memberships changed, and the unread counts.
A grown ``timeline_limit`` sends the latest events again with
``expanded_timeline`` (and Synapse's ``unstable_expanded_timeline``); a grown
``required_state`` sends the state only the new config matches. Invites and
knocks get only their stripped state (``stripped.py``).

The builder's memory per room and connection (bounded): the config the room
was sent with, the membership, the unread counts last sent and the members
sent through lazy loading.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from homeserver.events.model import Event, EventTypes, Membership, StateKey
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.filters import Filter, parse_filter
from homeserver.services.reading.personal import PersonalFilter, PersonalView
from homeserver.services.sliding_sync.model import (
    RoomAnswer,
    RoomRequest,
)
from homeserver.services.sliding_sync.rooms.batch import (
    Batch,
    WindowKey,
    read_whole_rooms,
)
from homeserver.services.sliding_sync.rooms.meta import (
    AVATAR_KEY,
    NAME_KEY,
    content_string,
    hero_entries,
    naming_fields,
)
from homeserver.services.sliding_sync.rooms.plan import Plan, keep_config, plan_room
from homeserver.services.sliding_sync.rooms.state import (
    MAX_LAZY_REMEMBERED,
    StateMap,
    StatePick,
    lazy_users,
    pick_state,
)
from homeserver.services.sliding_sync.rooms.stripped import stripped_entry
from homeserver.services.sliding_sync.rooms.timeline import (
    RoomTimeline,
    count_live,
    fetch_timeline,
)
from homeserver.services.sync.sync_rooms import (
    MAX_HEROES,
    RoomSyncBuilder,
    SyncRequestInfo,
)
from homeserver.services.sync.unread import UnreadCounter
from homeserver.storage.stores.event_state import StateSelection
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.sliding_sync import SlidingSyncStore
from homeserver.storage.stores.sync import RoomWindow
from homeserver.types import JsonDict

_STRIPPED_ONLY = (Membership.INVITE, Membership.KNOCK)
# How many responses' reads (views, batches) are kept for their builds.
_REMEMBERED = 16
K = TypeVar("K")
V = TypeVar("V")


class FullRoomBuilder:
    """Every field of a room's entry (see the module doc)."""

    def __init__(
        self,
        *,
        rooms: RoomSyncBuilder,
        store: SlidingSyncStore,
        room_state: RoomStateStore,
        personal: PersonalFilter,
        unread: UnreadCounter,
    ) -> None:
        self.rooms = rooms
        self.store = store
        self.room_state = room_state
        self.personal = personal
        self.unread = unread
        self._filter = parse_filter(Filter, {})
        # Per (user, position) of the last few responses (requests of
        # several users interleave): the view read, reused by the other
        # rooms of the same response, and what ``prepare`` read.
        self._views: dict[tuple[str, str], PersonalView] = {}
        self._batches: dict[tuple[str, str], Batch] = {}

    async def prepare(self, requester: Requester, reqs: Sequence[RoomRequest]) -> None:
        """Read the timeline windows, their events and the unread counts of
        all the response's rooms in a few queries (a first response of 20
        rooms would otherwise make some 200 round trips)."""
        rooms = [r for r in reqs if r.membership not in _STRIPPED_ONLY]
        if not rooms:
            return
        user_id = requester.user_id
        view = await self._personal_view(user_id, rooms[0])
        groups: dict[tuple[int, int], dict[str, int | None]] = {}
        whole: dict[str, int] = {}
        for req in rooms:
            plan = plan_room(req, req.memory or {})
            if plan.initial:
                whole[req.room_id] = plan.upto
            if req.config.timeline_limit > 0:
                start = None if plan.initial or plan.expanded else plan.since
                key = (req.config.timeline_limit, plan.upto)
                groups.setdefault(key, {})[req.room_id] = start
        windows: dict[WindowKey, RoomWindow] = {}
        for (limit, upto), starts in groups.items():
            found = await self.rooms.store.get_windows(starts, upto, limit)
            for room_id, window in found.items():
                windows[(room_id, starts[room_id], limit, upto)] = window
        # Into the event cache, for each room's build.
        await self.rooms.events.get_events(
            [e for w in windows.values() for e in w.event_ids]
        )
        joined = [r.room_id for r in rooms if r.membership == Membership.JOIN]
        counts = await self._unread_counts(view, joined, rooms[0].upto.events)
        # Where each stay began, for the history-visibility check of the
        # timelines that start from nothing.
        fresh = {k[0] for k in windows if k[1] is None}
        stays = await self.rooms.store.get_join_positions(user_id, fresh)
        joins = {r: stays.get(r) for r in fresh}
        # The rooms sent whole: their state and member overviews.
        whole_joined = [r for r in whole if r in set(joined)]
        states, overviews = await read_whole_rooms(
            self.store, self.rooms.event_state, user_id, whole, whole_joined
        )
        upto_key = rooms[0].upto.to_string()
        batch = Batch(user_id, upto_key, windows, counts, joins, states, overviews)
        _remember(self._batches, (user_id, upto_key), batch)

    def _prepared(self, user_id: str, req: RoomRequest) -> Batch | None:
        return self._batches.get((user_id, req.upto.to_string()))

    async def build(self, requester: Requester, req: RoomRequest) -> RoomAnswer:
        memory = req.memory or {}
        if req.membership in _STRIPPED_ONLY:
            return await stripped_entry(
                self.rooms, self.room_state, requester.user_id, req
            )
        plan = plan_room(req, memory)
        view = await self._personal_view(requester.user_id, req)
        batch = self._prepared(requester.user_id, req)
        timeline = None
        if req.config.timeline_limit > 0:
            start = None if plan.initial or plan.expanded else plan.since
            limit = req.config.timeline_limit
            timeline = await fetch_timeline(
                self.rooms,
                view,
                room_id=req.room_id,
                limit=limit,
                start=start,
                upto=plan.upto,
                window=None
                if batch is None
                else batch.windows.get((req.room_id, start, limit, plan.upto)),
                joins=None if batch is None else batch.joins,
            )
        info = SyncRequestInfo(requester, self._filter, False, view)
        result: JsonDict = {}
        if plan.initial:
            result["initial"] = True
        if plan.expanded:
            result["expanded_timeline"] = True
            result["unstable_expanded_timeline"] = True
        pick, events, now = await self._state(info, req, plan, timeline, memory, batch)
        await self._meta(info, req, plan, pick, events, now, result, batch)
        if pick.picked:
            result["required_state"] = await self._required_state(info, pick, events)
        if timeline is not None:
            if timeline.events:
                result["timeline"] = await self.rooms.serialize(info, timeline.events)
            result["limited"] = timeline.limited
            result["prev_batch"] = timeline.prev_batch.to_string()
            live_from = req.connection_since
            result["num_live"] = count_live(
                timeline.events, None if live_from is None else live_from.events
            )
        counts = (0, 0)
        if req.membership == Membership.JOIN:
            if batch is not None and req.room_id in batch.counts:
                counts = batch.counts[req.room_id]
            else:
                found = await self._unread_counts(view, [req.room_id], req.upto.events)
                counts = found.get(req.room_id, (0, 0))
        result["notification_count"], result["highlight_count"] = counts
        keep = keep_config(req.config, plan, timeline)
        new_memory = {
            "config": keep.to_json(),
            "m": req.membership,
            "counts": list(counts),
            "lazy": pick.lazy_sent,
        }
        quiet = (
            not plan.initial
            and not plan.expanded
            and counts == tuple(memory.get("counts", ()))
            and memory.get("m") == req.membership
        )
        # With no timeline asked for, a joined room's new events still move
        # its bump_stamp: it is sent.
        no_bump = timeline is not None or req.membership != Membership.JOIN
        if quiet and no_bump and _nothing_new(result):
            return RoomAnswer(None, new_memory, keep)
        return RoomAnswer(result, new_memory, keep)

    async def _personal_view(self, user_id: str, req: RoomRequest) -> PersonalView:
        key = (user_id, req.upto.to_string())
        view = self._views.get(key)
        if view is None:
            view = await self.personal.view(user_id)
            _remember(self._views, key, view)
        return view

    async def _state(
        self,
        info: SyncRequestInfo,
        req: RoomRequest,
        plan: Plan,
        timeline: RoomTimeline | None,
        memory: JsonDict,
        batch: Batch | None,
    ) -> tuple[StatePick, dict[StateKey, Event], StateMap]:
        """The state to send and the state events the entry needs."""
        wanted = req.config.required_state.for_user(info.user_id)
        old = (
            None if plan.old is None else plan.old.required_state.for_user(info.user_id)
        )
        # Without a gap and without state events in the window, nothing in
        # the state can have changed since the room was last sent.
        need_diff = not plan.initial and (
            timeline is None or timeline.limited or timeline.had_state
        )
        grown = old is not None and old.combine(wanted) != old
        users = lazy_users(timeline.events) if timeline and wanted.lazy_members else []
        if plan.initial or need_diff or grown:
            selection = StateSelection.all()
        else:
            # Only the lazy members not sent before are read (the others'
            # membership cannot have changed: no state event in the window).
            remembered = list(memory.get("lazy", []))
            known = set(remembered)
            missing = [u for u in users if u not in known]
            if not missing:
                lazy = list(dict.fromkeys([*users, *remembered]))
                return StatePick({}, lazy[:MAX_LAZY_REMEMBERED], frozenset()), {}, {}
            selection = StateSelection(
                keys=frozenset((EventTypes.MEMBER, u) for u in missing)
            )
        read = None if batch is None else batch.states.get(req.room_id)
        if plan.initial and read is not None and read[0] == plan.upto:
            now, then = read[1], None  # read with the response's other rooms
        else:
            now, then = await self._read_state(req, plan, need_diff, selection)
        pick = pick_state(
            wanted,
            now,
            then,
            old=old,
            timeline=timeline.events if timeline else [],
            limited=timeline.limited if timeline else True,
            lazy_sent=[] if plan.initial else memory.get("lazy", []),
        )
        needed = {k: v for k, v in pick.picked.items() if v is not None}
        # The name also when memberships moved: heroes only for unnamed rooms.
        moved = _members_moved(plan, pick)
        for key in (NAME_KEY, AVATAR_KEY):
            if key in now and (plan.initial or key in pick.changed or moved):
                needed[key] = now[key]
        found = await self.rooms.events.get_events(list(set(needed.values())))
        events = {k: found[v] for k, v in needed.items() if v in found}
        return pick, events, now

    async def _read_state(
        self, req: RoomRequest, plan: Plan, need_diff: bool, selection: StateSelection
    ) -> tuple[StateMap, StateMap | None]:
        """The room's state at the response and, for a room the client has,
        when it was last sent (None for a room sent whole)."""
        positions = [plan.upto] + ([plan.since] if need_diff and plan.since else [])
        anchors = await self.store.get_events_at(req.room_id, positions)
        now_id = anchors.get(plan.upto)
        then_id = anchors.get(plan.since) if need_diff and plan.since else None
        maps = await self.rooms.event_state.get_state_ids_for_events(
            [e for e in (now_id, then_id) if e is not None], selection
        )
        now: StateMap = maps.get(now_id or "", {})
        then: StateMap | None = None
        if not plan.initial:
            then = maps.get(then_id or "", {}) if need_diff else now
        return now, then

    async def _meta(
        self,
        info: SyncRequestInfo,
        req: RoomRequest,
        plan: Plan,
        pick: StatePick,
        events: dict[StateKey, Event],
        now: StateMap,
        result: JsonDict,
        batch: Batch | None,
    ) -> None:
        naming_fields(result, events, initial=plan.initial, changed=pick.changed)
        if req.membership != Membership.JOIN or not _members_moved(plan, pick):
            return
        overview = batch.overviews.get(req.room_id) if batch and plan.initial else None
        if overview is None:
            overview = await self.store.get_member_overview(
                req.room_id, info.user_id, MAX_HEROES
            )
        result["joined_count"] = overview.joined
        result["invited_count"] = overview.invited
        if content_string(events.get(NAME_KEY), "name") is None and overview.heroes:
            # Only the heroes' membership events are read, not every member's.
            keys = [(EventTypes.MEMBER, u) for u in overview.heroes]
            ids = {k: now[k] for k in keys if k in now and k not in events}
            found = await self.rooms.events.get_events(list(ids.values()))
            heroes = dict(events)
            heroes.update((k, found[v]) for k, v in ids.items() if v in found)
            result["heroes"] = hero_entries(overview.heroes, heroes)

    async def _required_state(
        self, info: SyncRequestInfo, pick: StatePick, events: dict[StateKey, Event]
    ) -> list[JsonDict]:
        present = [events[k] for k in sorted(pick.picked) if k in events]
        out = await self.rooms.serialize(info, present)
        # Removed state: a stub (merged MSC4186, "StateStub").
        out.extend(
            {"type": t, "state_key": k}
            for (t, k), event_id in sorted(pick.picked.items())
            if event_id is None
        )
        return out

    async def _unread_counts(
        self, view: PersonalView, room_ids: list[str], upto: int
    ) -> dict[str, tuple[int, int]]:
        """(notification_count, highlight_count) of each room, as /sync."""
        found = await self.unread.counts(
            view.user_id,
            room_ids,
            upto,
            ignored=view.ignored,
            threaded=False,
            any_hidden=bool(view.hidden),
        )
        out = {}
        for room_id, keys in found.items():
            counts = keys.get("unread_notifications", {})
            out[room_id] = (
                int(counts.get("notification_count", 0)),
                int(counts.get("highlight_count", 0)),
            )
        return out


def _remember(cache: dict[K, V], key: K, value: V) -> None:
    """Keep ``value``, and only the last few entries."""
    cache.pop(key, None)
    cache[key] = value
    while len(cache) > _REMEMBERED:
        del cache[next(iter(cache))]


def _members_moved(plan: Plan, pick: StatePick) -> bool:
    """Whether member counts and heroes are sent: with the whole room, and
    when someone's membership changed."""
    return plan.initial or any(k[0] == EventTypes.MEMBER for k in pick.changed)


def _nothing_new(result: JsonDict) -> bool:
    """Whether an incremental entry holds no news."""
    news = {
        "timeline",
        "required_state",
        "name",
        "avatar",
        "heroes",
        "joined_count",
        "invited_count",
    }
    return not news & result.keys()
