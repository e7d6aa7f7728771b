"""Which destinations this process sends to, and where the others go.

In one process the sender sends to every server. With federation sender
workers (docs/scaling.md) each destination belongs to exactly one sender
process, a stable hash of its name: a sender queues and sends only to its
own destinations, and what another process produces for a destination (a
typing notification, a receipt, a to-device message it stored) is handed to
the destination's sender through the ``SenderRelay`` port, which the
composition root plugs with the internal HTTP relay of the workers wing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Protocol

import attrs

from homeserver.types import JsonDict


class SenderRelay(Protocol):
    """Hands work for destinations of another sender process to it."""

    def send_edu(
        self, destinations: Collection[str], edu_type: str, content: JsonDict
    ) -> None:
        """Send an ephemeral EDU to these destinations (in the background;
        if their sender stays down, receipts are stored for it and the rest
        is lost, as when a destination is down)."""

    def wake(self, destinations: Collection[str]) -> None:
        """Persistent EDUs were stored for these destinations: their
        sender should read its queue."""

    def alive(self, destinations: Collection[str]) -> None:
        """These destinations just talked to us: their sender retries them
        now if it was backing off."""

    def relay_event(self, event_id: str, origin: str) -> None:
        """Every sender should pass on another server's event (accepted by
        a send_join, send_leave or send_knock served here) to the room's
        servers except ``origin``, once it is persisted."""


def _every_destination(_destination: str) -> bool:
    return True


@attrs.frozen(kw_only=True)
class SenderShard:
    """This process's share of the destinations.

    Attributes:
        owns: whether this process sends to a destination.
        relay: reaches the other senders; None when this process owns every
            destination.
    """

    owns: Callable[[str], bool] = _every_destination
    relay: SenderRelay | None = None

    def split(self, destinations: Collection[str]) -> tuple[list[str], list[str]]:
        """(this process's destinations, the others'), each sorted."""
        ours: list[str] = []
        theirs: list[str] = []
        for destination in sorted(destinations):
            (ours if self.owns(destination) else theirs).append(destination)
        return ours, theirs
