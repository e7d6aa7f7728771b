"""Chatly's push gateway (plugins/pushgateway/README.md): WebPush, FCM and
APNs back ends in Sygnal's "Pushkin" pattern, served in process through the
``chatly_push`` hook and as the push gateway API's
``/_matrix/push/v1/notify``, in process or stand-alone
(``python -m chatly_pushgateway --config gateway.yaml``).

Entry point ``pushgateway`` in the ``chatly.plugins`` group; the plugin
class is ``PushGateway``.
"""

from chatly_pushgateway.config import (
    ApnsConfig,
    AppConfig,
    CustomConfig,
    FcmConfig,
    GatewayConfig,
    WebPushConfig,
)
from chatly_pushgateway.model import Counts, Device, Notification
from chatly_pushgateway.pushkin import (
    Pushkin,
    PushkinContext,
    TemporaryFailure,
    TransportError,
)

__all__ = [
    "ApnsConfig",
    "AppConfig",
    "Counts",
    "CustomConfig",
    "Device",
    "FcmConfig",
    "GatewayConfig",
    "Notification",
    "PushGateway",
    "Pushkin",
    "PushkinContext",
    "TemporaryFailure",
    "TransportError",
    "WebPushConfig",
]


def __getattr__(name: str) -> object:
    # The plugin class imports homeserver.plugins; the back ends and the
    # stand-alone gateway's pieces do not need it at import time.
    if name == "PushGateway":
        from chatly_pushgateway.plugin import PushGateway

        return PushGateway
    raise AttributeError(name)
