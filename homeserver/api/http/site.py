"""The Twisted side of HTTP: body limits, CORS, dispatch, errors, metrics.

Every response is JSON (or an endpoint's raw ``Response``); every error is a
Matrix ``{errcode, error}`` body, including the ones Twisted would answer by
itself (``channel.py``); no traceback ever reaches a client. Bodies are never
parsed as HTML forms (``multipart/form-data`` or urlencoded): every body is the
endpoint's to read.
"""

from __future__ import annotations

import functools
import logging
import time
from io import BytesIO
from typing import Any

import attrs
from prometheus_client import Counter, Histogram
from twisted.internet import defer
from twisted.web import resource, server

from homeserver import __version__
from homeserver.api.http.channel import MatrixHTTPChannel
from homeserver.api.http.outcome import (
    INTERNAL_ERROR,
    error_response,
    redact_access_token,
)
from homeserver.api.http.params import parse_query
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import Router
from homeserver.errors import Codes, MatrixError
from homeserver.util import db_usage
from homeserver.util.background import run_in_background
from homeserver.util.compact_json import encode_compact

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "homeserver_http_requests_total", "HTTP requests", ["method", "endpoint", "code"]
)
LATENCY = Histogram(
    "homeserver_http_request_seconds", "HTTP request latency", ["method", "endpoint"]
)


# The labelled children, looked up once per label set: prometheus_client's
# ``labels()`` takes a lock and checks its arguments on every call, about a
# twentieth of a cheap request's CPU. The label sets are bounded (routes,
# methods and status codes).
@functools.lru_cache(maxsize=4096)
def _latency(method: str, endpoint: str) -> Any:
    return LATENCY.labels(method, endpoint)


@functools.lru_cache(maxsize=4096)
def _requests(method: str, endpoint: str, code: int) -> Any:
    return REQUESTS.labels(method, endpoint, str(code))


# Request bodies under this path (media uploads) may be as large as
# media.max_upload_size; every other body is held to http.max_request_body_size.
MEDIA_UPLOAD_PREFIX = "/_matrix/media/"

CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "X-Requested-With, Content-Type, Authorization, Date",
    "Access-Control-Expose-Headers": "Synapse-Trace-Id, Server",
}


@attrs.frozen
class Response:
    """A non-JSON response, or a JSON one with extra headers."""

    body: bytes
    content_type: str = "application/json"
    code: int = 200
    headers: dict[str, str] = attrs.field(factory=dict)


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON (``util/compact_json.py``)."""
    return encode_compact(value)


class LimitedRequest(server.Request):
    """A Twisted request that stops buffering a body past the size limit."""

    max_body_size = 10 * 1024 * 1024
    # The limit of every body but a media upload's (which may be up to
    # max_body_size): checked once the path is known.
    json_body_size = 10 * 1024 * 1024
    # Keep every body in memory: Twisted spools bodies over 100 kB to a
    # temporary file, which media.storage s3_only promises never to write.
    bodies_in_memory = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.body_too_large = False
        self._body_received = 0

    def gotLength(self, length: int | None) -> None:
        if self.bodies_in_memory:
            self.content = BytesIO()  # type: ignore[assignment]
        else:
            super().gotLength(length)
        if length is not None and length > self.max_body_size:
            self.body_too_large = True

    def handleContentChunk(self, data: bytes) -> None:
        self._body_received += len(data)
        if self._body_received > self.max_body_size:
            self.body_too_large = True
        if not self.body_too_large:
            super().handleContentChunk(data)

    def processingFailed(self, reason: Any) -> Any:
        """A resource raised while rendering (Twisted would answer with an HTML
        page): 500 M_UNKNOWN, the traceback only logged."""
        logger.error(
            "request failed: %s %s",
            self.method.decode("ascii", "replace"),
            _safe_uri(self),
            exc_info=(reason.type, reason.value, reason.getTracebackObject()),
        )
        if self.finished or self._disconnected:
            return reason
        body = encode_json(INTERNAL_ERROR)
        self.setResponseCode(500)
        self.setHeader("Content-Type", "application/json")
        self.setHeader("Content-Length", str(len(body)))
        if self.method != b"HEAD":
            self.write(body)
        self.finish()
        return reason


class HomeserverResource(resource.Resource):
    """The root resource: every path goes through the router."""

    isLeaf = True

    def __init__(
        self, router: Router, cors_origins: list[str], x_forwarded: bool = False
    ) -> None:
        super().__init__()
        self.router = router
        self.cors_origins = cors_origins
        self.x_forwarded = x_forwarded

    def render(self, request: server.Request) -> int:
        run_in_background("http_request", self._handle(request), db_unit=False)
        return server.NOT_DONE_YET

    def _cors(self, request: server.Request) -> None:
        origin = request.getHeader("origin")
        if "*" in self.cors_origins:
            request.setHeader("Access-Control-Allow-Origin", "*")
        elif origin and origin in self.cors_origins:
            request.setHeader("Access-Control-Allow-Origin", origin)
            request.setHeader("Vary", "Origin")
        for name, value in CORS_HEADERS.items():
            request.setHeader(name, value)

    def _client_ip(self, request: server.Request) -> str:
        if self.x_forwarded:
            forwarded = request.getHeader("x-forwarded-for")
            if forwarded:
                return forwarded.split(",")[0].strip()
        peer = request.getClientAddress()
        return getattr(peer, "host", "-")

    def _api_request(self, request: server.Request) -> ApiRequest:
        raw_query = request.uri.split(b"?", 1)[1] if b"?" in request.uri else b""
        query = parse_query(raw_query)
        content: Any = request.content
        content.seek(0)
        return ApiRequest(
            method=request.method.decode("ascii", "replace"),
            # Undecodable bytes survive as surrogates, so that the router's
            # strict parameter decoding refuses them.
            path=request.path.decode("utf-8", "surrogateescape"),
            query=query,
            headers={
                k.decode("latin-1").lower(): v[0].decode("latin-1")
                for k, v in request.requestHeaders.getAllRawHeaders()
            },
            body=content.read(),
            client_ip=self._client_ip(request),
            uri=request.uri.decode("latin-1"),
        )

    async def _handle(self, request: server.Request) -> None:
        start = time.perf_counter()
        self._cors(request)
        method = request.method.decode("ascii", "replace")
        name = "unknown"
        usage, token = db_usage.begin("http", f"{method} {name}")
        try:
            if method == "OPTIONS":
                self._finish(request, 200, Response(b"{}"))
                return
            if getattr(request, "body_too_large", False):
                raise MatrixError(413, "Request body too large", Codes.TOO_LARGE)
            api_request = self._api_request(request)
            if len(api_request.body) > getattr(
                request, "json_body_size", len(api_request.body)
            ) and not api_request.path.startswith(MEDIA_UPLOAD_PREFIX):
                raise MatrixError(413, "Request body too large", Codes.TOO_LARGE)
            handler, params, name = self.router.resolve(
                api_request.method, api_request.path
            )
            usage.rename("http", f"{method} {name}")
            result = await handler(api_request, **params)
            self._finish(request, 200, result)
        except defer.CancelledError:
            return
        except Exception as exc:
            code, body, headers = error_response(exc, f"{method} {_safe_uri(request)}")
            self._finish(request, code, Response(encode_json(body), headers=headers))
        finally:
            _latency(method, name).observe(time.perf_counter() - start)
            _requests(method, name, request.code).inc()
            logger.info(
                "%s %s %s %d %.3fs",
                self._client_ip(request),
                method,
                _safe_uri(request),
                request.code,
                time.perf_counter() - start,
            )
            db_usage.log_usage(logger, usage)
            db_usage.end(usage, token)

    def _finish(self, request: server.Request, code: int, result: Any) -> None:
        if request.finished or request._disconnected:
            return
        if isinstance(result, tuple):
            code, result = result
        if isinstance(result, Response):
            code = result.code if result.code != 200 else code
            body, content_type, headers = (
                result.body,
                result.content_type,
                result.headers,
            )
        else:
            body, content_type, headers = encode_json(result), "application/json", {}
        request.setResponseCode(code)
        request.setHeader("Content-Type", content_type)
        request.setHeader("Content-Length", str(len(body)))
        request.setHeader("Cache-Control", "no-cache, no-store, must-revalidate")
        request.setHeader("Server", f"Chatly/{__version__}")
        for key, value in headers.items():
            request.setHeader(key, value)
        if request.method != b"HEAD":
            request.write(body)
        request.finish()


def _safe_uri(request: server.Request) -> str:
    """The request URI with any access token blanked out, for logs."""
    return redact_access_token(request.uri.decode("utf-8", "replace"))


class HomeserverSite(server.Site):
    """A Site whose requests enforce the body limit and whose connections
    enforce the request deadlines.

    Args:
        root: the listener's resource.
        max_body_size: ``http.max_request_body_size``.
        reactor: the reactor.
        header_timeout: ``http.request_header_timeout``, in seconds.
        body_timeout: ``http.request_body_timeout``, in seconds.
        max_upload_size: ``media.max_upload_size``: bodies of media uploads
            may be this large.
        bodies_in_memory: never spool a request body to a temporary file
            (for ``media.storage`` in ``s3_only`` mode; bodies are bounded
            by the limits above either way).
    """

    protocol = MatrixHTTPChannel  # type: ignore[assignment]

    def __init__(
        self,
        root: resource.Resource,
        max_body_size: int,
        reactor: Any,
        header_timeout: float | None = None,
        body_timeout: float | None = None,
        max_upload_size: int = 0,
        bodies_in_memory: bool = False,
    ) -> None:
        request_factory = type(
            "BoundLimitedRequest",
            (LimitedRequest,),
            {
                "max_body_size": max(max_body_size, max_upload_size),
                "json_body_size": max_body_size,
                "bodies_in_memory": bodies_in_memory,
            },
        )
        super().__init__(
            root,
            reactor=reactor,
            requestFactory=request_factory,
            parsePOSTFormSubmission=False,
        )
        self.noisy = False
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout

    def buildProtocol(self, addr: Any) -> Any:
        """A channel for one connection, with this site's deadlines."""
        channel = super().buildProtocol(addr)
        channel.header_timeout = self.header_timeout
        channel.body_timeout = self.body_timeout
        return channel

    def log(self, request: Any) -> None:
        """Access logging is done by the resource, with tokens redacted."""
