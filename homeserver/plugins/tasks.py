"""Background work of one plugin: tasks, one-shot timers and looping calls.

Everything runs on the server's clock (so tests drive it with a fake reactor)
and through ``util/background.run_in_background``, which logs and counts a
failure instead of dropping it. ``PluginTasks.close`` cancels whatever is
still pending when the plugin shuts down.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, task

from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock


class Timer:
    """A handle on a scheduled call (``call_later`` or ``looping_call``).

    Part of the public plugin surface: ``cancel()`` and ``active`` only.
    """

    def __init__(self, on_cancel: Callable[[], None]) -> None:
        self._on_cancel = on_cancel
        self._active = True

    @property
    def active(self) -> bool:
        """Whether the call may still run (not cancelled; a one-shot timer
        becomes inactive once it has fired)."""
        return self._active

    def cancel(self) -> None:
        """Stop it; a no-op when it is no longer active."""
        if self._active:
            self._active = False
            self._on_cancel()

    def _fired(self) -> None:
        self._active = False


class PluginTasks:
    """The pending background work of one plugin."""

    def __init__(self, plugin: str, clock: Clock, logger: logging.Logger) -> None:
        self.plugin = plugin
        self.clock = clock
        self.logger = logger
        self._running: set[defer.Deferred[Any]] = set()
        self._timers: set[Timer] = set()
        self._closed = False

    def _start(
        self, label: str, fn: Callable[..., Any], *args: Any
    ) -> defer.Deferred[Any]:
        """Call ``fn(*args)`` (sync or async) as a tracked background task."""

        async def run() -> None:
            try:
                result = fn(*args)
                if inspect.isawaitable(result):
                    await result
            except defer.CancelledError:
                self.logger.debug("task %s cancelled", label)

        d = run_in_background(f"plugin {self.plugin}: {label}", run())
        if not d.called:
            self._running.add(d)
            d.addBoth(lambda _: self._running.discard(d))
        return d

    def run(self, label: str, fn: Callable[..., Any], *args: Any) -> None:
        """Start ``fn(*args)`` now, in the background."""
        self._check_open()
        self._start(label, fn, *args)

    def call_later(
        self, label: str, seconds: float, fn: Callable[..., Any], *args: Any
    ) -> Timer:
        """Run ``fn(*args)`` once, ``seconds`` from now."""
        self._check_open()

        def fire() -> None:
            timer._fired()
            self._timers.discard(timer)
            self._start(label, fn, *args)

        def drop() -> None:
            self._timers.discard(timer)
            delayed.cancel()

        delayed: Any = self.clock.call_later(max(0.0, seconds), fire)
        timer = Timer(drop)
        self._timers.add(timer)
        return timer

    def looping_call(
        self, label: str, seconds: float, fn: Callable[[], Any], now: bool
    ) -> Timer:
        """Run ``fn()`` every ``seconds``; a run that fails is logged and the
        loop goes on; a run still going delays the next one."""
        self._check_open()
        if seconds <= 0:
            raise ValueError("looping_call needs a positive interval")
        # The task's Deferred never fails (run_in_background consumes the
        # failure), so one failing run does not stop the loop.
        call = task.LoopingCall(lambda: self._start(label, fn))
        call.clock = self.clock.reactor

        def stop() -> None:
            self._timers.discard(timer)
            if call.running:
                call.stop()

        timer = Timer(stop)
        self._timers.add(timer)
        call.start(seconds, now=now)
        return timer

    def close(self) -> None:
        """Cancel every timer, loop and running task (at plugin shutdown)."""
        self._closed = True
        for timer in list(self._timers):
            timer.cancel()
        for d in list(self._running):
            d.cancel()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"plugin {self.plugin} has been shut down")
