"""What the outbound side needs to know about a registered application
service: a small Protocol the registration model (``services/appservices``)
fulfils, so the sender does not depend on how registrations are parsed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class AppServiceTarget(Protocol):
    """One registered application service, as the outbound side sees it."""

    @property
    def id(self) -> str:
        """The registration's unique ``id``."""

    @property
    def url(self) -> str | None:
        """Where the AS listens; None: it receives nothing."""

    @property
    def as_token(self) -> str:
        """What the AS authenticates with towards us."""

    @property
    def hs_token(self) -> str:
        """What we authenticate with towards the AS."""

    @property
    def receive_ephemeral(self) -> bool:
        """MSC2409: typing, receipts, presence and to-device are pushed too."""

    @property
    def msc3202(self) -> bool:
        """MSC3202: device lists and one-time-key counts are pushed too."""

    @property
    def protocols(self) -> Sequence[str]:
        """The third-party protocols the AS bridges."""

    def is_interested_in_user(self, user_id: str) -> bool:
        """The user is in the users namespace (or is the AS's sender)."""

    def is_interested_in_alias(self, alias: str) -> bool:
        """The alias is in the aliases namespace."""

    def is_interested_in_room(self, room_id: str) -> bool:
        """The room ID is in the rooms namespace."""

    def is_exclusive_user(self, user_id: str) -> bool:
        """The user is in an exclusive users namespace."""

    def is_exclusive_alias(self, alias: str) -> bool:
        """The alias is in an exclusive aliases namespace."""


class Registrations(Protocol):
    """The registered application services (the registration model)."""

    def all(self) -> Sequence[AppServiceTarget]:
        """Every registration, current after a reload."""


class NoRegistrations:
    """Until the registration model is plugged in: none."""

    def all(self) -> Sequence[AppServiceTarget]:
        return ()
