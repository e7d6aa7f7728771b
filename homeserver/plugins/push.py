"""The pushers' ``PushDeliveryHook`` through the ``chatly_push`` hook: a
plugin (a push-gateway back end such as the shipped WebPush, FCM and APNs
ones) delivers a notification in process before the server's own HTTP
delivery (docs/push.md)."""

from __future__ import annotations

import logging

from homeserver.plugins.caller import HookCaller
from homeserver.plugins.types import PushDelivery
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)


class PluginPushDelivery:
    """Asks the plugins, first answer wins (``chatly_push``)."""

    def __init__(self, hooks: HookCaller) -> None:
        self.hooks = hooks

    async def deliver(
        self,
        *,
        user_id: str,
        app_id: str,
        pushkey: str,
        kind: str,
        data: JsonDict,
        notification: JsonDict,
    ) -> bool | None:
        delivery = PushDelivery(
            user_id=user_id,
            app_id=app_id,
            pushkey=pushkey,
            kind=kind,
            data=dict(data),
            notification=notification,
        )
        answer = await self.hooks.first("chatly_push", delivery=delivery)
        if answer is None or isinstance(answer, bool):
            return answer
        logger.warning("a plugin answered chatly_push with %r: ignored", type(answer))
        return None
