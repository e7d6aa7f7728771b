"""/sync's sections outside rooms: account data, presence, to-device
messages, device lists and the device's key counts.

Spec: client-server API, "Syncing" (``account_data``, ``presence``,
``to_device``, ``device_lists``, ``device_one_time_keys_count``,
``device_unused_fallback_key_types``).
"""

from __future__ import annotations

from homeserver.services.sync.sources import SyncSources
from homeserver.services.sync.sync_rooms import SyncRequestInfo
from homeserver.streams.registry import ACCOUNT_DATA, DEVICE_LISTS, PRESENCE, TO_DEVICE
from homeserver.streams.tokens import StreamToken
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.turn_batch import TurnBatcher

# Unclaimed one-time keys by algorithm, and the unused fallback key types.
_KeyCounts = tuple[dict[str, int], list[str]]


class GlobalSections:
    """Builds the sections of a /sync answer that are not about one room.

    Args:
        sources: the per-user streams.
        clock: ends the reactor turn whose key-count look-ups go together.
    """

    def __init__(self, sources: SyncSources, clock: Clock) -> None:
        self.sources = sources
        self._key_counts: TurnBatcher[tuple[str, str], _KeyCounts] = TurnBatcher(
            "sync_key_counts", clock, sources.e2e_keys.key_counts_many
        )
        # The to_device position each device last confirmed (its messages
        # up to there are deleted once).
        self._confirmed_to_device: dict[tuple[str, str], int] = {}

    async def _to_device(
        self,
        info: SyncRequestInfo,
        since: StreamToken | None,
        upto: StreamToken,
        body: JsonDict,
    ) -> list[JsonDict]:
        """Pending to-device messages; those the token confirms are deleted."""
        user_id, device = info.user_id, info.requester.device_id
        since_td = since.get(TO_DEVICE.name) if since else 0
        upto_td = upto.get(TO_DEVICE.name)
        key = (user_id, device)
        if since is not None and self._confirmed_to_device.get(key, -1) < since_td:
            await self.sources.to_device.delete_to_device_up_to(
                user_id, device, since_td
            )
            if len(self._confirmed_to_device) > 100_000:
                self._confirmed_to_device.clear()
            self._confirmed_to_device[key] = since_td
        if since is not None and since_td >= upto_td:
            return []
        messages, reached = await self.sources.to_device.get_to_device(
            user_id, device, since_td, upto_td
        )
        if reached < upto_td:
            body["next_batch"] = upto.copy_with(TO_DEVICE.name, reached).to_string()
        personal = info.personal
        if personal is not None and personal.ignored:
            # Ignored users' to-device messages are dropped (deleted with the
            # rest once the next token confirms them).
            return [m for m in messages if not personal.ignores(m.get("sender", ""))]
        return list(messages)

    async def build(
        self,
        info: SyncRequestInfo,
        since: StreamToken | None,
        upto: StreamToken,
        body: JsonDict,
        members_moved: bool,
    ) -> None:
        user_id = info.user_id
        account_data: list[JsonDict] = []
        if moved(since, upto, ACCOUNT_DATA.name):
            account_data = await self.sources.account_data.get_global_account_data(
                user_id,
                since.get(ACCOUNT_DATA.name) if since else None,
                upto.get(ACCOUNT_DATA.name),
            )
        body["account_data"] = {
            "events": [
                e
                for e in account_data
                if info.filter.account_data.check_fields(e["type"], "")
            ]
        }
        presence: list[JsonDict] = []
        if moved(since, upto, PRESENCE.name):
            presence = await self.sources.presence.get_presence_for_user(
                user_id,
                since.get(PRESENCE.name) if since else None,
                upto.get(PRESENCE.name),
            )
        body["presence"] = {
            "events": [
                e
                for e in presence
                if info.filter.presence.check_fields(e["type"], e.get("sender", ""))
            ]
        }
        body["to_device"] = {"events": await self._to_device(info, since, upto, body)}
        changed: list[str] = []
        left: list[str] = []
        if since is not None:
            changed, left = await self.sources.device_lists.get_changes(
                user_id,
                since.get(DEVICE_LISTS.name),
                upto.get(DEVICE_LISTS.name),
                since.events,
                # No membership change in the window: nothing newly shared.
                upto.events if members_moved else since.events,
            )
        body["device_lists"] = {"changed": changed, "left": left}

    async def add_key_counts(self, info: SyncRequestInfo, body: JsonDict) -> JsonDict:
        """The device's key counts, in the body about to be sent (only then:
        they never make a sync return, and a sync that waits would read them
        for nothing). Those of the syncs one event wakes are read together."""
        user_id, device_id = info.user_id, info.requester.device_id
        # Remembered counts come without a wait (a copy of their own);
        # the others are read with those of the syncs woken with this one.
        found = self.sources.e2e_keys.cached_key_counts(user_id, device_id)
        if found is None:
            counts, fallback = await self._key_counts.get((user_id, device_id))
            # Copies: the answer is shared with the other syncs of this device.
            found = dict(counts), list(fallback)
        body["device_one_time_keys_count"] = found[0]
        body["device_unused_fallback_key_types"] = found[1]
        return body


def moved(since: StreamToken | None, upto: StreamToken, stream: str) -> bool:
    """Whether ``stream`` may hold news: an initial sync, or it moved since."""
    return since is None or since.get(stream) < upto.get(stream)


def has_global_data(body: JsonDict) -> bool:
    """Whether the global sections hold anything new (else a sync waits)."""
    return bool(
        body["account_data"]["events"]
        or body["presence"]["events"]
        or body["to_device"]["events"]
        or body["device_lists"]["changed"]
        or body["device_lists"]["left"]
    )
