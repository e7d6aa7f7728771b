"""``Room``: a room fixture's ID, its users and the events it was seeded with."""

from __future__ import annotations

import attrs

from tests.support.client import User


@attrs.frozen
class Room:
    """alice's room with bob joined; carol when the fixture makes her (often
    an outsider); ``events``: the IDs of the messages it was seeded with."""

    id: str
    alice: User
    bob: User
    carol: User | None = None
    events: list[str] = attrs.field(factory=list)
