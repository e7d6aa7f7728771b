"""GET /_matrix/client/v1/mutual_rooms: the rooms two users are both in.

Spec: client-server API, "Mutual rooms" (v1.19; MSC2666). As Synapse: room
IDs sorted, 100 a batch, ``next_batch`` the last room ID of the batch in
unpadded URL-safe base64, ``count`` the total.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect

from homeserver.errors import InvalidParam
from homeserver.events.ids import is_valid_user_id, localpart_of
from homeserver.services.accounts.auth import Requester
from homeserver.storage.stores.user_directory import UserDirectoryStore
from homeserver.types import JsonDict

BATCH = 100
MAX_TOKEN_LEN = 255


def _compliant(user_id: str) -> bool:
    """A valid user ID whose localpart follows the historical grammar
    (printable ASCII, no colon), as the spec's 400 for "non-compliant" asks."""
    if not is_valid_user_id(user_id):
        return False
    localpart = localpart_of(user_id)
    return bool(localpart) and all("!" <= ch <= "~" for ch in localpart)


def _encode(room_id: str) -> str:
    return (
        base64.urlsafe_b64encode(room_id.encode()).decode().rstrip("=")[:MAX_TOKEN_LEN]
    )


def _decode(token: str) -> str:
    try:
        padded = token + "=" * (-len(token) % 4)
        raw = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidParam("Malformed from token") from None


class MutualRoomsService:
    """The rooms the requester shares with another user.

    Args:
        store: the mutual rooms query.
    """

    def __init__(self, store: UserDirectoryStore) -> None:
        self.store = store

    async def mutual_rooms(
        self, requester: Requester, user_id: str, from_token: str | None
    ) -> JsonDict:
        """One batch of the rooms both users are joined to.

        Raises:
            InvalidParam: 400 for a malformed user ID, the requester's own ID,
                or a malformed ``from`` token.
        """
        if not _compliant(user_id):
            raise InvalidParam("Invalid user_id query parameter")
        if user_id == requester.user_id:
            raise InvalidParam(
                "You cannot request a list of shared rooms with yourself"
            )
        rooms = await self.store.get_mutual_rooms(requester.user_id, user_id)
        total = len(rooms)
        if from_token:
            rooms = rooms[bisect(rooms, _decode(from_token)) :]
        if len(rooms) <= BATCH:
            return {"joined": rooms, "count": total}
        rooms = rooms[:BATCH]
        body: JsonDict = {"joined": rooms, "count": total}
        next_batch = _encode(rooms[-1])
        if next_batch != from_token:
            body["next_batch"] = next_batch
        return body
