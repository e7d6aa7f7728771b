"""What the spaces domain needs from other servers, and its null stand-in.

Federation fills ``RemoteHierarchyPort`` (``federation/serving/hierarchy.py``)
when it is on; with it off, rooms on other servers cannot be summarised and
are left out of a hierarchy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from homeserver.errors import Codes, MatrixError
from homeserver.types import JsonDict


@attrs.frozen
class RemoteHierarchy:
    """Another server's answer to ``GET /_matrix/federation/v1/hierarchy``.

    Args:
        room: the room's summary, without ``children_state``.
        children_state: its stripped m.space.child events.
        children: summaries of the children it let us see.
        inaccessible_children: children it says nobody here may see.
    """

    room: JsonDict
    children_state: Sequence[JsonDict]
    children: Sequence[JsonDict]
    inaccessible_children: Sequence[str]


class RemoteHierarchyPort(Protocol):
    """Fetches a room's hierarchy from other servers."""

    async def get_room_hierarchy(
        self, destinations: Sequence[str], room_id: str, suggested_only: bool
    ) -> RemoteHierarchy:
        """Ask ``destinations`` in turn.

        Raises:
            MatrixError: if none of them gave a valid answer.
        """
        ...


class NoRemoteHierarchy:
    """Federation off: other servers' rooms are out of reach."""

    async def get_room_hierarchy(
        self, destinations: Sequence[str], room_id: str, suggested_only: bool
    ) -> RemoteHierarchy:
        raise MatrixError(502, "Federation is disabled on this server", Codes.UNKNOWN)
