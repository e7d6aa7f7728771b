"""The async hook caller on its own: config order, first result, awaiting
coroutines and Deferreds, tryfirst."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock

from homeserver.config.sections.plugins import PluginEntry, PluginsConfig
from homeserver.plugins import Deny, EventDraft, hookimpl
from homeserver.plugins.caller import HookCaller
from homeserver.plugins.loading import (
    ChatlyPluginManager,
    ResolvedPlugin,
    register_plugins,
)

DRAFT = EventDraft(
    room_id="!r:test", sender="@a:test", type="m.room.message", content={}
)


class Recorder:
    calls: list[str] = []

    def __init__(self, api: Any, config: Any) -> None:
        self.name = api

    @hookimpl
    async def chatly_check_event(self, draft: EventDraft) -> None:
        Recorder.calls.append(self.name)


class Denier(Recorder):
    @hookimpl
    def chatly_check_event(self, draft: EventDraft) -> defer.Deferred[Deny]:
        Recorder.calls.append(self.name)
        return defer.succeed(Deny(error=self.name))


class Eager(Recorder):
    @hookimpl(tryfirst=True)
    def chatly_check_event(self, draft: EventDraft) -> None:
        Recorder.calls.append(self.name)


def _caller(*plugins: tuple[str, type]) -> HookCaller:
    pm = ChatlyPluginManager()
    resolved = [ResolvedPlugin(name, cls, None) for name, cls in plugins]
    register_plugins(pm, resolved, lambda name, config: name)
    return HookCaller(pm, MemoryReactorClock(), 5)


def _run(caller: HookCaller, hook: str, **kwargs: Any) -> Any:
    results: list[Any] = []
    defer.ensureDeferred(caller.first(hook, **kwargs)).addBoth(results.append)
    assert results
    return results[0]


def test_config_order_and_first_result_stops() -> None:
    Recorder.calls = []
    caller = _caller(("a", Recorder), ("b", Denier), ("c", Denier))
    answer = _run(caller, "chatly_check_event", draft=DRAFT)
    assert answer == Deny(error="b")
    assert Recorder.calls == ["a", "b"]


def test_tryfirst_runs_first() -> None:
    Recorder.calls = []
    caller = _caller(("a", Recorder), ("b", Eager))
    assert _run(caller, "chatly_check_event", draft=DRAFT) is None
    assert Recorder.calls == ["b", "a"]


def test_no_plugins_no_answer() -> None:
    assert _run(_caller(), "chatly_check_event", draft=DRAFT) is None
    assert PluginsConfig(load=[PluginEntry(name="x", enabled=False)]).load
