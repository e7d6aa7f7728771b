"""The seams between the federation components.

Each is implemented once (named below); the others depend only on these
protocols, so each piece can be built and tested on its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from homeserver.types import JsonDict

Query = Mapping[str, str | Sequence[str]]


class FederationTransport(Protocol):
    """Signed outbound requests to other servers (federation/client.py).

    ``path`` is the request path without the query, e.g.
    ``/_matrix/federation/v1/version``; path parameters must already be
    percent-encoded. Every method raises ``RequestSendFailed`` when the server
    cannot be reached and ``HttpResponseError`` for a non-2xx answer.
    """

    async def get_json(
        self,
        destination: str,
        path: str,
        query: Query | None = None,
        *,
        timeout_ms: int | None = None,
        signed: bool = True,
    ) -> Any:
        """GET a JSON resource (``signed=False``: no X-Matrix header)."""
        ...

    async def put_json(
        self,
        destination: str,
        path: str,
        body: Any,
        query: Query | None = None,
        *,
        timeout_ms: int | None = None,
    ) -> Any:
        """PUT a JSON body; the parsed JSON answer."""
        ...

    async def post_json(
        self,
        destination: str,
        path: str,
        body: Any,
        query: Query | None = None,
        *,
        timeout_ms: int | None = None,
    ) -> Any:
        """POST a JSON body; the parsed JSON answer."""
        ...


@attrs.frozen
class RawResponse:
    """A 2xx answer taken as bytes (media).

    Attributes:
        code: the HTTP status.
        headers: the last value of each header, by lower-case name.
        body: the whole body.
    """

    code: int
    headers: Mapping[str, str]
    body: bytes


@runtime_checkable
class MediaTransport(Protocol):
    """Signed outbound GETs whose answer is not JSON (federation media)."""

    async def get_bytes(
        self,
        destination: str,
        path: str,
        query: Query | None = None,
        *,
        max_bytes: int,
        timeout_ms: int | None = None,
    ) -> RawResponse:
        """GET ``path`` (signed); the answer of a 2xx response.

        Raises:
            RequestSendFailed: unreachable, timed out; ``ResponseTooLarge``
                for a body over ``max_bytes``.
            HttpResponseError: a non-2xx answer (``body`` its JSON, if any).
        """
        ...


class KeyRing(Protocol):
    """Other servers' signing keys: fetched, cached, checked (federation/keyring.py)."""

    async def verify_json_for_server(
        self, server_name: str, json_object: JsonDict, valid_at_ms: int
    ) -> None:
        """Check that ``server_name`` signed ``json_object`` with a key valid at
        ``valid_at_ms``.

        Raises:
            SignatureVerifyException (from signedjson.sign): missing or bad
                signature, or no key for it could be found.
        """
        ...


EduHandler = Callable[[str, JsonDict], Awaitable[None]]
"""Handles one inbound EDU: ``(origin, content)``."""
