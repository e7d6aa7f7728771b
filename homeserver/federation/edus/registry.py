"""Dispatching inbound EDUs to the service that owns each type."""

from __future__ import annotations

import logging

from homeserver.federation.interfaces import EduHandler
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)


class EduRegistry:
    """EDU type -> handler. Unknown types are ignored, as the spec asks."""

    def __init__(self) -> None:
        self._handlers: dict[str, EduHandler] = {}

    def register(self, edu_type: str, handler: EduHandler) -> None:
        """Route EDUs of ``edu_type`` to ``handler``."""
        self._handlers[edu_type] = handler

    async def handle(self, origin: str, edu_type: str, content: JsonDict) -> None:
        """Handle one EDU; a failing handler is logged, never raised, so one bad
        EDU does not fail the transaction."""
        handler = self._handlers.get(edu_type)
        if handler is None:
            logger.debug("ignoring EDU of unknown type %s from %s", edu_type, origin)
            return
        try:
            await handler(origin, content)
        except Exception:
            logger.exception("EDU %s from %s failed", edu_type, origin)
