"""Remote writers of the per-user streams: account data (with push rules,
whose positions it shares) and device lists.

Plugged by the composition root into ``AccountDataService.writer``,
``PushRuleService.writer`` and ``DeviceListTracker.writer`` on every process
that does not write the stream; the writer side is in
``homeserver/api/replication/`` (``account_data.py``, ``push_rules.py``,
``device_lists.py``). A write the writer answers with a position returns once
this process has applied that position (``CaughtUp``), so the client that made
it reads it back here at once.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Protocol

import attrs

from homeserver.errors import Codes, MatrixError
from homeserver.services.push.rule_service import RuleWrite
from homeserver.signals import CrossSigningChanged, DevicesChanged
from homeserver.storage.stores.account_data import AccountDataStore, ContentUpdate
from homeserver.streams.registry import ACCOUNT_DATA
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.workers.caught_up import CaughtUp
from homeserver.workers.internal_client import WriterUnavailable
from homeserver.workers.remote_writes import OneWriter

logger = logging.getLogger(__name__)

# Compare-and-set rounds before a read-modify-write gives up (each lost round
# means another write of the same type landed in between).
CAS_ROUNDS = 8


@attrs.frozen
class _ReadsBack(OneWriter):
    """A writer whose answers carry the stream position to wait for here."""

    caught_up: CaughtUp

    async def write_back(self, endpoint: str, body: JsonDict) -> JsonDict:
        answer = await self.post(endpoint, body)
        position = answer.get("position")
        if position is not None:
            await self.caught_up.wait(ACCOUNT_DATA.name, int(position))
        return answer


@attrs.frozen
class RemoteAccountData(_ReadsBack):
    """``AccountDataWriter`` on the account_data stream's writer.

    A read-modify-write (``update``) is computed here from the content this
    process reads, and sent as a compare-and-set; if the writer holds other
    content, it answers that and the update is computed again from it.
    """

    store: AccountDataStore

    async def put(
        self, user_id: str, room_id: str, data_type: str, content: JsonDict
    ) -> int:
        answer = await self.write_back(
            "account_data",
            {
                "user_id": user_id,
                "room_id": room_id,
                "type": data_type,
                "content": content,
            },
        )
        return int(answer["position"])

    async def update(
        self, user_id: str, room_id: str, data_type: str, update: ContentUpdate
    ) -> int | None:
        current = await self.store.get_account_data(user_id, room_id, data_type)
        for _ in range(CAS_ROUNDS):
            answer = await self.write_back(
                "account_data",
                {
                    "user_id": user_id,
                    "room_id": room_id,
                    "type": data_type,
                    "content": update(current),
                    "compare": True,
                    "expected": current,
                },
            )
            if "current" not in answer:
                position = answer.get("position")
                return None if position is None else int(position)
            current = answer["current"]
        raise MatrixError(503, f"{data_type} keeps changing; try again", Codes.UNKNOWN)


@attrs.frozen
class RemotePushRules(_ReadsBack):
    """``PushRuleWriter`` on the account_data stream's writer."""

    async def write(self, change: RuleWrite) -> int | None:
        position = (await self.write_back("push_rule", attrs.asdict(change))).get(
            "position"
        )
        return None if position is None else int(position)


class UndeliveredKeeper(Protocol):
    """Stores device list changes for the writer to record later
    (``DeviceListStore``)."""

    async def keep_undelivered(self, change: JsonDict, now_ms: int) -> None:
        """Store one change (the writer's endpoint body)."""


@attrs.frozen
class RemoteDeviceLists(OneWriter):
    """``DeviceListWriter`` on the device_lists stream's writer.

    A change is made (and the client answered) before it is recorded, so a
    change the writer cannot be reached for is stored in the database
    (``keeper``) rather than lost: the writer records it when it starts, or
    when this process wakes it (in case it started meanwhile).
    """

    keeper: UndeliveredKeeper
    clock: Clock

    async def devices_changed(self, change: DevicesChanged) -> None:
        await self._record(
            {
                "op": "devices",
                "user_id": change.user_id,
                "device_ids": list(change.device_ids),
                "deleted": change.deleted,
            },
        )

    async def cross_signing_changed(self, change: CrossSigningChanged) -> None:
        await self._record(
            {
                "op": "cross_signing",
                "user_id": change.user_id,
                "signed_users": list(change.signed_users),
            },
        )

    async def remote_changed(
        self, user_id: str, device_ids: Collection[str], audience: Collection[str]
    ) -> None:
        await self._record(
            {
                "op": "remote",
                "user_id": user_id,
                "device_ids": list(device_ids),
                "audience": list(audience),
            },
        )

    async def _record(self, change: JsonDict) -> None:
        try:
            await self.post("device_lists", change)
            return
        except WriterUnavailable:
            await self.keeper.keep_undelivered(change, self.clock.time_msec())
        try:
            await self.post("device_lists", {"op": "undelivered"})
        except WriterUnavailable:
            logger.info(
                "device list change stored for the writer's start",
                extra={"instance": self.writer},
            )
