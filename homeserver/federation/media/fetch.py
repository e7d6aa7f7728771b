"""Fetching another server's media over federation (the ``RemoteMediaFetcher``).

Spec: server-server-api.md "Content Repository". First the signed
``GET /_matrix/federation/v1/media/download/{mediaId}`` (multipart/mixed);
a server that does not know it (404 or 405 ``M_UNRECOGNIZED``, or 400
``M_UNRECOGNIZED`` from older Synapses; as Synapse decides) is asked the
legacy ``/_matrix/media/v3/download/{server}/{id}?allow_remote=false``, then
``r0``. A ``Location`` part is followed with the SSRF-guarded client for
untrusted URLs, so a remote cannot point us at a denied address. Errors are
answered as Synapse answers them: the remote's 404 is passed on, anything
else is 502.
"""

from __future__ import annotations

import email.message
import logging
from collections.abc import Callable
from urllib.parse import quote

from homeserver.errors import Codes, MatrixError
from homeserver.federation.errors import (
    FederationError,
    HttpResponseError,
    ResponseTooLarge,
)
from homeserver.federation.interfaces import MediaTransport, RawResponse
from homeserver.federation.media import multipart
from homeserver.http_client.untrusted import OutboundRequestError, UntrustedHttpClient
from homeserver.services.media.ports import FetchedMedia
from homeserver.storage.database import Runner

logger = logging.getLogger(__name__)

FEDERATION_DOWNLOAD = "/_matrix/federation/v1/media/download/"
DEFAULT_TYPE = "application/octet-stream"
# How long the remote may wait for a pending asynchronous upload (as Synapse).
WAIT_FOR_UPLOAD_MS = 20_000
# Room for the multipart envelope around a file of the largest allowed size.
ENVELOPE_BYTES = 64 * 1024


def is_unknown_endpoint(exc: HttpResponseError) -> bool:
    """Whether the remote does not know the endpoint (so an older one may
    work): 404/405 ``M_UNRECOGNIZED`` (spec v1.6), 400 ``M_UNRECOGNIZED``
    (older Synapse), or a bare 405."""
    if exc.code in (400, 404, 405) and exc.errcode == Codes.UNRECOGNIZED:
        return True
    return exc.code == 405 and exc.errcode is None


def filename_of(disposition: str | None) -> str | None:
    """The file name of a Content-Disposition (``filename`` or RFC 5987
    ``filename*``), if it has one."""
    if not disposition:
        return None
    header = email.message.Message()
    header["Content-Disposition"] = disposition
    try:
        name = header.get_filename()
    except (ValueError, LookupError):
        return None
    return str(name) if name else None


class FederationMediaFetcher:
    """Fetches files of other servers.

    Args:
        transport: signed outbound requests.
        redirects: the SSRF-guarded client for ``Location`` answers (its
            body limit is the largest file accepted).
        runner: parses multipart bodies off the reactor thread.
        timeout_ms: for each request to the remote.
        allowed: whether federation with a server is allowed
            (``federation.domain_whitelist``).
    """

    def __init__(
        self,
        *,
        transport: MediaTransport,
        redirects: UntrustedHttpClient,
        runner: Runner,
        timeout_ms: int,
        allowed: Callable[[str], bool],
    ) -> None:
        self.allowed = allowed
        self.transport = transport
        self.redirects = redirects
        self.runner = runner
        self.timeout_ms = timeout_ms

    async def fetch_media(
        self, server_name: str, media_id: str, *, max_bytes: int
    ) -> FetchedMedia:
        """The file of ``mxc://server_name/media_id`` (``RemoteMediaFetcher``)."""
        if not self.allowed(server_name):
            raise MatrixError(
                403, "Federation with this server is not allowed", Codes.FORBIDDEN
            )
        try:
            fetched = await self._fetch(server_name, media_id, max_bytes)
        except ResponseTooLarge:
            raise _too_large(max_bytes) from None
        except HttpResponseError as exc:
            logger.warning(
                "fetching remote media %s/%s: HTTP %d", server_name, media_id, exc.code
            )
            if exc.code == 404:
                body = exc.body if isinstance(exc.body, dict) else {}
                raise MatrixError(
                    404,
                    str(body.get("error") or "Not found"),
                    exc.errcode or Codes.NOT_FOUND,
                ) from None
            raise _failed() from None
        except (FederationError, OutboundRequestError, multipart.MultipartError) as exc:
            logger.warning(
                "fetching remote media %s/%s failed: %s", server_name, media_id, exc
            )
            raise _failed() from None
        if len(fetched.data) > max_bytes:
            raise _too_large(max_bytes)
        return fetched

    async def _fetch(
        self, server_name: str, media_id: str, max_bytes: int
    ) -> FetchedMedia:
        try:
            answer = await self.transport.get_bytes(
                server_name,
                FEDERATION_DOWNLOAD + quote(media_id, safe=""),
                {"timeout_ms": str(WAIT_FOR_UPLOAD_MS)},
                max_bytes=max_bytes + ENVELOPE_BYTES,
                timeout_ms=self.timeout_ms,
            )
        except HttpResponseError as exc:
            if not is_unknown_endpoint(exc):
                raise
            logger.info(
                "%s has no federation media endpoint: falling back to the legacy "
                "download",
                server_name,
            )
            return await self._fetch_legacy(server_name, media_id, max_bytes)
        content_type = answer.headers.get("content-type", "")
        part = await self.runner(lambda: multipart.decode(content_type, answer.body))
        if part.location is not None:
            return await self._follow(part.location)
        assert part.data is not None
        return FetchedMedia(
            media_type=part.media_type or DEFAULT_TYPE,
            upload_name=filename_of(part.disposition),
            data=part.data,
        )

    async def _fetch_legacy(
        self, server_name: str, media_id: str, max_bytes: int
    ) -> FetchedMedia:
        path = f"/{quote(server_name, safe='')}/{quote(media_id, safe='')}"
        answer: RawResponse | None = None
        for version in ("v3", "r0"):
            try:
                answer = await self.transport.get_bytes(
                    server_name,
                    f"/_matrix/media/{version}/download{path}",
                    {"allow_remote": "false", "timeout_ms": str(WAIT_FOR_UPLOAD_MS)},
                    max_bytes=max_bytes,
                    timeout_ms=self.timeout_ms,
                )
                break
            except HttpResponseError as exc:
                if version == "r0" or not is_unknown_endpoint(exc):
                    raise
        assert answer is not None
        return FetchedMedia(
            media_type=answer.headers.get("content-type") or DEFAULT_TYPE,
            upload_name=filename_of(answer.headers.get("content-disposition")),
            data=answer.body,
        )

    async def _follow(self, location: str) -> FetchedMedia:
        """GET a ``Location`` the remote pointed at (never cached as a URL:
        the spec says it may expire)."""
        answer = await self.redirects.get(location)
        if answer.code != 200:
            raise OutboundRequestError(f"{location} answered {answer.code}")
        media_type = answer.headers.getRawHeaders("content-type", [DEFAULT_TYPE])[-1]
        disposition = answer.headers.getRawHeaders("content-disposition", [None])[-1]
        return FetchedMedia(
            media_type=media_type,
            upload_name=filename_of(disposition),
            data=answer.body,
        )


def _failed() -> MatrixError:
    return MatrixError(502, "Failed to fetch remote media", Codes.UNKNOWN)


def _too_large(max_bytes: int) -> MatrixError:
    return MatrixError(
        502, f"Remote media is larger than {max_bytes} bytes", Codes.TOO_LARGE
    )
