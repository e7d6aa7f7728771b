"""Work other processes hand to this process's duties (the receiving side of
``workers/duty_relay.py``, behind ``POST /_chatly/replication/duty_wake``).

Only the duties this process runs act on it: an EDU for a destination this
federation sender does not own, or a wake-up for a duty that is not started
here (a configuration the processes disagree on while they restart), is
dropped with a warning rather than sent from the wrong process.
"""

from __future__ import annotations

import logging

from homeserver.api.replication.duty_wake import DutyWake
from homeserver.federation.sender.sender import FederationSender
from homeserver.services.appservices.outbound.sender import AppServiceSender
from homeserver.services.push.pushers.pool import PusherPool
from homeserver.util.background import run_in_background

logger = logging.getLogger(__name__)


class DutyInbox:
    """Applies handed-over work to the local duties.

    Args:
        federation: the federation sender (acts only once started here).
        appservices: the application-service sender.
        pushers: the pusher pool.
    """

    def __init__(
        self,
        *,
        federation: FederationSender,
        appservices: AppServiceSender,
        pushers: PusherPool,
    ) -> None:
        self.federation = federation
        self.appservices = appservices
        self.pushers = pushers

    def receive(self, wake: DutyWake) -> None:
        """Hand each part to its duty."""
        self._federation(wake)
        if wake.appservices:
            if self.appservices.position is None:
                logger.warning("application-service wake-up for a process not sending")
            else:
                for as_id in wake.appservices:
                    self.appservices.queue(as_id).wake()
        for user_id in wake.pusher_users:
            run_in_background("pushers_reload", self.pushers.reload_user(user_id))

    def _federation(self, wake: DutyWake) -> None:
        sender = self.federation
        if not (wake.edus or wake.wake_destinations or wake.alive or wake.relayed):
            return
        if sender.position is None or not sender.enabled:
            logger.warning("federation work for a process not sending")
            return
        for event_id, origin in wake.relayed:
            sender.relayed[event_id] = origin
        for edu in wake.edus:
            for destination in self._owned(edu.destinations):
                sender.queue(destination).add_edu(edu.edu_type, edu.content)
        for destination in self._owned(wake.wake_destinations):
            sender.queue(destination).wake()
        for destination in self._owned(wake.alive):
            sender.destination_is_alive(destination)

    def _owned(self, destinations: tuple[str, ...]) -> list[str]:
        ours, theirs = self.federation.shard.split(destinations)
        if theirs:
            logger.warning(
                "federation work for destinations another sender owns",
                extra={"destinations": theirs},
            )
        return ours
