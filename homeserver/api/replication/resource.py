"""The replication API's auth and endpoint list, and ``GET .../status``.

Every request carries ``Authorization: Bearer <secret>``, compared in
constant time; anything else is 403 M_FORBIDDEN. Endpoints of other files
register in ``replication_endpoints``; each internal POST is an
``InternalPost`` (the secret, the body model, one call of its target).
"""

from __future__ import annotations

import hmac
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from homeserver.api.http.body import RequestBody
from homeserver.api.http.request import ApiRequest
from homeserver.errors import Forbidden
from homeserver.types import JsonDict

PREFIX = "/_chatly/replication"
"""Where every replication endpoint lives."""


class ReplicationAuth:
    """Checks the shared secret on internal requests.

    Args:
        secret: the deployment's replication secret.
    """

    def __init__(self, secret: str) -> None:
        self._expected = f"Bearer {secret}".encode()

    def check(self, request: ApiRequest) -> None:
        """Return if ``request`` carries the secret.

        Raises:
            Forbidden: 403 M_FORBIDDEN otherwise.
        """
        given = (request.header("authorization") or "").encode()
        if not hmac.compare_digest(given, self._expected):
            raise Forbidden("Bad or missing replication secret")

    def header(self) -> str:
        """The Authorization header value for a call to another process."""
        return self._expected.decode()


TargetT = TypeVar("TargetT")
BodyT = TypeVar("BodyT", bound=RequestBody)


class InternalPost(Generic[TargetT, BodyT]):
    """``POST /_chatly/replication/<ENDPOINT>``: the shape every internal
    write shares. A subclass names its ``ENDPOINT`` and ``BODY`` model and
    implements ``handle``; the secret is checked and the body parsed here.

    Args:
        auth: the deployment's replication secret.
        target: what ``handle`` calls (a service of this process).
    """

    ENDPOINT: ClassVar[str]
    BODY: ClassVar[type[Any]]
    PATTERNS: ClassVar[list[str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.PATTERNS = [f"{PREFIX}/{cls.ENDPOINT}"]

    def __init__(self, auth: ReplicationAuth, target: TargetT) -> None:
        self.auth = auth
        self.target = target

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        self.auth.check(request)
        return await self.handle(request.parse(self.BODY))

    async def handle(self, body: BodyT) -> JsonDict:
        """Do the write; the JSON answer."""
        raise NotImplementedError


class StatusSource(Protocol):
    """What reports this process's replication state."""

    def status(self) -> JsonDict:
        """``{name, role, pid, positions, lag, redis}`` (see the endpoint)."""
        ...


class ReplicationStatusEndpoint:
    """GET /_chatly/replication/status: this process's name, role, pid,
    stream positions, lag behind each stream's writer and Redis state::

        {"name": "reader1", "role": "client_reader", "pid": 4242,
         "positions": {"events": 812, ...},
         "lag": {"events": {"entries": 0, "seconds": 0.0}, ...},
         "redis": "connected"}
    """

    PATTERNS = [f"{PREFIX}/status"]

    def __init__(self, auth: ReplicationAuth, source: StatusSource) -> None:
        self.auth = auth
        self.source = source

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        self.auth.check(request)
        return self.source.status()


def replication_endpoints(auth: ReplicationAuth, *, status: StatusSource) -> list[Any]:
    """Every endpoint of the replication API (for each process's listener)."""
    return [ReplicationStatusEndpoint(auth, status)]
