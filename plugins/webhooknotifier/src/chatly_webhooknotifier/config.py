"""The notifier's settings (``plugins.load[].config``)."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen(kw_only=True)
class Target:
    """One URL and the events it gets.

    Attributes:
        url: where events are POSTed (``http`` or ``https``).
        secret: the HMAC-SHA256 key of the signature header.
        event_types: event types sent (empty: every type).
        rooms: room IDs whose events are sent (empty: every room).
        senders: senders whose events are sent (empty: everyone).
        include_remote: also events from other servers.
    """

    url: str
    secret: str
    event_types: list[str] = attrs.field(factory=list)
    rooms: list[str] = attrs.field(factory=list)
    senders: list[str] = attrs.field(factory=list)
    include_remote: bool = True

    def __attrs_post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must be http:// or https://, got {self.url!r}")
        if len(self.secret) < 16:
            raise ValueError("secret must be at least 16 characters")

    def wants(self, event: dict[str, Any], local: bool) -> bool:
        """Whether ``event`` goes to this target."""
        return (
            (local or self.include_remote)
            and (not self.event_types or event.get("type") in self.event_types)
            and (not self.rooms or event.get("room_id") in self.rooms)
            and (not self.senders or event.get("sender") in self.senders)
        )


@attrs.frozen(kw_only=True)
class NotifierConfig:
    """Settings of the webhook notifier.

    Attributes:
        targets: the URLs and their filters.
        max_attempts: tries per event and target (the first included).
        initial_backoff_seconds: the wait before the first retry; it doubles
            after each failed retry...
        max_backoff_seconds: ... up to this.
    """

    targets: list[Target] = attrs.field(factory=list)
    max_attempts: int = 5
    initial_backoff_seconds: float = 2.0
    max_backoff_seconds: float = 300.0

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.max_attempts <= 20:
            raise ValueError("max_attempts must be between 1 and 20")
        if self.initial_backoff_seconds <= 0:
            raise ValueError("initial_backoff_seconds must be positive")
        if self.max_backoff_seconds < self.initial_backoff_seconds:
            raise ValueError("max_backoff_seconds must be >= initial_backoff_seconds")

    def backoff(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failed attempt."""
        return min(
            self.initial_backoff_seconds * 2 ** (failures - 1), self.max_backoff_seconds
        )
