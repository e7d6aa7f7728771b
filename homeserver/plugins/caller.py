"""Calling hook implementations, awaiting async ones, with isolation.

pluggy calls hooks synchronously and has no async support
(pytest-dev/pluggy#320), so the server never calls ``pm.hook.*`` itself: it
takes the implementations (``hook.get_hookimpls()``) and calls each here, in
pluggy's call order (the config's plugin order; ``tryfirst``/``trylast``
respected), awaiting coroutines one after the other. First-result hooks stop
at the first answer that is not None.

Isolation: every implementation runs under a guard. An exception is logged
and counted; an async implementation that runs past the timeout is cancelled,
logged and counted; in both cases it counts as having returned None. A
synchronous implementation cannot be pre-empted on the reactor thread, so it
must not block (docs/plugins.md, "Isolation and errors").
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable
from typing import Any

import pluggy
from prometheus_client import Counter
from twisted.internet import defer

from homeserver.util.background import run_in_background

logger = logging.getLogger(__name__)

HOOK_ERRORS = Counter(
    "homeserver_plugin_hook_errors_total",
    "Plugin hook implementations that raised or timed out (they count as None)",
    ["plugin", "hook", "reason"],
)

_NO_RESULT = object()


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    """Any awaitable (a coroutine, a Deferred) as a coroutine, so that it can
    be run as a cancellable Deferred."""
    return await awaitable


class HookCaller:
    """Calls one plugin manager's hooks.

    Args:
        pm: the plugin manager holding the registered plugins.
        reactor: cancels async implementations that run too long.
        timeout_s: how long one async implementation may take.
    """

    def __init__(self, pm: pluggy.PluginManager, reactor: Any, timeout_s: float):
        self.pm = pm
        self.reactor = reactor
        self.timeout_s = timeout_s

    def _impls(self, hook_name: str) -> list[pluggy.HookImpl]:
        hook = getattr(self.pm.hook, hook_name)
        # get_hookimpls() lists them in reverse call order (pluggy calls the
        # last registered first, tryfirst/trylast aside).
        return list(reversed(hook.get_hookimpls()))

    async def _call(self, impl: pluggy.HookImpl, hook_name: str, kwargs: Any) -> Any:
        """One implementation's result, or ``_NO_RESULT`` if it failed."""
        try:
            result = impl.function(*[kwargs[name] for name in impl.argnames])
            if inspect.isawaitable(result):
                waiting: defer.Deferred[Any] = defer.Deferred.fromCoroutine(
                    _awaited(result)
                )
                waiting.addTimeout(self.timeout_s, self.reactor)
                result = await waiting
        except defer.TimeoutError:
            self._failed(impl, hook_name, "timeout")
            return _NO_RESULT
        except Exception:
            self._failed(impl, hook_name, "error")
            return _NO_RESULT
        return result

    def _failed(self, impl: pluggy.HookImpl, hook_name: str, reason: str) -> None:
        HOOK_ERRORS.labels(impl.plugin_name, hook_name, reason).inc()
        if reason == "timeout":
            logger.warning(
                "plugin %s: %s took longer than %ss and was cancelled",
                impl.plugin_name,
                hook_name,
                self.timeout_s,
            )
        else:
            logger.warning(
                "plugin %s: %s raised", impl.plugin_name, hook_name, exc_info=True
            )

    async def first(self, hook_name: str, **kwargs: Any) -> Any:
        """The first answer that is not None (a first-result hook), or None.
        A failed implementation counts as None."""
        for impl in self._impls(hook_name):
            result = await self._call(impl, hook_name, kwargs)
            if result is not _NO_RESULT and result is not None:
                return result
        return None

    async def each(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call every implementation in turn; their answers that are not None."""
        results = []
        for impl in self._impls(hook_name):
            result = await self._call(impl, hook_name, kwargs)
            if result is not _NO_RESULT and result is not None:
                results.append(result)
        return results

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call every implementation of a notification hook in the background
        (nothing waits for it); returns at once."""
        if self._impls(hook_name):
            run_in_background(f"plugins:{hook_name}", self.each(hook_name, **kwargs))

    def each_sync(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call every implementation of a synchronous-only hook (used while
        the server is built); an implementation that returns an awaitable is
        an error of that plugin."""
        results = []
        for impl in self._impls(hook_name):
            try:
                result = impl.function(*[kwargs[name] for name in impl.argnames])
            except Exception:
                self._failed(impl, hook_name, "error")
                continue
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                HOOK_ERRORS.labels(impl.plugin_name, hook_name, "error").inc()
                logger.warning(
                    "plugin %s: %s must be synchronous; its answer is ignored",
                    impl.plugin_name,
                    hook_name,
                )
                continue
            if result is not None:
                results.append(result)
        return results
