"""Stand-ins for federation components a server section is built without.

Used only until the real transport and key ring are composed: they fail
every call in the documented way, so nothing is trusted or sent by mistake.
"""

from __future__ import annotations

from typing import Any

from signedjson.sign import SignatureVerifyException

from homeserver.federation.errors import RequestSendFailed
from homeserver.federation.interfaces import Query
from homeserver.types import JsonDict


class RefusingKeyRing:
    """A ``KeyRing`` that knows no keys."""

    async def verify_json_for_server(
        self, server_name: str, json_object: JsonDict, valid_at_ms: int
    ) -> None:
        raise SignatureVerifyException(f"no keys known for {server_name}")


class UnreachableTransport:
    """A ``FederationTransport`` that cannot reach anyone."""

    async def get_json(
        self,
        destination: str,
        path: str,
        query: Query | None = None,
        *,
        timeout_ms: int | None = None,
        signed: bool = True,
    ) -> Any:
        raise RequestSendFailed(f"no federation transport to reach {destination}")

    async def put_json(
        self,
        destination: str,
        path: str,
        body: Any,
        query: Query | None = None,
        *,
        timeout_ms: int | None = None,
    ) -> Any:
        raise RequestSendFailed(f"no federation transport to reach {destination}")

    async def post_json(
        self,
        destination: str,
        path: str,
        body: Any,
        query: Query | None = None,
        *,
        timeout_ms: int | None = None,
    ) -> Any:
        raise RequestSendFailed(f"no federation transport to reach {destination}")
