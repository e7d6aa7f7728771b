"""Dehydrated devices (MSC3814), under its unstable prefix.

``/_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device`` (PUT,
GET, DELETE) and ``.../dehydrated_device/{deviceId}/events`` (GET with
``from``, as the MSC says now; POST with ``next_batch``, as Synapse and the
clients that use it do).
"""

from __future__ import annotations

from homeserver.api.client.bodies.e2ee import DehydratedDeviceBody, DehydratedEventsBody
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.services.accounts.auth import Auth
from homeserver.services.e2ee.dehydrated import DehydratedDeviceService
from homeserver.types import JsonDict

PREFIX = "/_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device"


class DehydratedDeviceEndpoint:
    """PUT, GET and DELETE /dehydrated_device."""

    PATTERNS = [PREFIX]

    def __init__(self, auth: Auth, dehydrated: DehydratedDeviceService) -> None:
        self.auth = auth
        self.dehydrated = dehydrated

    async def on_PUT(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(DehydratedDeviceBody)
        return await self.dehydrated.put(
            requester,
            body.device_id,
            body.device_data,
            body.initial_device_display_name,
            body.device_keys,
            body.one_time_keys,
            body.fallback_keys,
        )

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.dehydrated.get(requester)

    async def on_DELETE(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.dehydrated.delete(requester)


class DehydratedEventsEndpoint:
    """GET and POST /dehydrated_device/{deviceId}/events."""

    PATTERNS = [PREFIX + "/{device_id}/events"]

    def __init__(self, auth: Auth, dehydrated: DehydratedDeviceService) -> None:
        self.auth = auth
        self.dehydrated = dehydrated

    async def on_GET(self, request: ApiRequest, device_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        since = request.query_str("from")
        return await self.dehydrated.events(requester, device_id, since)

    async def on_POST(self, request: ApiRequest, device_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(DehydratedEventsBody, allow_empty=True)
        return await self.dehydrated.events(requester, device_id, body.next_batch)
