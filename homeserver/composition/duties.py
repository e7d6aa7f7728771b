"""Background duties: which run in this process, and how they are woken.

One process runs every duty, woken by the local signals (``bind.py``). In a
worker deployment (docs/scaling.md, "Duties") each duty runs in exactly one
process, chosen by the topology:

============================  ===============================  =========================
duty                          what                             where
============================  ===============================  =========================
federation_sending            federation sender, catch-up,     each federation_sender
                              EDU queues                       for its destinations
appservice_sending            application-service sender       first appservice worker
pushing                       HTTP and email pushers           each pusher worker, for
                                                               its share of the users
media_jobs                    media retention, releasing       first media worker
                              uploads a dead process claimed
background_tasks              pruning read push actions        first background worker
device_lists writer's         recording device list changes    the device_lists stream's
                              stored while it was down         writer
presence writer's             presence timeouts, federation    the presence stream's
                              presence re-announcements        writer
main                          failing admin tasks a restart    main
                              interrupted
============================  ===============================  =========================

Each falls back to main when no instance of its role exists. A duty running
in another process than the one that stores what wakes it is woken by the
replicated stream positions (the events stream for the senders and the
pushers, the receipts stream for the pushers' badges); what another process
produces for it (EDUs, queued application-service items, changed pushers) is
handed over by ``workers/duty_relay.py``; ``composition/worker_duties.py``
plans and binds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from homeserver.services.push.pushers.follower import PusherFollower
from homeserver.streams.registry import DEVICE_LISTS
from homeserver.util.background import run_in_background

if TYPE_CHECKING:
    from homeserver.composition.server import HomeServer
    from homeserver.workers.duty_inbox import DutyInbox
    from homeserver.workers.duty_relay import DutyRelay


@attrs.frozen(kw_only=True)
class DutyPlan:
    """The duties this process runs."""

    federation_sending: bool = True
    appservice_sending: bool = True
    pushing: bool = True
    media_jobs: bool = True
    background_tasks: bool = True
    presence_writer: bool = True
    main: bool = True


@attrs.define(kw_only=True)
class Duties:
    """This process's duties and, in a worker deployment, what wakes them."""

    plan: DutyPlan = attrs.field(factory=DutyPlan)
    follower: PusherFollower | None = None
    """Wakes the pushers from replicated positions (a pusher worker)."""
    relay: DutyRelay | None = None
    """Hands work to the duties of other processes (worker deployments)."""
    inbox: DutyInbox | None = None
    """Takes work other processes hand to this one's duties."""


async def start_duties(hs: HomeServer, duties: Duties) -> None:
    """Start the background work of the duties this process runs (after the
    database is ready)."""
    plan = duties.plan
    if plan.federation_sending:
        await hs.federation.sender.start()
    if plan.presence_writer:
        hs.federation.edus.presence.start()
    if plan.appservice_sending:
        await hs.appservice_outbound.start()
    # Access times are buffered by whichever process serves the media.
    hs.media.access.start()
    if plan.media_jobs:
        hs.media.start_jobs()
    if plan.pushing:
        await hs.pushers.start()
        if duties.follower is not None:
            duties.follower.start()
    if plan.main:
        await hs.room_admin.tasks.fail_unfinished()
    if plan.background_tasks:
        hs.push_eval.pruner.start()
    topology = hs.workers.topology
    if topology.enabled and topology.writes(DEVICE_LISTS.name):
        # Device list changes other processes stored while this was down.
        run_in_background(
            "record_undelivered_device_lists", hs.devices.lists.record_undelivered()
        )
