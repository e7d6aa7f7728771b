"""A push back end of one's own, as docs/push.md ("Writing another back
end") shows, for tests/plugins_shipped/test_pushgateway.py: it keeps what it
got and refuses pushkeys with a configured prefix. Imported by module path
from the plugin's config (``custom.backend``)."""

from __future__ import annotations

from typing import ClassVar

import attrs
from chatly_pushgateway import Device, Notification, Pushkin


@attrs.frozen(kw_only=True)
class EchoSettings:
    refuse_prefix: str


class EchoPushkin(Pushkin):
    CONFIG = EchoSettings
    config: EchoSettings
    delivered: ClassVar[list[tuple[str, str | None]]] = []

    async def dispatch(self, notification: Notification, device: Device) -> list[str]:
        if device.pushkey.startswith(self.config.refuse_prefix):
            return [device.pushkey]
        self.delivered.append((device.pushkey, notification.event_id))
        return []
