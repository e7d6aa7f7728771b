"""The duties of one process of a worker deployment (docs/scaling.md, "Duties").

``plan_of`` decides which duties this process runs (``composition/duties.py``
lists them); ``bind_worker_duties`` plugs the relays to the processes that
run the others and wakes the local ones from replicated stream positions.
Nothing here runs in a one-process deployment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeserver.composition.duties import Duties, DutyPlan
from homeserver.federation.sender.shard import SenderShard
from homeserver.services.push.pushers.follower import PusherFollower
from homeserver.storage.stores.push_wakes import PushWakeStore
from homeserver.streams.registry import EVENTS, PRESENCE, RECEIPTS
from homeserver.workers.duty_inbox import DutyInbox
from homeserver.workers.duty_relay import (
    DutyRelay,
    InternalPoster,
    pusher_for,
    runs_unsharded,
)
from homeserver.workers.roles import Duty, WorkerTopology

if TYPE_CHECKING:
    from homeserver.composition.server import HomeServer


def plan_of(topology: WorkerTopology) -> DutyPlan:
    """This process's duties in ``topology`` (all of them when it is the
    only process)."""
    return DutyPlan(
        federation_sending=topology.runs(Duty.FEDERATION_SENDING),
        appservice_sending=runs_unsharded(topology, Duty.APPSERVICE_SENDING),
        pushing=topology.runs(Duty.PUSHING),
        media_jobs=runs_unsharded(topology, Duty.MEDIA_JOBS),
        background_tasks=runs_unsharded(topology, Duty.BACKGROUND_TASKS),
        presence_writer=topology.writes(PRESENCE.name),
        main=topology.is_main,
    )


def bind_worker_duties(
    hs: HomeServer, *, topology: WorkerTopology, client: InternalPoster | None
) -> Duties:
    """Plug the relays of the duties other processes run, and wake the
    duties this one runs from replicated positions. Call after ``bind``,
    before ``setup``."""
    plan = plan_of(topology)
    sender = hs.federation.sender
    relay = DutyRelay(
        topology=topology, client=client, clock=hs.core.clock, keeper=sender.store
    )
    if len(topology.owners(Duty.FEDERATION_SENDING)) > 1:
        # Each shard keeps its own position (it queues only its destinations).
        sender.store.position_key = f"{EVENTS.name}@{topology.this.name}"
    sender.shard = SenderShard(
        owns=lambda d: topology.federation_sender_for(d) == topology.this.name,
        relay=relay,
    )
    if not plan.appservice_sending:
        hs.appservice_outbound.sender.relay = relay.wake_appservices
    pool = hs.pushers.pool
    pool.relay = relay.reload_pushers
    pool.owns_user = lambda user_id: pusher_for(topology, user_id) == topology.this.name
    replication = hs.workers.replication
    if plan.federation_sending:
        replication.add_position_listener(
            EVENTS.name, lambda _position: sender.notify_new_events()
        )
    if plan.appservice_sending:
        as_sender = hs.appservice_outbound.sender
        replication.add_position_listener(
            EVENTS.name, lambda _position: as_sender.notify_new_events()
        )
    follower = None
    if plan.pushing:
        streams = hs.core.streams
        follower = PusherFollower(
            pool=hs.pushers.pool,
            store=PushWakeStore(hs.core.db),
            events_position=streams.ids(EVENTS).current_position,
            receipts_position=streams.ids(RECEIPTS).current_position,
        )
        replication.add_position_listener(EVENTS.name, follower.on_events_position)
        replication.add_position_listener(RECEIPTS.name, follower.on_receipts_position)
    inbox = DutyInbox(
        federation=sender,
        appservices=hs.appservice_outbound.sender,
        pushers=hs.pushers.pool,
    )
    return Duties(plan=plan, follower=follower, relay=relay, inbox=inbox)
