"""End-to-end encryption key endpoints.

Spec: client-server API, "End-to-End Encryption" (POST /keys/upload,
/keys/query, /keys/claim, GET /keys/changes) and "Cross-signing" (POST
/keys/device_signing/upload, /keys/signatures/upload).
"""

from __future__ import annotations

from homeserver.api.client.bodies.e2ee import (
    DeviceSigningUploadBody,
    KeysClaimBody,
    KeysQueryBody,
    KeysUploadBody,
)
from homeserver.api.http.auth import requester_of, uia_operation
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.e2ee.changes import KeyChangesService
from homeserver.services.e2ee.cross_signing import CrossSigningService
from homeserver.services.e2ee.keys import E2eKeyService
from homeserver.services.e2ee.query import KeyQueryService
from homeserver.streams.tokens import StreamToken
from homeserver.types import JsonDict


class KeysUploadEndpoint:
    """POST /keys/upload."""

    PATTERNS = client_patterns("/keys/upload")

    def __init__(self, auth: Auth, keys: E2eKeyService) -> None:
        self.auth = auth
        self.keys = keys

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        body = request.parse(KeysUploadBody, allow_empty=True)
        return await self.keys.upload(
            requester,
            body.device_keys,
            body.one_time_keys,
            [body.unstable_fallback_keys, body.fallback_keys],
        )


class KeysQueryEndpoint:
    """POST /keys/query."""

    PATTERNS = client_patterns("/keys/query")

    def __init__(self, auth: Auth, query: KeyQueryService) -> None:
        self.auth = auth
        self.query = query

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        body = request.parse(KeysQueryBody)
        return await self.query.query(requester.user_id, body.device_keys, body.timeout)


class KeysClaimEndpoint:
    """POST /keys/claim."""

    PATTERNS = client_patterns("/keys/claim")

    def __init__(self, auth: Auth, query: KeyQueryService) -> None:
        self.auth = auth
        self.query = query

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        await requester_of(self.auth, request, allow_guest=True)
        body = request.parse(KeysClaimBody)
        return await self.query.claim(body.one_time_keys, body.timeout)


class KeyChangesEndpoint:
    """GET /keys/changes?from=&to=."""

    PATTERNS = client_patterns("/keys/changes")

    def __init__(self, auth: Auth, changes: KeyChangesService) -> None:
        self.auth = auth
        self.changes = changes

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        since = StreamToken.parse(
            request.query_str("from", required=True) or "", "from"
        )
        upto = StreamToken.parse(request.query_str("to", required=True) or "", "to")
        return await self.changes.changes(requester.user_id, since, upto)


class DeviceSigningUploadEndpoint:
    """POST /keys/device_signing/upload."""

    PATTERNS = client_patterns("/keys/device_signing/upload", unstable=True)

    def __init__(self, auth: Auth, cross_signing: CrossSigningService) -> None:
        self.auth = auth
        self.cross_signing = cross_signing

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(DeviceSigningUploadBody)
        return await self.cross_signing.upload_keys(
            requester, body.keys(), uia_operation(request), body.uia_auth()
        )


class SignaturesUploadEndpoint:
    """POST /keys/signatures/upload."""

    PATTERNS = client_patterns("/keys/signatures/upload", unstable=True)

    def __init__(self, auth: Auth, cross_signing: CrossSigningService) -> None:
        self.auth = auth
        self.cross_signing = cross_signing

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        return await self.cross_signing.upload_signatures(requester, request.json())
