#!/usr/bin/env python3
"""Push rule evaluation benchmark: the cost of evaluating one new event for a
room of 1,000 local members, and of the /sync unread-count queries.

    PYTHONPATH=. python bench/push_eval_bench.py [--members N] [--events K]

evaluation  ``PushEvaluator.evaluate`` (the code the persister runs before
            writing each event) for K messages into a room of N local members,
            each with the default rules plus three custom rules (a keyword
            content rule, a room rule, a sender rule), with the room, the
            compiled rules and the ignore lists warm in their caches (as in a
            busy room): time per event and per member; a mention of one member
            and a plain message
insert      writing the actions of one event for N members (the multi-row
            INSERT inside the persist transaction), SQLite
counts      ``PushActionsStore.count_unread`` for one user in 50 rooms with 20
            unread notifications each (an initial /sync's count queries) and
            for 3 rooms (an incremental /sync), SQLite; median of runs
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Collection, Mapping
from typing import Any

from twisted.internet import defer

from homeserver.events.model import Event
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from homeserver.services.push.evaluation import PushEvaluator
from homeserver.services.push.ignores import IgnoredBy
from homeserver.services.push.rules.defaults import merged_rules
from homeserver.services.push.rules.evaluator import CompiledRules, compile_rules
from homeserver.services.push.rules.model import PushRule
from homeserver.signals import Signals
from homeserver.storage.database import Database, inline_runner
from homeserver.storage.engines import SqliteEngine
from homeserver.storage.migrations import prepare_database
from homeserver.storage.stores.event_persistence import EventContext
from homeserver.storage.stores.push_actions import (
    EventPushActions,
    PushActionsStore,
    UserActions,
    insert_push_actions_txn,
    positions_from_receipts,
)
from homeserver.storage.stores.push_rooms import PushRoom, PushRoomStore
from homeserver.types import JsonDict

ROOM = "!bench:hs"
SERVER = "hs"


def run(d: Any) -> Any:
    out: list[Any] = []
    defer.ensureDeferred(d).addBoth(out.append)
    if hasattr(out[0], "raiseException"):
        out[0].raiseException()
    return out[0]


class Clock:
    def time_msec(self) -> int:
        return int(time.time() * 1000)


class Rules:
    """Each member's compiled rules, warm (the rule service's cache)."""

    def __init__(self, members: list[str]) -> None:
        self.compiled = {u: compile_rules(_rules_of(u)) for u in members}

    async def compiled_rules_for(
        self, user_ids: Collection[str]
    ) -> Mapping[str, CompiledRules]:
        return {u: self.compiled[u] for u in user_ids}


class NoIgnores:
    async def get_global_of_type(self, data_type: str) -> dict[str, JsonDict]:
        return {}

    async def get_account_data(self, *_: Any) -> JsonDict | None:
        return None


def _rules_of(user_id: str) -> list[PushRule]:
    own = [
        PushRule(kind="content", rule_id="cake", pattern="cake", actions=("notify",)),
        PushRule(kind="room", rule_id="!other:hs", actions=()),
        PushRule(kind="sender", rule_id="@spammer:hs", actions=()),
    ]
    return merged_rules(user_id, own, {})


def _event(n: int, body: str, mentions: list[str]) -> Event:
    pdu = {
        "type": "m.room.message",
        "room_id": ROOM,
        "sender": "@sender:hs",
        "content": {
            "msgtype": "m.text",
            "body": body,
            "m.mentions": {"user_ids": mentions},
        },
        "depth": n,
        "origin_server_ts": 0,
        "prev_events": [],
        "auth_events": [],
    }
    return Event(pdu=pdu, room_version=KNOWN_ROOM_VERSIONS["10"], event_id=f"$e{n}")


def bench_evaluation(db: Database, members: int, events: int) -> None:
    users = [f"@user{i}:hs" for i in range(members)]
    rooms = PushRoomStore(db, lambda u: u.endswith(":hs"))
    rooms._rooms.set(  # a warm room, as after its first event
        ROOM,
        PushRoom(
            frozenset([*users, "@sender:hs"]),
            {u: f"User {i}" for i, u in enumerate(users)},
            {},
        ),
    )
    evaluator = PushEvaluator(
        rooms=rooms,
        rules=Rules(users),
        ignored_by=IgnoredBy(NoIgnores()),
        is_local=lambda u: u.endswith(":hs"),
        clock=Clock(),  # type: ignore[arg-type]
        stored=Signals().push_actions_stored,
    )
    context = EventContext(state_before={})
    for label, body, mentions in (
        ("plain message", "hello everyone", []),
        ("mention of one", "look at this", [users[7]]),
    ):
        times = []
        notified = 0
        for n in range(events):
            start = time.perf_counter()
            actions = run(evaluator.evaluate(_event(n, body, mentions), context))
            times.append(time.perf_counter() - start)
            notified = len(actions.users)
        per_event = statistics.median(times)
        print(
            f"evaluation  {label:15s} {members} members: {per_event * 1e3:7.2f} ms/event"
            f"  {per_event / members * 1e6:6.2f} µs/member  ({notified} notified)"
        )


def bench_insert_and_counts(db: Database, members: int) -> None:
    users = tuple(
        UserActions(f"@user{i}:hs", ["notify"], False) for i in range(members)
    )
    times = []
    for n in range(10):
        actions = EventPushActions(
            event_id=f"$ins{n}",
            room_id=ROOM,
            thread_id="main",
            received_ts=0,
            users=users,
        )
        start = time.perf_counter()
        run(
            db.run_interaction(
                "ins",
                lambda t, a=actions, o=n: insert_push_actions_txn(t, a, 10_000 + o),
            )
        )
        times.append(time.perf_counter() - start)
    print(
        f"insert      actions of one event for {members} members: "
        f"{statistics.median(times) * 1e3:.2f} ms"
    )
    ordering = 100_000
    one = (UserActions("@reader:hs", ["notify"], False),)
    for room in range(50):
        for _ in range(20):
            ordering += 1
            actions = EventPushActions(
                event_id=f"$c{ordering}",
                room_id=f"!r{room}:hs",
                thread_id="main",
                received_ts=0,
                users=one,
            )
            run(
                db.run_interaction(
                    "ins",
                    lambda t, a=actions, o=ordering: insert_push_actions_txn(t, a, o),
                )
            )
    store = PushActionsStore(db)
    for rooms in (50, 3):
        positions = {f"!r{r}:hs": positions_from_receipts({}, 0) for r in range(rooms)}
        times = []
        for _ in range(20):
            start = time.perf_counter()
            run(store.count_unread("@reader:hs", positions, ordering + 1))
            times.append(time.perf_counter() - start)
        print(
            f"counts      /sync count queries for {rooms:2d} rooms: "
            f"{statistics.median(times) * 1e3:.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--events", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(SqliteEngine(f"{tmp}/bench.db"), inline_runner)
        run(prepare_database(db))
        bench_evaluation(db, args.members, args.events)
        bench_insert_and_counts(db, args.members)
        db.close()


if __name__ == "__main__":
    main()
