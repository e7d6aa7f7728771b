"""The pusher pool: one runner per stored pusher, woken when push actions are
stored for its user or the user reads something.

A pusher kind (``http``, ``email``) is a ``PusherKind`` registered with the
pool: its ``factory`` builds the runner of one pusher, its ``validate``
checks ``POST /pushers/set`` bodies of that kind. A runner does its work in
the background (``run_in_background``): nothing here waits for a delivery,
so sending a message never waits for a push. Runners save their position
and failure state through ``save_progress`` so a restart resumes where they
were.

Contract 3 of issue 14 (the notes' push_contracts.md).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Protocol

import attrs
from prometheus_client import Gauge

from homeserver.storage.stores.pushers import NewPusher, PusherRecord, PusherStore
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

PUSHERS = Gauge("homeserver_pushers", "Pushers running, by kind", ["kind"])


class PusherRunner(Protocol):
    """What the pool drives for one pusher."""

    async def on_new_actions(self, upto: int) -> None:
        """Push actions up to stream position ``upto`` may exist for the
        pusher's user. Returns at once; the delivery runs in the background."""

    async def on_read(self, room_id: str) -> None:
        """The user read something in ``room_id`` (their counts changed);
        may be a no-op."""

    def stop(self) -> None:
        """The pusher was removed or the server stops: cancel timers."""


PusherFactory = Callable[[PusherRecord, "PusherHost"], PusherRunner]
"""Builds the runner of one pusher of a kind."""

PusherValidator = Callable[[NewPusher], Awaitable[None]]
"""Checks a ``POST /pushers/set`` body of a kind; raises a ``MatrixError``
(400) naming the problem."""


@attrs.frozen(kw_only=True)
class PusherKind:
    """A kind of pusher the pool runs.

    Attributes:
        name: the ``kind`` of ``/pushers/set`` (``http``, ``email``).
        factory: builds the runner of one pusher.
        validate: checks a new pusher of this kind (its ``data``, its
            pushkey) before it is stored.
    """

    name: str
    factory: PusherFactory
    validate: PusherValidator


class PusherHost(Protocol):
    """What a runner may ask of the pool."""

    clock: Clock

    async def save_progress(
        self,
        record: PusherRecord,
        *,
        last_stream_ordering: int,
        failing_since: int | None,
        last_success_ts: int | None = None,
    ) -> bool:
        """Save the pusher's position and failure state durably; False when
        the pusher was deleted meanwhile (the runner should stop)."""

    async def remove_pusher(self, record: PusherRecord, reason: str) -> None:
        """Delete the pusher and stop its runner (a rejected pushkey)."""


class PusherPool:
    """Every running pusher of the server.

    Args:
        store: the pushers table.
        clock: timers of the runners.
        current_position: the events stream's current position (where a
            new pusher starts, and up to where runners catch up at start-up).
    """

    def __init__(
        self, *, store: PusherStore, clock: Clock, current_position: Callable[[], int]
    ) -> None:
        self.store = store
        self.clock = clock
        self.current_position = current_position
        self.kinds: dict[str, PusherKind] = {}
        # user_id -> {(app_id, pushkey): (record, runner)}
        self.runners: dict[
            str, dict[tuple[str, str], tuple[PusherRecord, PusherRunner]]
        ] = {}
        self._started = False
        self.relay: Callable[[str], None] | None = None
        """Set when other processes run pushers (``pusher`` workers): told
        of each user whose stored pushers changed here and whose pushers
        this pool does not run."""
        self.owns_user: Callable[[str], bool] = _every_user
        """Whether this pool runs the user's pushers (``pusher`` workers
        share the users by a stable hash; one process runs them all)."""

    def register_kind(self, kind: PusherKind) -> None:
        """Make a kind known (before ``start``)."""
        self.kinds[kind.name] = kind

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Start a runner for every stored pusher of a known kind; those
        that were failing or behind resume at once."""
        self._started = True
        for record in await self.store.get_all_pushers():
            if not self.owns_user(record.user_id):
                continue
            self._start_runner(record)
            runner = self._runner(record)
            if runner is not None:
                # Catch up: actions stored while the server was down, or a
                # delivery that was being retried.
                run_in_background(
                    "pusher_resume", runner.on_new_actions(self.current_position())
                )

    def stop(self) -> None:
        """Stop every runner (shutdown)."""
        for user_runners in self.runners.values():
            for _, runner in user_runners.values():
                runner.stop()
        self.runners.clear()
        PUSHERS.clear()

    def _runner(self, record: PusherRecord) -> PusherRunner | None:
        found = self.runners.get(record.user_id, {}).get(
            (record.app_id, record.pushkey)
        )
        return None if found is None else found[1]

    def _start_runner(self, record: PusherRecord) -> None:
        kind = self.kinds.get(record.kind)
        if kind is None:
            logger.warning(
                "not starting a pusher of unknown kind %s",
                record.kind,
                extra={"user_id": record.user_id, "app_id": record.app_id},
            )
            return
        self._stop_runner(record.user_id, record.app_id, record.pushkey)
        runner = kind.factory(record, self)
        self.runners.setdefault(record.user_id, {})[(record.app_id, record.pushkey)] = (
            record,
            runner,
        )
        PUSHERS.labels(record.kind).inc()

    def _stop_runner(self, user_id: str, app_id: str, pushkey: str) -> None:
        user_runners = self.runners.get(user_id)
        if not user_runners:
            return
        found = user_runners.pop((app_id, pushkey), None)
        if not user_runners:
            del self.runners[user_id]
        if found is not None:
            found[1].stop()
            PUSHERS.labels(found[0].kind).dec()

    # -- changes of the stored pushers ------------------------------------------

    def pusher_added(self, record: PusherRecord) -> None:
        """A pusher was stored (new or replaced): (re)start its runner."""
        if self._started and self.owns_user(record.user_id):
            self._start_runner(record)
        elif self.relay is not None:
            self.relay(record.user_id)

    def pushers_removed(self, records: Collection[PusherRecord]) -> None:
        """These pushers were deleted: stop their runners."""
        for record in records:
            self._stop_runner(record.user_id, record.app_id, record.pushkey)
        if self.relay is not None:
            for user_id in sorted({record.user_id for record in records}):
                if not (self._started and self.owns_user(user_id)):
                    self.relay(user_id)

    async def reload_user(self, user_id: str) -> None:
        """Another process changed the user's stored pushers: run exactly
        the stored ones (a new one starts at the current position)."""
        if not self._started or not self.owns_user(user_id):
            return
        stored = await self.store.get_pushers_by_user(user_id)
        wanted = {(r.app_id, r.pushkey) for r in stored}
        for app_id, pushkey in list(self.runners.get(user_id, {})):
            if (app_id, pushkey) not in wanted:
                self._stop_runner(user_id, app_id, pushkey)
        for record in stored:
            running = self.runners.get(user_id, {}).get((record.app_id, record.pushkey))
            if running is None or _settings(running[0]) != _settings(record):
                self._start_runner(record)

    async def remove_pusher(self, record: PusherRecord, reason: str) -> None:
        logger.info(
            "removing pusher: %s",
            reason,
            extra={"user_id": record.user_id, "app_id": record.app_id},
        )
        removed = await self.store.delete_pusher(
            record.user_id, record.app_id, record.pushkey
        )
        self.pushers_removed(removed or [record])

    async def save_progress(
        self,
        record: PusherRecord,
        *,
        last_stream_ordering: int,
        failing_since: int | None,
        last_success_ts: int | None = None,
    ) -> bool:
        return await self.store.update_pusher_progress(
            record.id,
            last_stream_ordering=last_stream_ordering,
            failing_since=failing_since,
            last_success_ts=last_success_ts,
        )

    # -- wake-ups ----------------------------------------------------------------

    def on_new_push_actions(self, user_ids: Collection[str], upto: int) -> None:
        """Push actions up to ``upto`` were stored for these users (the
        ``push_actions_stored`` signal): wake their runners."""
        for user_id in user_ids:
            for _, runner in list(self.runners.get(user_id, {}).values()):
                run_in_background("pusher_wake", runner.on_new_actions(upto))

    def on_read(self, user_id: str, room_id: str) -> None:
        """The user read something in the room (a receipt): their badge may
        have changed."""
        for _, runner in list(self.runners.get(user_id, {}).values()):
            run_in_background("pusher_read", runner.on_read(room_id))

    def on_devices_deleted(self, user_id: str, device_ids: Collection[str]) -> None:
        """Devices were deleted or logged out: their pushers go."""
        run_in_background(
            "pushers_of_devices", self._remove_of_devices(user_id, device_ids)
        )

    async def _remove_of_devices(
        self, user_id: str, device_ids: Collection[str]
    ) -> None:
        self.pushers_removed(
            await self.store.delete_pushers_of_devices(user_id, device_ids)
        )

    def on_account_deactivated(self, user_id: str) -> None:
        """A user was deactivated: all their pushers go."""
        run_in_background("pushers_of_user", self._remove_of_user(user_id))

    async def _remove_of_user(self, user_id: str) -> None:
        self.pushers_removed(await self.store.delete_user_pushers(user_id))


def _settings(record: PusherRecord) -> tuple[object, ...]:
    """What a runner is built from, leaving out the progress it saves."""
    return (
        record.id,
        record.kind,
        record.device_id,
        record.data,
        record.lang,
        record.pushkey_ts,
    )


def _every_user(_user_id: str) -> bool:
    return True
