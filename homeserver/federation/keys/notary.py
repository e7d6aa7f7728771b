"""Answering key queries for other servers' keys, as a notary.

Spec: server-server-api.md "Querying Keys Through Another Server". Answers come
from the stored responses when they are valid long enough and name the keys
asked for; otherwise the server is asked directly (never another notary). A
server that can't be reached is answered from the cache, even if stale, or
left out. Every response we return carries our signature too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from homeserver.federation.keys.keyring import KeyRing
from homeserver.federation.keys.local_keys import LocalKeys
from homeserver.storage.stores.server_keys import ServerKeyStore, StoredResponse
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)


def _has_keys(stored: StoredResponse, key_ids: list[str]) -> bool:
    published = set(stored.response.get("verify_keys") or {}) | set(
        stored.response.get("old_verify_keys") or {}
    )
    return all(key_id in published for key_id in key_ids)


class Notary:
    """Serves /_matrix/key/v2/query.

    Args:
        local: our keys (for our own entry and to countersign).
        keyring: fetches keys directly from their servers.
        store: stored key responses.
    """

    def __init__(
        self, local: LocalKeys, keyring: KeyRing, store: ServerKeyStore
    ) -> None:
        self.local = local
        self.keyring = keyring
        self.store = store

    async def query(
        self, criteria: Mapping[str, Mapping[str, int | None]]
    ) -> list[JsonDict]:
        """Key responses for each server in ``criteria`` (server name -> key ID
        -> minimum_valid_until_ts, or None for now); no key IDs means all."""
        results: list[JsonDict] = []
        for server_name, keys in criteria.items():
            given = [ts for ts in keys.values() if ts is not None]
            response = await self.query_server(
                server_name, list(keys), max(given) if given else None
            )
            if response is not None:
                results.append(response)
        return results

    async def query_server(
        self, server_name: str, key_ids: list[str], minimum_ms: int | None
    ) -> JsonDict | None:
        """One server's key response, countersigned; None if we have none.

        Args:
            key_ids: keys the answer should include (empty: any).
            minimum_ms: the answer should be valid until then (None: now).
        """
        if minimum_ms is None:
            minimum_ms = self.local.clock.time_msec()
        return await self._response_for(server_name, key_ids, minimum_ms)

    async def _response_for(
        self, server_name: str, key_ids: list[str], minimum_ms: int
    ) -> JsonDict | None:
        if server_name == self.local.server_name:
            return self.local.key_response()
        stored = await self.store.get_response(server_name)
        if (
            stored is None
            or stored.valid_until_ts < minimum_ms
            or not _has_keys(stored, key_ids)
        ):
            await self.keyring.fetch_direct(server_name)
            stored = await self.store.get_response(server_name) or stored
        if stored is None:
            logger.info("Notary: no keys of %s to return", server_name)
            return None
        return self.local.countersign(stored.response)
