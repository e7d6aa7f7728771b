"""Server keys across the two servers: each fetches and checks the other's."""

from __future__ import annotations

import time

from signedjson.key import decode_verify_key_bytes
from signedjson.sign import verify_signed_json
from unpaddedbase64 import decode_base64

from tests.interop.chatly import Chatly
from tests.interop.client import JsonDict, quote, request
from tests.interop.synapse import Synapse


def _verify_self_signature(keys: JsonDict, server_name: str, own: JsonDict) -> None:
    """``keys`` carry a valid signature of ``server_name`` by a key in ``own``."""
    assert keys["verify_keys"] == own["verify_keys"]
    for key_id, key in own["verify_keys"].items():
        verify_key = decode_verify_key_bytes(key_id, decode_base64(key["key"]))
        verify_signed_json(keys, server_name, verify_key)


def test_synapse_notary_fetches_our_keys_over_tls(
    synapse: Synapse, chatly: Chatly
) -> None:
    """Synapse reaches our TLS federation listener by the IP-literal server name
    (no .well-known or SRV), accepts our self-signed certificate, checks our
    signature and serves our keys, counter-signed, from its notary endpoint."""
    ours = request("GET", f"{chatly.federation_url}/_matrix/key/v2/server")
    [key_id] = ours["verify_keys"]
    # Asking for a key it does not have makes Synapse fetch it from us.
    answer = request(
        "POST",
        f"{synapse.federation_url}/_matrix/key/v2/query",
        {
            "server_keys": {
                chatly.server_name: {
                    key_id: {"minimum_valid_until_ts": int(time.time() * 1000)}
                }
            }
        },
    )
    [keys] = answer["server_keys"]
    assert keys["server_name"] == chatly.server_name
    _verify_self_signature(keys, chatly.server_name, ours)
    assert keys["valid_until_ts"] > time.time() * 1000
    assert set(keys["signatures"]) == {chatly.server_name, synapse.server_name}

    # The single-server form now answers from Synapse's cache.
    cached = request(
        "GET",
        f"{synapse.federation_url}/_matrix/key/v2/query/{quote(chatly.server_name)}",
    )
    assert [k["verify_keys"] for k in cached["server_keys"]] == [ours["verify_keys"]]


def test_federation_version_over_tls(synapse: Synapse, chatly: Chatly) -> None:
    ours = request("GET", f"{chatly.federation_url}/_matrix/federation/v1/version")
    assert ours["server"]["name"] == "Chatly"
    theirs = request("GET", f"{synapse.federation_url}/_matrix/federation/v1/version")
    assert theirs["server"]["name"] == "Synapse"


def test_our_notary_fetches_synapse_keys_over_tls(
    synapse: Synapse, chatly: Chatly
) -> None:
    """Our outbound client reaches Synapse by its IP-literal server name over
    TLS; our key ring checks Synapse's self-signature and our notary serves the
    keys counter-signed."""
    theirs = request("GET", f"{synapse.federation_url}/_matrix/key/v2/server")
    name = quote(synapse.server_name)
    answer = request("GET", f"{chatly.federation_url}/_matrix/key/v2/query/{name}")
    [keys] = answer["server_keys"]
    assert keys["server_name"] == synapse.server_name
    _verify_self_signature(keys, synapse.server_name, theirs)
    assert set(keys["signatures"]) == {synapse.server_name, chatly.server_name}
    batch = request(
        "POST",
        f"{chatly.federation_url}/_matrix/key/v2/query",
        {"server_keys": {synapse.server_name: {}}},
    )
    assert [k["verify_keys"] for k in batch["server_keys"]] == [theirs["verify_keys"]]


def test_our_notary_serves_one_synapse_key_by_id(
    synapse: Synapse, chatly: Chatly
) -> None:
    """The deprecated ``GET /_matrix/key/v2/query/{serverName}/{keyId}``
    (still in the spec): Synapse's response listing that key, counter-signed;
    a key Synapse never had gets no response made up for it."""
    theirs = request("GET", f"{synapse.federation_url}/_matrix/key/v2/server")
    [key_id] = theirs["verify_keys"]
    name = quote(synapse.server_name)
    answer = request(
        "GET",
        f"{chatly.federation_url}/_matrix/key/v2/query/{name}/{quote(key_id)}",
    )
    [keys] = answer["server_keys"]
    assert keys["verify_keys"] == theirs["verify_keys"]
    _verify_self_signature(keys, synapse.server_name, theirs)
    assert set(keys["signatures"]) == {synapse.server_name, chatly.server_name}
    unknown = request(
        "GET",
        f"{chatly.federation_url}/_matrix/key/v2/query/{name}/ed25519%3Anever",
    )
    assert all("ed25519:never" not in k["verify_keys"] for k in unknown["server_keys"])
