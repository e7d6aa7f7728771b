"""Plugins that misbehave, loaded by module path (``module:`` in the config)."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from homeserver.plugins import EventDraft, hookimpl


class Raising:
    """Every hook it implements raises."""

    def __init__(self, api: Any, config: None) -> None:
        self.api = api

    @hookimpl
    def chatly_check_event(self, draft: EventDraft) -> None:
        raise RuntimeError("the raising plugin's check broke")

    @hookimpl
    async def chatly_on_new_event(self, event: dict[str, Any]) -> None:
        raise RuntimeError("the raising plugin's bot broke")

    @hookimpl
    def chatly_check_registration(self) -> None:
        raise RuntimeError("the raising plugin's registration check broke")


class Hanging:
    """Its event check never answers."""

    def __init__(self, api: Any, config: None) -> None:
        self.waiting: list[defer.Deferred[None]] = []

    @hookimpl
    async def chatly_check_event(self, draft: EventDraft) -> None:
        never: defer.Deferred[None] = defer.Deferred()
        self.waiting.append(never)
        await never


class Misspelt:
    """A hook name with a typo."""

    def __init__(self, api: Any, config: None) -> None:
        pass

    def chatly_on_new_evnt(self, event: dict[str, Any]) -> None:
        pass


class BadArgument:
    """A hook that asks for an argument its spec does not have."""

    def __init__(self, api: Any, config: None) -> None:
        pass

    @hookimpl
    def chatly_check_event(self, event: dict[str, Any]) -> None:
        pass
