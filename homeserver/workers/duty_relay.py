"""Hands work to the process that does a duty (docs/scaling.md, "Duties").

Plugged into the ports of the federation sender (``SenderRelay``), the
application-service sender (its ``relay``) and the pusher pool (its
``relay``) when a worker deployment gives those duties to other processes.
Work is gathered per target process during one reactor turn and sent as one
``POST /_chatly/replication/duty_wake`` (``api/replication/duty_wake.py``) in
the background: a typing notification never waits for the sender.

What happens when the target is down after the internal client's retries:
read receipts for other servers are stored as persistent EDUs instead
(``keeper``: the federation outbox, which the sender reads when it starts),
so they arrive late rather than never; typing (stale within its timeout) and
presence (re-announced by the presence writer) are dropped, as when a
destination is down. Persistent EDUs, application-service items and pushers
are in the database, and the target reads them when it starts.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Protocol

import attrs

from homeserver.api.replication.duty_wake import ENDPOINT, DutyWake, RelayedEdu
from homeserver.types import JsonDict
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock
from homeserver.workers.roles import Duty, WorkerTopology, stable_shard

logger = logging.getLogger(__name__)


KEPT_WHEN_UNDELIVERED = frozenset({"m.receipt"})
"""Ephemeral EDU types stored for their sender when it cannot be reached: a
lost read receipt is never sent again, where typing expires and presence is
re-announced."""


class EduKeeper(Protocol):
    """Stores EDUs that their sender reads when it starts (the federation
    outbox)."""

    async def queue_edus(
        self, destinations: Collection[str], edu_type: str, content: JsonDict
    ) -> None:
        """Store one EDU for each destination."""


class InternalPoster(Protocol):
    """POSTs JSON to another process's replication endpoint
    (``workers/internal_client.py``)."""

    async def post(self, instance: str, endpoint: str, body: JsonDict) -> JsonDict:
        """The answer of ``endpoint`` on ``instance``."""
        ...


@attrs.define
class _Pending:
    edus: list[RelayedEdu] = attrs.field(factory=list)
    wake: set[str] = attrs.field(factory=set)
    alive: set[str] = attrs.field(factory=set)
    relayed: dict[str, str] = attrs.field(factory=dict)
    appservices: set[str] = attrs.field(factory=set)
    pusher_users: set[str] = attrs.field(factory=set)

    def wake_body(self) -> DutyWake:
        return DutyWake(
            edus=tuple(self.edus),
            wake_destinations=tuple(sorted(self.wake)),
            alive=tuple(sorted(self.alive)),
            relayed=tuple(sorted(self.relayed.items())),
            appservices=tuple(sorted(self.appservices)),
            pusher_users=tuple(sorted(self.pusher_users)),
        )


class DutyRelay:
    """Batches work per target process and posts it once per reactor turn.

    Args:
        topology: the deployment (who does which duty).
        client: the internal HTTP client (``hs.workers.client``).
        clock: the injected clock (the flush runs on the next turn).
        keeper: where receipts for an unreachable sender are stored.
    """

    def __init__(
        self,
        *,
        topology: WorkerTopology,
        client: InternalPoster | None,
        clock: Clock,
        keeper: EduKeeper | None = None,
    ) -> None:
        self.topology = topology
        self.client = client
        self.clock = clock
        self.keeper = keeper
        self._pending: dict[str, _Pending] = {}
        self._flush_scheduled = False

    def _to(self, instance: str) -> _Pending:
        pending = self._pending.get(instance)
        if pending is None:
            pending = self._pending[instance] = _Pending()
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.clock.call_later(0, self._flush)
        return pending

    def _by_sender(self, destinations: Collection[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for destination in sorted(destinations):
            sender = self.topology.federation_sender_for(destination)
            out.setdefault(sender, []).append(destination)
        return out

    # -- SenderRelay (federation/sender/shard.py) -------------------------------

    def send_edu(
        self, destinations: Collection[str], edu_type: str, content: JsonDict
    ) -> None:
        """An ephemeral EDU for destinations other processes send to."""
        for sender, targets in self._by_sender(destinations).items():
            self._to(sender).edus.append(
                RelayedEdu(
                    destinations=tuple(targets), edu_type=edu_type, content=content
                )
            )

    def wake(self, destinations: Collection[str]) -> None:
        """Persistent EDUs were stored for these destinations."""
        for sender, targets in self._by_sender(destinations).items():
            self._to(sender).wake.update(targets)

    def alive(self, destinations: Collection[str]) -> None:
        """These destinations just talked to this process."""
        for sender, targets in self._by_sender(destinations).items():
            self._to(sender).alive.update(targets)

    def relay_event(self, event_id: str, origin: str) -> None:
        """Every other sender passes the event on (except to ``origin``)."""
        for sender in self.topology.owners(Duty.FEDERATION_SENDING):
            if sender != self.topology.this.name:
                self._to(sender).relayed[event_id] = origin

    # -- the application-service sender and the pushers ----------------------------

    def wake_appservices(self, as_ids: Collection[str]) -> None:
        """Items were queued for these application services."""
        self._to(duty_owner(self.topology, Duty.APPSERVICE_SENDING)).appservices.update(
            as_ids
        )

    def reload_pushers(self, user_id: str) -> None:
        """The user's stored pushers changed."""
        self._to(pusher_for(self.topology, user_id)).pusher_users.add(user_id)

    # -- sending -------------------------------------------------------------------

    def _flush(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = self._pending, {}
        for instance, work in sorted(pending.items()):
            body = work.wake_body()
            if body:
                run_in_background("duty_relay", self._post(instance, body))

    async def _post(self, instance: str, wake: DutyWake) -> None:
        if self.client is None:
            logger.error("no internal client: work for %s dropped", instance)
            return
        try:
            await self.client.post(instance, ENDPOINT, wake.to_json())
        except Exception as exc:
            logger.warning(
                "could not hand work to %s: %s",
                instance,
                exc,
                extra={"instance": instance},
            )
            await self._keep(wake)

    async def _keep(self, wake: DutyWake) -> None:
        """Store the EDUs of ``wake`` worth sending late, and wake their
        sender (if it is back before it has read them at start)."""
        kept = [e for e in wake.edus if e.edu_type in KEPT_WHEN_UNDELIVERED]
        if self.keeper is None or not kept:
            return
        for edu in kept:
            await self.keeper.queue_edus(edu.destinations, edu.edu_type, edu.content)
        self.wake({d for edu in kept for d in edu.destinations})


def duty_owner(topology: WorkerTopology, duty: Duty) -> str:
    """The one process doing an unsharded duty: the first instance of its
    role (further instances of the role stand by), else main."""
    return topology.owners(duty)[0]


def pusher_for(topology: WorkerTopology, user_id: str) -> str:
    """The process running ``user_id``'s pushers: a stable hash of the user
    over the pusher workers, else main."""
    pushers = topology.owners(Duty.PUSHING)
    return pushers[stable_shard(user_id, len(pushers))]


def runs_unsharded(topology: WorkerTopology, duty: Duty) -> bool:
    """Whether this process does an unsharded duty (``duty_owner``)."""
    return duty_owner(topology, duty) == topology.this.name
