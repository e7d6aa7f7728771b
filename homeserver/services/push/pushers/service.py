"""``GET /pushers`` and ``POST /pushers/set``: a user's pushers.

Spec: client-server API v1.19, "Push Notifications", "Pushers". A pusher
set again with the same ``app_id`` and ``pushkey`` replaces the user's old
one; without ``append`` the same ``app_id`` and ``pushkey`` of other users
are removed; ``kind: null`` deletes. Each kind checks its own ``data``
(``PusherKind.validate``); a kind the server does not run is refused.
"""

from __future__ import annotations

import attrs

from homeserver.errors import InvalidParam
from homeserver.services.push.pushers.pool import PusherPool
from homeserver.storage.stores.pushers import NewPusher, PusherStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

# The spec's limit on a pushkey, in bytes.
MAX_PUSHKEY_BYTES = 512


@attrs.frozen(kw_only=True)
class PusherSetRequest:
    """A parsed ``POST /pushers/set`` body (``kind`` None: delete)."""

    kind: str | None
    app_id: str
    pushkey: str
    app_display_name: str = ""
    device_display_name: str = ""
    profile_tag: str | None = None
    lang: str | None = None
    data: JsonDict = attrs.field(factory=dict)
    append: bool = False


class PusherService:
    """Reads and changes users' pushers; keeps the pool in step.

    Args:
        store: the pushers table.
        pool: the running pushers (and the kinds it knows).
        clock: ``pushkey_ts``.
    """

    def __init__(self, *, store: PusherStore, pool: PusherPool, clock: Clock) -> None:
        self.store = store
        self.pool = pool
        self.clock = clock

    async def get_pushers(self, user_id: str) -> list[JsonDict]:
        """The user's pushers, as ``GET /pushers`` lists them."""
        return [p.client_json() for p in await self.store.get_pushers_by_user(user_id)]

    async def set_pusher(
        self, user_id: str, device_id: str | None, request: PusherSetRequest
    ) -> None:
        """Add, replace or delete one of the user's pushers.

        Raises:
            MatrixError: 400 M_INVALID_PARAM (unknown kind, pushkey too
                long, bad ``data``) or M_MISSING_PARAM (``data`` lacks what
                the kind needs).
        """
        if request.kind is None:
            removed = await self.store.delete_pusher(
                user_id, request.app_id, request.pushkey
            )
            self.pool.pushers_removed(removed)
            return
        kind = self.pool.kinds.get(request.kind)
        if kind is None:
            raise InvalidParam(f"Unsupported pusher kind: {request.kind!r}")
        if len(request.pushkey.encode()) > MAX_PUSHKEY_BYTES:
            raise InvalidParam(f"pushkey is longer than {MAX_PUSHKEY_BYTES} bytes")
        new = NewPusher(
            user_id=user_id,
            device_id=device_id,
            kind=request.kind,
            app_id=request.app_id,
            pushkey=request.pushkey,
            app_display_name=request.app_display_name,
            device_display_name=request.device_display_name,
            profile_tag=request.profile_tag,
            lang=request.lang,
            data=request.data,
        )
        await kind.validate(new)
        if not request.append:
            self.pool.pushers_removed(
                await self.store.delete_pushers_of_other_users(
                    request.app_id, request.pushkey, user_id
                )
            )
        record = await self.store.upsert_pusher(
            new, now_ms=self.clock.time_msec(), position=self.pool.current_position()
        )
        self.pool.pusher_added(record)
