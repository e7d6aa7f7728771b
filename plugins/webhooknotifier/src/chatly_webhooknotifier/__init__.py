"""Chatly's webhook notifier plugin (plugins/webhooknotifier/README.md).

Entry point ``webhooknotifier`` in the ``chatly.plugins`` group; the plugin
class is ``WebhookNotifier``.
"""

from chatly_webhooknotifier.config import NotifierConfig, Target
from chatly_webhooknotifier.plugin import WebhookNotifier
from chatly_webhooknotifier.signing import SIGNATURE_HEADER, sign, verify

__all__ = [
    "SIGNATURE_HEADER",
    "NotifierConfig",
    "Target",
    "WebhookNotifier",
    "sign",
    "verify",
]
