"""Answering key queries for other servers' keys, as a notary.

Spec: server-server-api.md "Querying Keys Through Another Server". The cache
holds, for each key, the latest verified response that listed it, so a later
response leaving a key out never makes us forget it. Answers come from there
when the keys asked for are held and valid long enough; otherwise the server
is asked directly (never another notary), and what we hold is returned even
if it is stale (an expired key when nothing newer can be had, as Synapse), or
the server is left out. Every response we return carries our signature too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from homeserver.events.canonical_json import encode_canonical_json
from homeserver.federation.keys.keyring import KeyRing
from homeserver.federation.keys.local_keys import LocalKeys
from homeserver.storage.stores.server_keys import ServerKeyStore
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)


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
            results.extend(
                await self.query_server(
                    server_name, list(keys), max(given) if given else None
                )
            )
        return results

    async def query_server(
        self, server_name: str, key_ids: list[str], minimum_ms: int | None
    ) -> list[JsonDict]:
        """One server's key responses, countersigned: for each key asked for
        (every key we know of it when none is named), the latest response
        that listed it; empty if we have none.

        Args:
            key_ids: keys the answer should include (empty: any).
            minimum_ms: the answer should be valid until then (None: now).
        """
        if server_name == self.local.server_name:
            return [self.local.key_response()]
        if minimum_ms is None:
            minimum_ms = self.local.clock.time_msec()
        held = await self.store.get_responses(server_name, key_ids)
        missing = [k for k in key_ids if k not in held]
        stale = [k for k, r in held.items() if r.valid_until_ts < minimum_ms]
        if missing or stale or not held:
            # Asked directly, never through another notary; a failure (or an
            # answer that leaves a key out) keeps what we hold, so an expired
            # key is still returned when nothing newer can be had.
            await self.keyring.fetch_direct(server_name)
            held = await self.store.get_responses(server_name, key_ids)
        if not held:
            logger.info("Notary: no keys of %s to return", server_name)
        distinct = {
            encode_canonical_json(r.response): r.response for r in held.values()
        }
        return [self.local.countersign(response) for response in distinct.values()]
