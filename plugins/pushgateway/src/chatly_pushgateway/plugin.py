"""The in-process plugin: ``chatly_push`` for pushers whose ``app_id`` is
configured (the server's own HTTP delivery is skipped for them), and the
notify endpoint at ``/_chatly/plugins/<name>/_matrix/push/v1/notify`` for
other homeservers (or this one's pushers pointed at it).

HTTP/1.1 requests (WebPush, FCM) go through ``PluginAPI.http_request``, the
server's guarded client (``plugins.ip_range_blacklist``); APNs keeps an
HTTP/2 connection of its own to the configured APNs host
(``chatly_pushgateway.http2``).
"""

from __future__ import annotations

from typing import Any

from chatly_pushgateway.config import GatewayConfig
from chatly_pushgateway.gateway import Gateway
from chatly_pushgateway.model import BadNotification, Device, parse_notification
from chatly_pushgateway.notify import PATH, handle_notify
from chatly_pushgateway.pushkin import HttpResponse, PushkinContext, TransportError
from homeserver.plugins import PushDelivery, hookimpl
from homeserver.plugins.api import PluginAPI, PluginHttpError, PluginRequest

# Pusher data keys meant for the homeserver, not the device (spec: the
# homeserver passes data on "minus url and format").
SERVER_DATA_KEYS = ("url", "format")


class PushGateway:
    """The push gateway plugin (plugins/pushgateway/README.md)."""

    CONFIG = GatewayConfig

    def __init__(self, api: PluginAPI, config: GatewayConfig | None) -> None:
        from twisted.internet import reactor

        self.api = api
        self.gateway = Gateway(
            (config or GatewayConfig()).apps,
            PushkinContext(http=self._send, reactor=reactor, logger=api.logger),
        )
        api.register_route("POST", PATH, self._notify)

    async def _send(
        self, method: str, url: str, *, body: bytes | None, headers: dict[str, str]
    ) -> HttpResponse:
        try:
            return await self.api.http_request(method, url, body=body, headers=headers)
        except PluginHttpError as exc:
            raise TransportError(str(exc)) from None

    async def _notify(self, request: PluginRequest) -> tuple[int, dict[str, Any]]:
        return await handle_notify(self.gateway, request.body)

    @hookimpl
    async def chatly_push(self, delivery: PushDelivery) -> bool | None:
        """Deliver an ``http`` pusher of a configured app ID: True when delivered,
        False when its pushkey is rejected, None for other app IDs.
        A temporary failure raises (the server counts it as None)."""
        if delivery.kind != "http" or not self.gateway.handles(delivery.app_id):
            return None
        raw = {**delivery.notification, "devices": []}
        try:
            notification = parse_notification(raw)
        except BadNotification:
            self.api.logger.warning("chatly_push: malformed notification")
            return None
        data = {k: v for k, v in delivery.data.items() if k not in SERVER_DATA_KEYS}
        device = Device(
            app_id=delivery.app_id,
            pushkey=delivery.pushkey,
            data=data,
            tweaks=_tweaks(delivery),
        )
        return await self.gateway.push(notification, device)

    @hookimpl
    async def chatly_shutdown(self) -> None:
        await self.gateway.close()


def _tweaks(delivery: PushDelivery) -> dict[str, Any]:
    """The tweaks of the delivery's own entry in ``notification.devices``."""
    for device in delivery.notification.get("devices") or []:
        if (
            isinstance(device, dict)
            and device.get("pushkey") == delivery.pushkey
            and isinstance(device.get("tweaks"), dict)
        ):
            return dict(device["tweaks"])
    return {}
