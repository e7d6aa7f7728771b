"""``Signal[P]``: one typed in-process notification with many receivers.

The contract (ordering, sync and async receivers, failures) is described in the
package docstring, ``homeserver/signals/__init__.py``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

import attrs
from prometheus_client import Counter

from homeserver.util.background import run_in_background

logger = logging.getLogger(__name__)

P = TypeVar("P")

RECEIVER_FAILURES = Counter(
    "homeserver_signal_receiver_failures_total",
    "Signal receivers that raised (synchronous ones; async ones are counted "
    "by homeserver_background_failures_total)",
    ["signal"],
)

Receiver = Callable[[P], None] | Callable[[P], Coroutine[Any, Any, None]]
"""A sync function of the payload, or an ``async def`` one."""


@attrs.frozen
class _Connected(Generic[P]):
    name: str
    receiver: Receiver[P]
    is_async: bool


class Signal(Generic[P]):
    """A typed signal: ``connect(receiver)`` once, ``emit(payload)`` many times.

    Args:
        name: the signal's name, for logs, metrics and background task names.
        sync_only: receivers must be plain functions (the signal is emitted at
            a point where nothing may be awaited, e.g. before a stream position
            becomes visible); connecting an ``async def`` raises TypeError.
    """

    def __init__(self, name: str, *, sync_only: bool = False) -> None:
        self.name = name
        self.sync_only = sync_only
        self._receivers: list[_Connected[P]] = []

    def __repr__(self) -> str:
        return f"<Signal {self.name}: {len(self._receivers)} receivers>"

    @property
    def receivers(self) -> list[str]:
        """The connected receivers' names, in call order."""
        return [c.name for c in self._receivers]

    def connect(self, receiver: Receiver[P], *, name: str | None = None) -> None:
        """Call ``receiver`` with every payload emitted from now on, after the
        receivers connected before it.

        Raises:
            TypeError: an ``async def`` receiver on a ``sync_only`` signal.
        """
        is_async = inspect.iscoroutinefunction(receiver)
        if is_async and self.sync_only:
            raise TypeError(f"signal {self.name} takes synchronous receivers only")
        label = name or str(getattr(receiver, "__qualname__", repr(receiver)))
        self._receivers.append(_Connected(label, receiver, is_async))

    def disconnect(self, receiver: Receiver[P]) -> None:
        """Stop calling ``receiver`` (no error if it was not connected)."""
        self._receivers = [c for c in self._receivers if c.receiver != receiver]

    def emit(self, payload: P) -> None:
        """Call every receiver with ``payload``, in connection order.

        Sync receivers run to completion here; async ones are started here
        (they run up to their first real wait) and finish in the background.
        A receiver that raises is logged and counted; the others still run
        and the emitter never sees the error.
        """
        for connected in list(self._receivers):
            try:
                result = connected.receiver(payload)
            except Exception:
                RECEIVER_FAILURES.labels(self.name).inc()
                logger.exception(
                    "receiver %s of signal %s failed", connected.name, self.name
                )
                continue
            if inspect.iscoroutine(result):
                self._run_async(connected.name, result)

    def _run_async(self, name: str, coro: Coroutine[Any, Any, Any]) -> None:
        if self.sync_only:
            coro.close()
            RECEIVER_FAILURES.labels(self.name).inc()
            logger.error(
                "receiver %s of signal %s returned a coroutine: not run",
                name,
                self.name,
            )
            return
        run_in_background(f"signal:{self.name}:{name}", coro)
