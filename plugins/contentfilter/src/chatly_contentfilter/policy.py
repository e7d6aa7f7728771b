"""The rules one message is checked against: the server's lists, extended
or overridden by the room's policy state event.

The room policy (state event ``chatly.content_filter``, state key ``""``;
who may set it is the room's power levels, as for any state event) holds
any of::

    {
      "enabled": true,            # false: no filtering in this room
      "words": ["..."],           # added to the server's words
      "patterns": ["..."],        # added (only if room_patterns is on)
      "replace_lists": false,     # true: the room's lists replace the server's
      "max_links": 2,             # overrides the server's limit (null: none)
      "rate_limit": {"messages": 5, "per_seconds": 10}  # overrides
    }
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from chatly_contentfilter.config import FilterConfig, RateLimit

POLICY_EVENT_TYPE = "chatly.content_filter"
MAX_LIST = 200
"""The most words or patterns a room policy may hold."""
MAX_ITEM = 200
"""The longest word or pattern a room policy may hold."""

_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


class PolicyError(ValueError):
    """A room policy's content is malformed; the message says where."""


@attrs.frozen
class Rules:
    """Compiled rules; ``None`` limits mean no limit."""

    enabled: bool
    words: tuple[str, ...]
    word_regex: re.Pattern[str] | None
    patterns: tuple[re.Pattern[str], ...]
    max_links: int | None
    rate_limit: RateLimit

    def refusal(self, text: str) -> str | None:
        """Why ``text`` is refused, or None."""
        if self.word_regex is not None:
            match = self.word_regex.search(text)
            if match is not None:
                return f"Message contains a blocked word: {match.group(0)!r}"
        for pattern in self.patterns:
            if pattern.search(text) is not None:
                return f"Message matches a blocked pattern: {pattern.pattern!r}"
        if self.max_links is not None:
            links = len(_LINK.findall(text))
            if links > self.max_links:
                return (
                    f"Message has {links} links; at most {self.max_links} allowed here"
                )
        return None


def compile_rules(
    words: list[str],
    patterns: list[str],
    max_links: int | None,
    rate_limit: RateLimit,
    enabled: bool = True,
) -> Rules:
    """Rules from plain lists (patterns already known to compile)."""
    word_regex = None
    if words:
        alternatives = "|".join(re.escape(w.strip()) for w in words)
        word_regex = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    return Rules(
        enabled=enabled,
        words=tuple(words),
        word_regex=word_regex,
        patterns=tuple(re.compile(p, re.IGNORECASE) for p in patterns),
        max_links=max_links,
        rate_limit=rate_limit,
    )


def server_rules(config: FilterConfig) -> Rules:
    """The rules of rooms without a policy."""
    return compile_rules(
        config.words, config.patterns, config.max_links, config.rate_limit
    )


def room_rules(config: FilterConfig, content: dict[str, Any]) -> Rules:
    """The rules of a room whose policy event has ``content``.

    Raises:
        PolicyError: the content is malformed (see the module docstring).
    """
    enabled = content.get("enabled", True)
    if not isinstance(enabled, bool):
        raise PolicyError("enabled must be true or false")
    replace = content.get("replace_lists", False)
    if not isinstance(replace, bool):
        raise PolicyError("replace_lists must be true or false")
    words = _strings(content, "words")
    patterns = _strings(content, "patterns")
    if patterns and not config.room_patterns:
        raise PolicyError("patterns are not allowed in room policies on this server")
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise PolicyError(f"patterns: {pattern!r} is not a regex: {exc}") from None
    max_links = config.max_links
    if "max_links" in content:
        max_links = content["max_links"]
        if max_links is not None and (
            not isinstance(max_links, int)
            or isinstance(max_links, bool)
            or max_links < 0
        ):
            raise PolicyError("max_links must be a non-negative integer or null")
    rate_limit = config.rate_limit
    if "rate_limit" in content:
        rate_limit = _rate_limit(content["rate_limit"])
    if not replace:
        words = [*config.words, *words]
        patterns = [*config.patterns, *patterns]
    return compile_rules(words, patterns, max_links, rate_limit, enabled)


def _strings(content: dict[str, Any], key: str) -> list[str]:
    value = content.get(key, [])
    if not isinstance(value, list) or not all(
        isinstance(v, str) and v.strip() and len(v) <= MAX_ITEM for v in value
    ):
        raise PolicyError(
            f"{key} must be a list of non-empty strings of at most {MAX_ITEM} "
            "characters"
        )
    if len(value) > MAX_LIST:
        raise PolicyError(f"{key} may hold at most {MAX_LIST} entries")
    return list(value)


def _rate_limit(value: Any) -> RateLimit:
    if not isinstance(value, dict):
        raise PolicyError("rate_limit must be an object")
    messages = value.get("messages", 0)
    per_seconds = value.get("per_seconds", 60)
    if not isinstance(messages, int) or isinstance(messages, bool) or messages < 0:
        raise PolicyError("rate_limit.messages must be a non-negative integer")
    if (
        not isinstance(per_seconds, (int, float))
        or isinstance(per_seconds, bool)
        or not 0 < per_seconds <= 86400
    ):
        raise PolicyError("rate_limit.per_seconds must be a number in (0, 86400]")
    return RateLimit(messages=messages, per_seconds=float(per_seconds))
