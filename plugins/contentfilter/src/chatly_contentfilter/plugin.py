"""The plugin class: one ``chatly_check_event`` implementation.

For each event a local user sends: the policy event itself is validated
(a malformed policy is refused with ``M_BAD_JSON``); any other event's text
(``body``, ``formatted_body``, a name or topic) is checked against the room's
rules and refused with ``M_FORBIDDEN`` and the reason; messages also count
against the rate limit (``M_LIMIT_EXCEEDED``). Nothing is stored.
"""

from __future__ import annotations

from typing import Any

from chatly_contentfilter.config import FilterConfig
from chatly_contentfilter.policy import PolicyError, Rules, room_rules, server_rules
from chatly_contentfilter.rate import RateTracker
from homeserver.plugins import Deny, EventDraft, hookimpl

TEXT_KEYS = ("body", "formatted_body", "name", "topic")


class ContentFilter:
    """The spam and content filter (plugins/contentfilter/README.md)."""

    CONFIG = FilterConfig

    def __init__(self, api: Any, config: FilterConfig | None) -> None:
        self.api = api
        self.config = config or FilterConfig()
        self.default_rules = server_rules(self.config)
        self.exempt = frozenset(self.config.exempt_users)
        self.rates = RateTracker()
        # Compiled room rules by policy event ID (state changes make a new ID).
        self._room_rules: dict[str, Rules] = {}

    @hookimpl
    async def chatly_check_event(self, draft: EventDraft) -> Deny | None:
        if draft.type == self.config.policy_event_type and draft.state_key == "":
            return self._check_policy(draft.content)
        if draft.sender in self.exempt:
            return None
        rules = await self._rules(draft.room_id)
        if not rules.enabled:
            return None
        for key in TEXT_KEYS:
            text = draft.content.get(key)
            if isinstance(text, str):
                reason = rules.refusal(text)
                if reason is not None:
                    return Deny(error=reason)
        if draft.state_key is None and not self.rates.allow(
            draft.room_id, draft.sender, rules.rate_limit, self.api.time_msec()
        ):
            limit = rules.rate_limit
            return Deny(
                errcode="M_LIMIT_EXCEEDED",
                status=429,
                error=(
                    f"Too many messages: at most {limit.messages} per "
                    f"{limit.per_seconds:g} seconds in this room"
                ),
            )
        return None

    def _check_policy(self, content: dict[str, Any]) -> Deny | None:
        if not self.config.room_policies:
            return None
        try:
            room_rules(self.config, content)
        except PolicyError as exc:
            return Deny(errcode="M_BAD_JSON", status=400, error=f"Bad policy: {exc}")
        return None

    async def _rules(self, room_id: str) -> Rules:
        if not self.config.room_policies:
            return self.default_rules
        event = await self.api.get_state_event(room_id, self.config.policy_event_type)
        if event is None:
            return self.default_rules
        event_id = str(event["event_id"])
        rules = self._room_rules.get(event_id)
        if rules is None:
            try:
                rules = room_rules(self.config, event.get("content") or {})
            except PolicyError as exc:
                # Set before the filter ran, or by another server: ignore it.
                self.api.logger.warning("room %s: bad policy ignored: %s", room_id, exc)
                rules = self.default_rules
            if len(self._room_rules) > 10_000:
                self._room_rules.clear()
            self._room_rules[event_id] = rules
        return rules
