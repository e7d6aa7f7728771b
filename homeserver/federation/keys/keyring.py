"""Other servers' signing keys: fetched, checked, cached, and used to verify
signed JSON and events.

Spec: server-server-api.md "Retrieving server keys" (GET /_matrix/key/v2/server,
POST /_matrix/key/v2/query through a notary), appendices.md "Signing JSON";
rooms v5+ "Signing key validity period".

A key is looked up in memory, then in the database, then fetched from its
server directly, then from each configured trusted notary. A key answers for
an object signed at ``valid_at_ms`` only while ``valid_at_ms <=
valid_until_ts`` (an old key: its ``expired_ts``); an unusable cached key is
refetched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Hashable, Sequence
from typing import Any, TypeVar

from signedjson.key import decode_verify_key_bytes
from signedjson.sign import SignatureVerifyException
from signedjson.types import VerifyKey
from twisted.internet import defer
from unpaddedbase64 import decode_base64

from homeserver.config.model import TrustedKeyServer
from homeserver.events.model import Event
from homeserver.events.redaction import redact_pdu
from homeserver.events.signing import required_signature_servers, verify_json
from homeserver.federation.errors import FederationError
from homeserver.federation.interfaces import FederationTransport
from homeserver.federation.keys.local_keys import LocalKeys
from homeserver.storage.stores.server_keys import (
    ServerKeyStore,
    StoredKey,
    StoredResponse,
)
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.deadlines import Deadlines
from homeserver.util.json_values import find_bad_value

logger = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)

# Spec ("Publishing Keys", valid_until_ts): use the lesser of valid_until_ts
# and 7 days into the future.
MAX_KEY_VALIDITY_MS = 7 * 24 * 60 * 60 * 1000
KEY_SERVER_PATH = "/_matrix/key/v2/server"
KEY_QUERY_PATH = "/_matrix/key/v2/query"
MAX_KEY_IDS = 4
DEFAULT_FETCH_TIMEOUT_MS = 10_000
DEFAULT_REFETCH_INTERVAL_MS = 30_000


class KeyResponseError(ValueError):
    """A key response is malformed or not signed as it must be."""


def decode_key(key_id: str, key_b64: Any) -> VerifyKey:
    """A verify key from its ID and unpadded base64.

    Raises:
        KeyResponseError: not an ed25519 key, or not valid base64.
    """
    if not isinstance(key_b64, str) or not key_id.startswith("ed25519:"):
        raise KeyResponseError(f"unsupported or malformed key {key_id}")
    try:
        return decode_verify_key_bytes(key_id, decode_base64(key_b64))
    except Exception:  # binascii.Error, nacl ValueError
        raise KeyResponseError(f"malformed key {key_id}") from None


def parse_key_response(
    response: Any, server_name: str, now_ms: int
) -> tuple[StoredResponse, list[StoredKey]]:
    """Check a server's key response and extract its keys.

    The response must name ``server_name`` and carry a valid signature by every
    ed25519 key in its ``verify_keys``.

    Raises:
        KeyResponseError: it does not.
    """
    if not isinstance(response, dict) or response.get("server_name") != server_name:
        raise KeyResponseError(f"key response is not for {server_name}")
    problem = find_bad_value(response, nul_only=True)
    if problem is not None:
        # Key IDs go into text columns, which cannot hold a NUL on PostgreSQL.
        raise KeyResponseError(f"key response: {problem}")
    valid_until = response.get("valid_until_ts")
    verify_keys = response.get("verify_keys")
    old_keys = response.get("old_verify_keys") or {}
    if not isinstance(valid_until, int) or isinstance(valid_until, bool):
        raise KeyResponseError("valid_until_ts is missing or not an integer")
    if not isinstance(verify_keys, dict) or not isinstance(old_keys, dict):
        raise KeyResponseError("verify_keys or old_verify_keys is not an object")
    valid_until = min(valid_until, now_ms + MAX_KEY_VALIDITY_MS)
    keys: list[StoredKey] = []
    for key_id, entry in verify_keys.items():
        if not key_id.startswith("ed25519:"):
            continue
        key = decode_key(key_id, entry.get("key") if isinstance(entry, dict) else None)
        if not verify_json(response, server_name, key):
            raise KeyResponseError(f"response is not signed by its key {key_id}")
        keys.append(
            StoredKey(server_name, key_id, entry["key"], valid_until, False, now_ms)
        )
    if not keys:
        raise KeyResponseError("response has no ed25519 verify key")
    current = {key.key_id for key in keys}
    for key_id, entry in old_keys.items():
        if not key_id.startswith("ed25519:") or key_id in current:
            continue
        expired = entry.get("expired_ts") if isinstance(entry, dict) else None
        if not isinstance(expired, int) or isinstance(expired, bool):
            raise KeyResponseError(f"old key {key_id} has no expired_ts")
        decode_key(key_id, entry.get("key"))
        keys.append(StoredKey(server_name, key_id, entry["key"], expired, True, now_ms))
    return StoredResponse(server_name, response, valid_until, now_ms), keys


class KeyRing:
    """Finds other servers' verify keys and checks signatures with them.

    Args:
        local: our own keys (never fetched).
        transport: outbound federation requests.
        store: the key tables.
        clock: the time source.
        trusted_key_servers: notaries to fall back to.
    """

    def __init__(
        self,
        local: LocalKeys,
        transport: FederationTransport,
        store: ServerKeyStore,
        clock: Clock,
        trusted_key_servers: Sequence[TrustedKeyServer] = (),
        *,
        fetch_timeout_ms: int = DEFAULT_FETCH_TIMEOUT_MS,
        refetch_interval_ms: int = DEFAULT_REFETCH_INTERVAL_MS,
    ) -> None:
        self.local = local
        self.transport = transport
        self.store = store
        self.clock = clock
        self.trusted_key_servers = list(trusted_key_servers)
        self.fetch_timeout_ms = fetch_timeout_ms
        self.refetch_interval_ms = refetch_interval_ms
        self._cache: dict[tuple[str, str], StoredKey] = {}
        # In-flight work, shared by every caller that wants the same thing.
        self._fetching: dict[str, defer.Deferred[list[BaseException]]] = {}
        self._looking_up: dict[
            tuple[str, str], defer.Deferred[list[BaseException]]
        ] = {}
        # When a server may be asked for its keys again, and when a key found
        # nowhere may be looked for again (ms).
        self._next_fetch: Deadlines[str] = Deadlines()
        self._next_lookup: Deadlines[tuple[str, str]] = Deadlines()

    # -- verification --------------------------------------------------------
    async def verify_json_for_server(
        self, server_name: str, json_object: JsonDict, valid_at_ms: int | None
    ) -> None:
        """Check that ``server_name`` signed ``json_object`` with a key valid at
        ``valid_at_ms`` (``None``: any key it ever published).

        Raises:
            SignatureVerifyException: not signed by it, a bad signature, or no key
                for the signature could be found.
        """
        signatures = json_object.get("signatures")
        ours = signatures.get(server_name) if isinstance(signatures, dict) else None
        # A few key IDs at most: each unknown one may cost a fetch.
        key_ids = [k for k in ours or {} if k.startswith("ed25519:")][:MAX_KEY_IDS]
        if not key_ids:
            raise SignatureVerifyException(f"not signed by {server_name}")
        for key_id in key_ids:
            key = await self.get_verify_key(
                server_name, key_id, valid_at_ms, allow_old=True
            )
            if key is None:
                continue
            if verify_json(json_object, server_name, key):
                return
            raise SignatureVerifyException(f"bad signature by {server_name} {key_id}")
        raise SignatureVerifyException(
            f"no usable key of {server_name} for {', '.join(key_ids)}"
        )

    async def verify_event(self, event: Event) -> None:
        """Check every signature an inbound event must carry (the sender's
        server and the others ``required_signature_servers`` names), over the
        redacted event. Rooms v5+ need keys valid at its origin_server_ts.

        Raises:
            SignatureVerifyException: a required signature is missing or bad.
        """
        version = event.room_version
        try:
            servers = required_signature_servers(event.pdu, version)
        except ValueError as exc:
            raise SignatureVerifyException(str(exc)) from None
        redacted = redact_pdu(event.pdu, version)
        valid_at = event.origin_server_ts if version.enforce_key_validity else None
        for server_name in sorted(servers):
            await self.verify_json_for_server(server_name, redacted, valid_at)

    # -- key lookup ----------------------------------------------------------
    async def get_verify_key(
        self,
        server_name: str,
        key_id: str,
        valid_at_ms: int | None,
        *,
        allow_old: bool = False,
    ) -> VerifyKey | None:
        """``server_name``'s key ``key_id`` if it is valid at ``valid_at_ms``,
        fetching it when we have no usable copy; None when it can't be found.

        Args:
            allow_old: accept keys from ``old_verify_keys`` (events may be
                signed by them, requests may not).
        """
        if server_name == self.local.server_name:
            if not allow_old and key_id != self.local.key_id:
                return None
            return self.local.key_for(key_id, valid_at_ms)
        key = await self._known_key(server_name, key_id)
        if _usable(key, valid_at_ms, allow_old):
            return _decoded(key)
        now = self.clock.time_msec()
        if not self._next_lookup.passed((server_name, key_id), now):
            logger.debug("Not looking for key %s of %s again yet", key_id, server_name)
            return None
        await _shared(
            self._looking_up,
            (server_name, key_id),
            lambda: self._look_up(server_name, key_id, valid_at_ms, allow_old),
        )
        key = await self._known_key(server_name, key_id)
        if _usable(key, valid_at_ms, allow_old):
            return _decoded(key)
        return None

    async def _look_up(
        self, server_name: str, key_id: str, valid_at_ms: int | None, allow_old: bool
    ) -> None:
        """Fetch ``key_id`` of ``server_name`` from it, else from the notaries;
        when neither has a usable copy, don't look for it again for
        ``refetch_interval_ms``."""
        await self.fetch_direct(server_name)
        key = await self._known_key(server_name, key_id)
        if _usable(key, valid_at_ms, allow_old):
            return
        for notary in self.trusted_key_servers:
            if notary.server_name in (server_name, self.local.server_name):
                continue
            await self._fetch_via_notary(notary, server_name, key_id, valid_at_ms)
            key = await self._known_key(server_name, key_id)
            if _usable(key, valid_at_ms, allow_old):
                return
        logger.warning(
            "No usable key %s of %s (valid at %s); not looking again for %d s",
            key_id,
            server_name,
            valid_at_ms,
            self.refetch_interval_ms // 1000,
        )
        self._next_lookup.set(
            (server_name, key_id),
            self.clock.time_msec() + self.refetch_interval_ms,
            self.clock.time_msec(),
        )

    async def _known_key(self, server_name: str, key_id: str) -> StoredKey | None:
        key = self._cache.get((server_name, key_id))
        if key is None:
            key = await self.store.get_key(server_name, key_id)
            if key is not None:
                self._cache[(server_name, key_id)] = key
        return key

    async def fetch_direct(self, server_name: str) -> None:
        """Fetch and store ``server_name``'s keys from it; failures are logged,
        not raised.

        Concurrent callers share one request, and a server asked less than
        ``refetch_interval_ms`` ago (answered or not) is not asked again.
        """
        now = self.clock.time_msec()
        if server_name not in self._fetching and not self._next_fetch.passed(
            server_name, now
        ):
            logger.debug("Asked %s for its keys recently: not again yet", server_name)
            return
        await _shared(
            self._fetching, server_name, lambda: self._fetch_direct(server_name)
        )

    async def _fetch_direct(self, server_name: str) -> None:
        now = self.clock.time_msec()
        self._next_fetch.set(server_name, now + self.refetch_interval_ms, now)
        try:
            response = await self.transport.get_json(
                server_name,
                KEY_SERVER_PATH,
                signed=False,
                timeout_ms=self.fetch_timeout_ms,
            )
            await self._store(response, server_name)
        except (FederationError, KeyResponseError) as exc:
            logger.warning("Fetching the keys of %s failed: %s", server_name, exc)
        except Exception:  # our bug: log it, never fail the waiters differently
            logger.exception("Fetching the keys of %s failed", server_name)
        else:
            logger.info("Fetched the keys of %s", server_name)

    async def _fetch_via_notary(
        self,
        notary: TrustedKeyServer,
        server_name: str,
        key_id: str,
        valid_at_ms: int | None,
    ) -> None:
        minimum = valid_at_ms if valid_at_ms is not None else self.clock.time_msec()
        body = {
            "server_keys": {server_name: {key_id: {"minimum_valid_until_ts": minimum}}}
        }
        try:
            answer = await self.transport.post_json(
                notary.server_name,
                KEY_QUERY_PATH,
                body,
                timeout_ms=self.fetch_timeout_ms,
            )
            responses = answer.get("server_keys") if isinstance(answer, dict) else None
            if not isinstance(responses, list):
                raise KeyResponseError("notary answer has no server_keys list")
            for response in responses:
                if not isinstance(response, dict):
                    continue
                if response.get("server_name") != server_name:
                    continue
                await self._check_notary_signature(notary, response)
                await self._store(response, server_name)
        except (FederationError, KeyResponseError, SignatureVerifyException) as exc:
            logger.warning(
                "Fetching the keys of %s from notary %s failed: %s",
                server_name,
                notary.server_name,
                exc,
            )
        else:
            logger.info(
                "Fetched the keys of %s from notary %s", server_name, notary.server_name
            )

    async def _check_notary_signature(
        self, notary: TrustedKeyServer, response: JsonDict
    ) -> None:
        """The notary must have signed the response with one of its configured
        keys, or (none configured) with a key fetched from the notary itself."""
        name = notary.server_name
        if notary.verify_keys:
            for key_id, key_b64 in notary.verify_keys.items():
                if verify_json(response, name, decode_key(key_id, key_b64)):
                    return
            raise KeyResponseError(f"response not signed by notary {name}")
        now = self.clock.time_msec()
        await self.verify_json_for_server(name, response, now)

    async def _store(self, response: Any, server_name: str) -> None:
        stored, keys = parse_key_response(response, server_name, self.clock.time_msec())
        await self.store.store_response(stored, keys)
        for key in keys:
            self._cache[(server_name, key.key_id)] = key


def _usable(key: StoredKey | None, valid_at_ms: int | None, allow_old: bool) -> bool:
    if key is None or (key.is_old and not allow_old):
        return False
    return valid_at_ms is None or valid_at_ms <= key.valid_until_ts


def _decoded(key: StoredKey | None) -> VerifyKey | None:
    return None if key is None else decode_key(key.key_id, key.verify_key)


async def _shared(
    pending: dict[K, defer.Deferred[list[BaseException]]],
    key: K,
    work: Callable[[], Coroutine[Any, Any, None]],
) -> None:
    """Run ``work()`` unless a run for ``key`` is already under way; either
    way, wait for that run (and raise what it raised). The run does not
    depend on any one waiter: a caller that gives up leaves it running for
    the others."""
    running = pending.get(key)
    if running is None:

        async def guarded() -> list[BaseException]:
            try:
                await work()
            except Exception as exc:  # handed to every waiter below
                return [exc]
            finally:
                pending.pop(key, None)
            return []

        running = defer.Deferred.fromCoroutine(guarded())
        if not running.called:
            pending[key] = running
    waiter: defer.Deferred[None] = defer.Deferred()

    def wake(errors: list[BaseException]) -> list[BaseException]:
        if errors:
            waiter.errback(errors[0])
        else:
            waiter.callback(None)
        return errors

    running.addCallback(wake)
    await waiter
