"""Ports for the writes of the typing and receipts streams.

Each stream has exactly one writer process (docs/architecture.md, "Workers").
The services here check a request where it arrives, then hand the write to
their ``writer`` port: the null one writes here (one process, or the writer
itself); in worker mode the composition root plugs one that sends the write to
the stream's writer over internal HTTP.
"""

from __future__ import annotations

from typing import Protocol

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
