"""Media upload, download and config endpoints.

Spec: client-server API "Content repository": ``/_matrix/media/v3/upload``,
``/_matrix/media/v1/create``, ``PUT /_matrix/media/v3/upload/{s}/{id}``, the
authenticated ``/_matrix/client/v1/media/download|config`` and the legacy
``/_matrix/media/v3/download|config`` (each also under r0 where it existed).
"""

from __future__ import annotations

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.site import Response
from homeserver.api.media.serving import media_response
from homeserver.errors import Codes, MatrixError
from homeserver.services.accounts.auth import Auth
from homeserver.services.media.repository import MediaRepository, Upload
from homeserver.types import JsonDict


def media_patterns(path: str, versions: tuple[str, ...] = ("r0", "v3")) -> list[str]:
    """``path`` under ``/_matrix/media/<version>`` for each of ``versions``."""
    return [f"/_matrix/media/{version}{path}" for version in versions]


def _upload(request: ApiRequest) -> Upload:
    return Upload(
        data=request.body,
        content_type=request.header("content-type") or None,
        filename=request.query_str("filename") or None,
    )


def _check_file_name(file_name: str) -> None:
    """Refuse a download ``fileName`` that is a path rather than a name.

    The name only goes into Content-Disposition, never into a path of ours,
    but a client saving the file under it must not be walked out of its
    download directory. (NUL is refused for every path parameter.)
    """
    if "/" in file_name or "\\" in file_name or file_name in (".", ".."):
        raise MatrixError(400, "Invalid file name", Codes.INVALID_PARAM)


class _Endpoint:
    def __init__(self, auth: Auth, media: MediaRepository) -> None:
        self.auth = auth
        self.media = media


class UploadEndpoint(_Endpoint):
    """POST /_matrix/media/v3/upload (and r0)."""

    PATTERNS = media_patterns("/upload")

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        uri = await self.media.upload(requester, _upload(request))
        return {"content_uri": uri}


class CreateMediaEndpoint(_Endpoint):
    """POST /_matrix/media/v1/create (asynchronous upload, v1.7)."""

    PATTERNS = media_patterns("/create", ("v1",))

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        uri, expires = await self.media.create(requester)
        return {"content_uri": uri, "unused_expires_at": expires}


class UploadToEndpoint(_Endpoint):
    """PUT /_matrix/media/v3/upload/{serverName}/{mediaId}."""

    PATTERNS = media_patterns("/upload/{server_name}/{media_id}", ("v3",))

    async def on_PUT(
        self, request: ApiRequest, server_name: str, media_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        await self.media.upload_to(requester, server_name, media_id, _upload(request))
        return {}


class _Download(_Endpoint):
    authenticated = True

    async def on_GET(
        self,
        request: ApiRequest,
        server_name: str,
        media_id: str,
        file_name: str | None = None,
    ) -> Response:
        allow_remote = True
        if self.authenticated:
            await requester_of(self.auth, request, allow_guest=True)
        else:
            # Servers that fetch with this path ask for our media only.
            allow_remote = request.query_bool("allow_remote", True)
        if file_name is not None:
            _check_file_name(file_name)
        found = await self.media.download(
            server_name,
            media_id,
            allow_remote=allow_remote,
            legacy=not self.authenticated,
        )
        media = found.media
        return media_response(
            found.data,
            media.media_type or "application/octet-stream",
            file_name or media.upload_name,
            request.header("range"),
        )


class DownloadEndpoint(_Download):
    """GET /_matrix/client/v1/media/download/{serverName}/{mediaId}[/{fileName}]."""

    PATTERNS = [
        "/_matrix/client/v1/media/download/{server_name}/{media_id}",
        "/_matrix/client/v1/media/download/{server_name}/{media_id}/{file_name}",
    ]


class LegacyDownloadEndpoint(_Download):
    """GET /_matrix/media/v3/download/{serverName}/{mediaId}[/{fileName}] (and
    r0): unauthenticated, deprecated since v1.11 but still used by older
    clients and bridges."""

    authenticated = False
    PATTERNS = [
        *media_patterns("/download/{server_name}/{media_id}"),
        *media_patterns("/download/{server_name}/{media_id}/{file_name}"),
    ]


class ConfigEndpoint(_Endpoint):
    """GET /_matrix/client/v1/media/config, and the legacy
    /_matrix/media/v3/config (and r0); both need an access token, as the spec says."""

    PATTERNS = [
        "/_matrix/client/v1/media/config",
        *media_patterns("/config"),
    ]

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await requester_of(self.auth, request)
        return {"m.upload.size": int(self.media.config.max_upload_size)}


def media_endpoints(auth: Auth, media: MediaRepository) -> list[_Endpoint]:
    """Every media endpoint, for the client listener."""
    return [
        UploadEndpoint(auth, media),
        CreateMediaEndpoint(auth, media),
        UploadToEndpoint(auth, media),
        DownloadEndpoint(auth, media),
        LegacyDownloadEndpoint(auth, media),
        ConfigEndpoint(auth, media),
    ]
