"""The filter's server-wide settings (``plugins.load[].config``)."""

from __future__ import annotations

import re

import attrs


@attrs.frozen(kw_only=True)
class RateLimit:
    """At most ``messages`` messages per ``per_seconds`` seconds, per user
    per room; ``messages`` 0 turns it off."""

    messages: int = 0
    per_seconds: float = 60.0

    def __attrs_post_init__(self) -> None:
        if self.messages < 0:
            raise ValueError("messages must not be negative")
        if self.per_seconds <= 0:
            raise ValueError("per_seconds must be positive")


@attrs.frozen(kw_only=True)
class FilterConfig:
    """Settings of the content filter.

    Attributes:
        words: words and phrases refused anywhere (case-insensitive, whole
            words).
        patterns: Python regular expressions refused anywhere (searched
            case-insensitively).
        max_links: the most links (``http://``, ``https://``, ``www.``) one
            message may hold; None for no limit.
        rate_limit: messages per user per room.
        exempt_users: users never filtered (e.g. moderation bots).
        room_policies: honour the per-room policy state event.
        room_patterns: let room policies add regular expressions too (off by
            default: a room creator could otherwise make the server run a
            catastrophically slow expression on every message of the room).
        policy_event_type: the state event type of room policies.
    """

    words: list[str] = attrs.field(factory=list)
    patterns: list[str] = attrs.field(factory=list)
    max_links: int | None = None
    rate_limit: RateLimit = attrs.field(factory=RateLimit)
    exempt_users: list[str] = attrs.field(factory=list)
    room_policies: bool = True
    room_patterns: bool = False
    policy_event_type: str = "chatly.content_filter"

    def __attrs_post_init__(self) -> None:
        if self.max_links is not None and self.max_links < 0:
            raise ValueError("max_links must not be negative")
        for pattern in self.patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"patterns: {pattern!r} is not a regex: {exc}"
                ) from None
        if any(not w.strip() for w in self.words):
            raise ValueError("words: empty word")
