"""Send-side flow control of one socket: bounded memory for slow readers.

Two signals, both from public Twisted/WebSocket mechanisms:

- The transport's producer/consumer API. ``SendFlow`` is the transport's push
  producer, so Twisted calls ``pauseProducing`` when its send buffer is over its
  high-water mark (64 KiB) and ``resumeProducing`` once it has drained. Bytes
  queued while paused are counted; past ``max_pending_bytes`` the reader is too
  slow.
- Delivery barriers. ``barrier()`` sends a WebSocket ping with a fresh payload
  and fires when the matching pong comes back. Frames are processed in order,
  so the pong proves the client received everything sent before the ping. A
  barrier still open after ``max_pending_time`` means the reader is too slow.

Either way ``on_slow`` is called once; the socket then closes with 4008.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

from homeserver.util.clock import Clock

PING_PREFIX = b"chatly-sync-"


@implementer(IPushProducer)
class SendFlow:
    """Watches one socket's send buffer and delivery barriers.

    Args:
        clock: for the barrier timeout.
        max_pending_bytes: how much may be queued once the buffer is full.
        max_pending_seconds: how long a barrier may stay open.
        send_ping: sends a WebSocket ping with the given payload.
        on_slow: called (once) when the reader is too slow.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        max_pending_bytes: int,
        max_pending_seconds: float,
        send_ping: Callable[[bytes], None],
        on_slow: Callable[[str], None],
    ) -> None:
        self.clock = clock
        self.max_pending_bytes = max_pending_bytes
        self.max_pending_seconds = max_pending_seconds
        self._send_ping = send_ping
        self._on_slow = on_slow
        self.paused = False
        self.queued_while_paused = 0
        self.slow = False
        self._seq = 0
        self._barriers: dict[bytes, tuple[defer.Deferred[None], Any]] = {}

    # IPushProducer, called by the transport ---------------------------------

    def pauseProducing(self) -> None:
        self.paused = True
        self.queued_while_paused = 0

    def resumeProducing(self) -> None:
        self.paused = False
        self.queued_while_paused = 0

    def stopProducing(self) -> None:
        self.stop()

    # Used by the protocol ---------------------------------------------------

    def wrote(self, size: int) -> None:
        """``size`` bytes were handed to the transport."""
        if not self.paused:
            return
        self.queued_while_paused += size
        if self.queued_while_paused > self.max_pending_bytes:
            self._too_slow(f"over {self.max_pending_bytes} bytes queued")

    def barrier(self) -> defer.Deferred[None]:
        """Fires when the client has received everything sent so far."""
        self._seq += 1
        payload = PING_PREFIX + str(self._seq).encode("ascii")

        def cancel(_: defer.Deferred[None]) -> None:
            entry = self._barriers.pop(payload, None)
            if entry is not None and entry[1].active():
                entry[1].cancel()

        done: defer.Deferred[None] = defer.Deferred(cancel)
        timer = self.clock.call_later(
            self.max_pending_seconds, self._barrier_timed_out, payload
        )
        self._barriers[payload] = (done, timer)
        self._send_ping(payload)
        return done

    def pong(self, payload: bytes) -> None:
        """A pong arrived: it closes its barrier and every older one."""
        if not payload.startswith(PING_PREFIX):
            return
        try:
            seq = int(payload[len(PING_PREFIX) :])
        except ValueError:
            return
        for key in list(self._barriers):
            if int(key[len(PING_PREFIX) :]) <= seq:
                done, timer = self._barriers.pop(key)
                if timer.active():
                    timer.cancel()
                done.callback(None)

    def stop(self) -> None:
        """The socket is closing: cancel every open barrier and its timer."""
        barriers, self._barriers = self._barriers, {}
        for done, timer in barriers.values():
            if timer.active():
                timer.cancel()
            done.cancel()

    def _barrier_timed_out(self, payload: bytes) -> None:
        entry = self._barriers.get(payload)
        if entry is not None:
            self._too_slow(f"no pong within {self.max_pending_seconds:g}s")

    def _too_slow(self, why: str) -> None:
        if not self.slow:
            self.slow = True
            self._on_slow(why)
