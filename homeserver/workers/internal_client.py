"""Internal HTTP from one worker process to another (stream writes).

A process that receives a write for a stream it does not write (a client
sending a message through a client reader) hands it to that stream's writer
with a POST to ``/_chatly/replication/<endpoint>`` on 127.0.0.1, JSON both
ways, authenticated by the deployment's replication secret as a bearer token
(docs/architecture.md, "Workers").

Every internal write endpoint is idempotent (an event is persisted once by
its ID, typing and receipts are set, not added), so a call that failed on the
way (connection refused while the writer restarts, a reset, a timeout) is
retried a bounded number of times with a growing delay. A writer that stays
down gives the caller a retryable Matrix error, 503 ``M_UNKNOWN`` "... try
again", never a traceback; the calling process has written nothing by then
(the write is the writer's alone), so nothing is half-written. A Matrix
error the writer answers (403 not joined, 400 bad input) is raised as it is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import treq
from treq.client import HTTPClient
from twisted.internet import defer, error, task
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.web.client import (
    URI,
    Agent,
    HTTPConnectionPool,
    RequestGenerationFailed,
    RequestTransmissionFailed,
    ResponseFailed,
)
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH, IAgentEndpointFactory, IBodyProducer
from zope.interface import implementer

from homeserver.errors import Codes, MatrixError
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)

REPLICATION_PREFIX = "/_chatly/replication/"
# Attempts and the delay before the second one (doubling, at most MAX_DELAY_S):
# about six seconds of a writer restarting before the client hears "try again".
ATTEMPTS = 6
FIRST_DELAY_S = 0.1
MAX_DELAY_S = 2.0
REQUEST_TIMEOUT_S = 30.0
# Answers meaning "not now" (a proxy in front, a writer shutting down).
RETRY_STATUSES = frozenset({502, 503, 504})
# What failed on the way: the request may or may not have reached the
# writer, which is fine as every endpoint is idempotent.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    error.ConnectError,
    error.ConnectionLost,
    error.ConnectionDone,
    error.TimeoutError,
    defer.TimeoutError,
    defer.CancelledError,
    ResponseFailed,
    RequestTransmissionFailed,
    RequestGenerationFailed,
)
CONNECT_TIMEOUT_S = 5


@implementer(IBodyProducer)
class _Body:
    """A JSON body written in one go (treq's file producer would schedule
    its writes on the global cooperator)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.length = len(data) if data else UNKNOWN_LENGTH

    def startProducing(self, consumer: Any) -> defer.Deferred[None]:  # noqa: N802
        consumer.write(self.data)
        return defer.succeed(None)

    def pauseProducing(self) -> None:  # noqa: N802
        return None

    def resumeProducing(self) -> None:  # noqa: N802
        return None

    def stopProducing(self) -> None:  # noqa: N802
        return None


@implementer(IAgentEndpointFactory)
class _Direct:
    """TCP straight to the URL's host: internal URLs are IP literals
    (127.0.0.1), so nothing is resolved."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    def endpointForURI(self, uri: URI) -> TCP4ClientEndpoint:  # noqa: N802
        return TCP4ClientEndpoint(
            self.reactor, uri.host.decode("ascii"), uri.port, timeout=CONNECT_TIMEOUT_S
        )


class WriterUnavailable(MatrixError):
    """The writer did not answer after every attempt: 503, try again."""

    def __init__(self, instance: str, endpoint: str) -> None:
        super().__init__(
            503,
            f"The {endpoint} writer ({instance}) is unavailable; try again",
            Codes.UNKNOWN,
            headers={"Retry-After": "1"},
        )


class InternalClient:
    """POSTs JSON to other processes' replication endpoints.

    Args:
        reactor: the reactor the requests and the retry delays run on.
        secret: the replication secret (sent as a bearer token).
        url_of: instance name -> its internal base URL (``http://127.0.0.1:8101``).
        attempts: tries per call before ``WriterUnavailable``.
        first_delay_s: the delay before the second try (then doubling).
        timeout_s: per try.
        http: the treq client (default: one with its own connection pool).
    """

    def __init__(
        self,
        *,
        reactor: Any,
        secret: str,
        url_of: Callable[[str], str],
        attempts: int = ATTEMPTS,
        first_delay_s: float = FIRST_DELAY_S,
        timeout_s: float = REQUEST_TIMEOUT_S,
        http: HTTPClient | None = None,
    ) -> None:
        self.reactor = reactor
        self._auth = f"Bearer {secret}".encode("ascii")
        self.url_of = url_of
        self.attempts = max(1, attempts)
        self.first_delay_s = first_delay_s
        self.timeout_s = timeout_s
        if http is None:
            pool = HTTPConnectionPool(reactor)
            pool.maxPersistentPerHost = 20
            http = direct_http(reactor, pool)
        self.http = http

    async def post(self, instance: str, endpoint: str, body: JsonDict) -> JsonDict:
        """POST ``body`` to ``endpoint`` of ``instance``; its JSON answer.

        Raises:
            MatrixError: the writer's own Matrix error; ``WriterUnavailable``
                (503) when it could not be reached after every attempt.
        """
        url = self.url_of(instance).rstrip("/") + REPLICATION_PREFIX + endpoint
        data = json.dumps(body).encode("utf-8")
        delay = self.first_delay_s
        for attempt in range(self.attempts):
            if attempt:
                await task.deferLater(self.reactor, delay)
                delay = min(delay * 2, MAX_DELAY_S)
            try:
                status, answer = await self._once(url, data)
            except TRANSIENT_ERRORS as exc:
                logger.info(
                    "internal request failed, will retry",
                    extra={"instance": instance, "endpoint": endpoint, "error": exc},
                )
                continue
            if status in RETRY_STATUSES or answer is None:
                continue
            if 200 <= status < 300:
                return answer
            raise MatrixError(
                status,
                str(answer.get("error", "internal request failed")),
                str(answer.get("errcode", Codes.UNKNOWN)),
            )
        logger.warning(
            "stream writer unreachable",
            extra={"instance": instance, "endpoint": endpoint},
        )
        raise WriterUnavailable(instance, endpoint)

    async def _once(self, url: str, data: bytes) -> tuple[int, JsonDict | None]:
        """One try: the status and the JSON object answered (None if the
        body is not one)."""
        request = self.http.post(
            url,
            data=_Body(data),  # type: ignore[arg-type]
            headers=Headers(
                {
                    b"Authorization": [self._auth],
                    b"Content-Type": [b"application/json"],
                }
            ),
        )
        request.addTimeout(self.timeout_s, self.reactor)
        response = await request
        reading = treq.content(response)
        reading.addTimeout(self.timeout_s, self.reactor)
        raw = await reading
        try:
            answer = json.loads(raw)
        except ValueError:
            return response.code, None
        return response.code, answer if isinstance(answer, dict) else None


def direct_http(reactor: Any, pool: HTTPConnectionPool) -> HTTPClient:
    """A treq client that connects to IP literals without resolving them."""
    agent = Agent.usingEndpointFactory(reactor, _Direct(reactor), pool)
    return HTTPClient(agent)  # type: ignore[arg-type]
