"""The gateway: one ``Pushkin`` per configured app ID, and the two ways in
that share it: a whole push gateway API request (``notify``: every device
of the notification, the rejected pushkeys back) and one pusher (``push``,
for the in-process ``chatly_push`` hook)."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from chatly_pushgateway.apns import ApnsPushkin
from chatly_pushgateway.config import AppConfig
from chatly_pushgateway.fcm import FcmPushkin
from chatly_pushgateway.model import Device, Notification
from chatly_pushgateway.pushkin import Pushkin, PushkinContext, TemporaryFailure
from chatly_pushgateway.webpush import WebPushPushkin


def build_pushkin(app_id: str, app: AppConfig, context: PushkinContext) -> Pushkin:
    """The back end ``app`` names."""
    if app.webpush is not None:
        return WebPushPushkin(app_id, app.webpush, context)
    if app.fcm is not None:
        return FcmPushkin(app_id, app.fcm, context)
    if app.apns is not None:
        return ApnsPushkin(app_id, app.apns, context)
    assert app.custom is not None
    cls, settings = app.custom.load()
    pushkin = cls(app_id, settings, context)
    if not isinstance(pushkin, Pushkin):
        raise TypeError(f"{app.custom.backend} is not a Pushkin")
    return pushkin


class Gateway:
    """Routes notifications to the back end of each device's app ID."""

    def __init__(self, apps: dict[str, AppConfig], context: PushkinContext) -> None:
        self.log = context.logger
        self.pushkins = {
            app_id: build_pushkin(app_id, app, context) for app_id, app in apps.items()
        }

    def handles(self, app_id: str) -> bool:
        return app_id in self.pushkins

    async def push(self, notification: Notification, device: Device) -> bool:
        """Deliver to one device of a configured app ID.

        Returns:
            False if its pushkey was rejected, else True.

        Raises:
            TemporaryFailure: not delivered now.
        """
        rejected = await self.pushkins[device.app_id].dispatch(notification, device)
        return device.pushkey not in rejected

    async def notify(self, notification: Notification) -> list[str]:
        """Deliver to every device, concurrently (``POST /notify``).

        Returns:
            The rejected pushkeys (devices of unknown app IDs included, as
            Sygnal does).

        Raises:
            TemporaryFailure: some device could not be reached now and none
                was delivered, so the homeserver should retry the request.
        """
        rejected: list[str] = []
        jobs: list[defer.Deferred[list[str]]] = []
        for device in notification.devices:
            pushkin = self.pushkins.get(device.app_id)
            if pushkin is None:
                self.log.warning("notification for unknown app ID %r", device.app_id)
                rejected.append(device.pushkey)
                continue
            jobs.append(
                defer.Deferred.fromCoroutine(pushkin.dispatch(notification, device))
            )
        results: list[tuple[bool, Any]] = await defer.DeferredList(
            jobs, consumeErrors=True
        )
        failures = [r for ok, r in results if not ok]
        for ok, result in results:
            if ok:
                rejected.extend(result)
        for failure in failures:
            if not failure.check(TemporaryFailure):
                self.log.error("push back end failed: %s", failure.getTraceback())
        if failures and len(failures) == len(jobs):
            raise TemporaryFailure(f"{len(failures)} device(s) not reachable now")
        return rejected

    async def close(self) -> None:
        for pushkin in self.pushkins.values():
            await pushkin.close()
