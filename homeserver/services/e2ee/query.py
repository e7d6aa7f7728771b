"""Key queries and claims across servers.

Spec: client-server API, POST /keys/query and POST /keys/claim: local users
are answered from our stores, other servers' users through federation, all
servers at once; a server that fails or does not answer within ``timeout`` is
listed in ``failures`` and the others' answers are still returned.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from twisted.internet import defer

from homeserver.events.ids import has_domain
from homeserver.services.e2ee.keys import E2eKeyService
from homeserver.services.e2ee.ports import (
    NoRemoteKeys,
    RemoteKeysPort,
    RemoteKeysUnavailable,
)
from homeserver.services.e2ee.signatures_view import SignatureView
from homeserver.storage.stores.cross_signing import CrossSigningStore
from homeserver.types import JsonDict, UserID
from homeserver.util.ports import Port

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_MS = 10_000
MAX_TIMEOUT_MS = 60_000
CROSS_SIGNING_FIELDS = {
    "master": "master_keys",
    "self_signing": "self_signing_keys",
    "user_signing": "user_signing_keys",
}


class KeyQueryService:
    """Answers /keys/query and /keys/claim.

    Args:
        server_name: this server.
        keys: local devices' keys.
        cross_signing: cross-signing keys.
        signatures: merges detached signatures into served keys.
    """

    def __init__(
        self,
        *,
        server_name: str,
        keys: E2eKeyService,
        cross_signing: CrossSigningStore,
        signatures: SignatureView,
    ) -> None:
        self.server_name = server_name
        self.keys = keys
        self.cross_signing = cross_signing
        self.signatures = signatures
        self.remote: Port[RemoteKeysPort] = Port(NoRemoteKeys())

    async def query(
        self,
        requester_id: str,
        device_keys: Mapping[str, list[str]],
        timeout_ms: int | None,
    ) -> JsonDict:
        """POST /keys/query."""
        local, remote = self._split(device_keys)
        result = await self.query_local(local, requester_id)
        result["failures"] = {}

        async def ask(
            server: str, users: dict[str, list[str]], timeout: int
        ) -> JsonDict:
            return await self.remote.get().query_keys(server, users, timeout)

        answers = await self._ask_all(remote, ask, timeout_ms, result["failures"])
        for server, answer in answers.items():
            _merge_query_answer(result, server, answer)
        return result

    async def query_local(
        self, query: Mapping[str, list[str]], requester_id: str | None
    ) -> JsonDict:
        """Local users' device and cross-signing keys (also the answer to
        another server's user/keys/query, where ``requester_id`` is None:
        then no user-signing key and no user-signing signature is shown)."""
        result: JsonDict = {
            "device_keys": await self.keys.query_local(query, requester_id)
        }
        wanted = list(query)
        stored = await self.cross_signing.get_keys(wanted)
        for key_type, field in CROSS_SIGNING_FIELDS.items():
            by_user = {
                user_id: dict(keys[key_type])
                for user_id, keys in stored.items()
                if key_type in keys
                and (key_type != "user_signing" or user_id == requester_id)
            }
            await self.signatures.merge_into_cross_signing(by_user, requester_id)
            if requester_id is not None or key_type != "user_signing":
                result[field] = by_user
        return result

    async def claim(
        self,
        one_time_keys: Mapping[str, Mapping[str, str]],
        timeout_ms: int | None,
    ) -> JsonDict:
        """POST /keys/claim."""
        local, remote = self._split(one_time_keys)
        wanted = [
            (user_id, device_id, algorithm)
            for user_id, devices in local.items()
            for device_id, algorithm in devices.items()
        ]
        result: JsonDict = {
            "one_time_keys": await self.keys.claim_local(wanted),
            "failures": {},
        }

        async def ask(
            server: str, users: dict[str, dict[str, str]], timeout: int
        ) -> JsonDict:
            return await self.remote.get().claim_keys(server, users, timeout)

        answers = await self._ask_all(remote, ask, timeout_ms, result["failures"])
        for server, answer in answers.items():
            keys = answer.get("one_time_keys")
            if isinstance(keys, dict):
                result["one_time_keys"].update(_theirs(keys, server))
        return result

    def _split(
        self, by_user: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        local: dict[str, Any] = {}
        remote: dict[str, dict[str, Any]] = {}
        for user_id, value in by_user.items():
            domain = UserID.parse(user_id).domain
            if domain == self.server_name:
                local[user_id] = value
            else:
                remote.setdefault(domain, {})[user_id] = value
        return local, remote

    async def _ask_all(
        self,
        by_server: dict[str, dict[str, Any]],
        ask: Callable[[str, Any, int], Awaitable[JsonDict]],
        timeout_ms: int | None,
        failures: JsonDict,
    ) -> dict[str, JsonDict]:
        """Ask every server at once; record each one that fails."""
        timeout = min(timeout_ms or DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS)
        answers: dict[str, JsonDict] = {}

        async def one(server: str, users: Any) -> None:
            try:
                answer = await ask(server, users, timeout)
            except RemoteKeysUnavailable as exc:
                logger.info("keys from %s failed: %s", server, exc)
                failures[server] = {"status": 503, "message": str(exc)}
                return
            if not isinstance(answer, dict):
                failures[server] = {"status": 502, "message": "Bad answer"}
                return
            answers[server] = answer

        await defer.gatherResults(
            [
                defer.Deferred.fromCoroutine(one(server, users))
                for server, users in sorted(by_server.items())
            ],
            consumeErrors=True,
        )
        return answers


def _theirs(by_user: JsonDict, server: str) -> JsonDict:
    """The entries of ``by_user`` that are ``server``'s users' (a server
    answers for its own users only)."""
    return {
        user_id: value
        for user_id, value in by_user.items()
        if isinstance(user_id, str)
        and has_domain(user_id, server)
        and isinstance(value, dict)
    }


def _merge_query_answer(result: JsonDict, server: str, answer: JsonDict) -> None:
    for field in ("device_keys", "master_keys", "self_signing_keys"):
        part = answer.get(field)
        if isinstance(part, dict):
            result.setdefault(field, {}).update(_theirs(part, server))
