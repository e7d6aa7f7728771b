"""Ports for the writes of the typing, receipts and to-device streams.

Each stream has exactly one writer process (docs/architecture.md, "Workers").
The services here check a request where it arrives, then hand the write to
their ``writer`` port: the null one writes here (one process, or the writer
itself); in worker mode the composition root plugs one that sends the write to
the stream's writer over internal HTTP.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from homeserver.storage.stores.device_inbox import OutgoingMessage
from homeserver.storage.stores.receipts import Receipt


class TypingWriter(Protocol):
    """Sets a typist on the typing stream's writer."""

    async def set_typing(
        self, room_id: str, user_id: str, typing: bool, timeout_ms: int
    ) -> None:
        """Start (renew) or stop ``user_id`` typing in ``room_id``.

        Raises:
            MatrixError: 503 (retryable) when the writer cannot be reached.
        """


class ReceiptWriter(Protocol):
    """Stores a receipt on the receipts stream's writer."""

    async def write_receipt(self, receipt: Receipt, ordering: int) -> None:
        """Store ``receipt`` (of an event at stream ``ordering``) and tell
        its audience.

        Raises:
            MatrixError: 503 (retryable) when the writer cannot be reached.
        """


@attrs.frozen
class ToDeviceBatch:
    """The messages of one send, once per sender device and transaction."""

    sender: str
    sender_device_id: str
    txn_id: str
    messages: list[OutgoingMessage]
    now_ms: int


class ToDeviceWriter(Protocol):
    """Stores to-device messages on the to-device stream's writer."""

    async def store_messages(self, batch: ToDeviceBatch) -> bool:
        """Store the messages of one send (once per sender device and
        transaction) and wake their recipients; False for a repeat.

        Raises:
            MatrixError: 503 (retryable) when the writer cannot be reached.
        """
