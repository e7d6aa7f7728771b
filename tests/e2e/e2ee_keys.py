"""matrix-nio end-to-end encryption, the key side of the kit (``e2ee``):
device keys and their verification (by hand or SAS), one-time and fallback keys
and their claims, and device lists (new devices and logouts).

nio 0.26 does its cryptography with vodozemac (its ``e2e`` extra) and knows
nothing of fallback keys, so ``publish_fallback_key`` makes one on the device's
vodozemac account, signs it with the device key and uploads it over HTTP.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable

import nio
import vodozemac
from nio.crypto import OlmDevice
from signedjson.key import decode_verify_key_bytes
from signedjson.sign import verify_signed_json
from unpaddedbase64 import decode_base64

from tests.e2e.e2ee import (
    MEGOLM,
    OLM,
    SYNC_TIMEOUT,
    Party,
    converse,
    new_party,
    receive_decrypted,
    send_encrypted,
)
from tests.interop.client import Client, JsonDict, log_in_again, quote

SIGNED_CURVE = "signed_curve25519"

_sync_filters = itertools.count()


# --- Device keys and verification --------------------------------------------


def signed_by(obj: JsonDict, party: Party) -> bool:
    """Whether ``obj`` carries a valid signature by ``party``'s device key."""
    key_id = f"ed25519:{party.device_id}"
    verify_key = decode_verify_key_bytes(key_id, decode_base64(party.ed25519))
    verify_signed_json(obj, party.user_id, verify_key)
    return True


async def learn_device(me: Party, other: Party) -> OlmDevice:
    """``me`` fetches ``other``'s device keys, over plain HTTP and through nio;
    they are the keys ``other``'s own account holds (the fingerprint two people
    compare out of band) and are self-signed. nio's record of the device."""
    body = me.http.call(
        "POST", "/keys/query", {"device_keys": {other.user_id: []}}, timeout=60
    )
    assert body.get("failures", {}) == {}, body
    keys = body["device_keys"][other.user_id][other.device_id]
    identity = other.nio.olm.account.identity_keys
    assert keys["user_id"] == other.user_id
    assert keys["device_id"] == other.device_id
    assert keys["keys"] == {
        f"curve25519:{other.device_id}": identity["curve25519"],
        f"ed25519:{other.device_id}": identity["ed25519"],
    }
    assert {OLM, MEGOLM} <= set(keys["algorithms"]), keys
    assert signed_by(keys, other)

    await _nio_query(me, other.user_id)
    device = me.nio.device_store[other.user_id][other.device_id]
    assert (device.ed25519, device.curve25519) == (
        identity["ed25519"],
        identity["curve25519"],
    )
    return device


async def verify_manually(me: Party, other: Party) -> None:
    """``me`` checks ``other``'s device fingerprint against the keys from
    /keys/query and marks the device verified in nio."""
    device = await learn_device(me, other)
    me.nio.verify_device(device)
    assert me.nio.olm.is_device_verified(device)


async def verify_by_sas(a: Party, b: Party) -> list[tuple[str, str]]:
    """Interactive SAS verification (m.key.verification.* to-device messages,
    both ways) from ``a`` to ``b``: both see the same emoji, confirm them, and
    each ends up trusting the other's device. The emoji."""
    device_b = await learn_device(a, b)
    device_a = await learn_device(b, a)
    started = await a.nio.start_key_verification(device_b)
    assert isinstance(started, nio.ToDeviceResponse), started
    start = await b.sync_until(
        lambda: b.received(nio.KeyVerificationStart, a.user_id), "the SAS start"
    )
    txn = start.transaction_id
    accepted = await b.nio.accept_key_verification(txn)
    assert isinstance(accepted, nio.ToDeviceResponse), accepted
    # a gets the accept and sends its key; b answers with its own.
    await a.sync_until(
        lambda: a.received(nio.KeyVerificationAccept, b.user_id), "the SAS accept"
    )
    await b.sync_until(
        lambda: b.received(nio.KeyVerificationKey, a.user_id), "a's SAS key"
    )
    await a.sync_until(
        lambda: a.received(nio.KeyVerificationKey, b.user_id), "b's SAS key"
    )
    sas_a, sas_b = a.nio.key_verifications[txn], b.nio.key_verifications[txn]
    emoji = sas_a.get_emoji()
    assert emoji == sas_b.get_emoji()
    assert sas_a.get_decimals() == sas_b.get_decimals()
    for me in (a, b):
        confirmed = await me.nio.confirm_short_auth_string(txn)
        assert isinstance(confirmed, nio.ToDeviceResponse), confirmed
    await a.sync_until(lambda: sas_a.verified, "b's SAS MAC")
    await b.sync_until(lambda: sas_b.verified, "a's SAS MAC")
    assert a.nio.olm.is_device_verified(device_b)
    assert b.nio.olm.is_device_verified(device_a)
    return emoji


# --- One-time and fallback keys ----------------------------------------------


def _vodozemac_account(party: Party) -> vodozemac.Account:
    # nio 0.26 has no fallback-key API; its OlmAccount wraps the vodozemac
    # Account, which has one (and which nio's inbound sessions use).
    account: vodozemac.Account = party.nio.olm.account._account
    return account


def publish_fallback_key(party: Party) -> tuple[str, JsonDict]:
    """Make a fallback key on ``party``'s account, sign it with the device key
    and upload it (POST /keys/upload ``fallback_keys``); its key ID and object.

    Synced, the device then lists ``signed_curve25519`` among its
    ``device_unused_fallback_key_types``.
    """
    account = _vodozemac_account(party)
    account.generate_fallback_key()
    [(key_id, public)] = account.fallback_key.items()
    key: JsonDict = {"key": public.to_base64(), "fallback": True}
    key["signatures"] = {
        party.user_id: {f"ed25519:{party.device_id}": party.nio.olm.sign_json(key)}
    }
    full_id = f"{SIGNED_CURVE}:{key_id}"
    party.http.call("POST", "/keys/upload", {"fallback_keys": {full_id: key}})
    account.mark_keys_as_published()
    party.nio.olm.save_account()
    assert unused_fallback_key_types(party) == [SIGNED_CURVE]
    return full_id, key


def unused_fallback_key_types(party: Party) -> list[str]:
    """``device_unused_fallback_key_types`` of ``party``'s device, from an
    initial /sync over HTTP that returns no rooms (it leaves nio's position and
    the device's to-device messages alone)."""
    # Synapse answers a repeated identical /sync from a cache for minutes; an
    # account-data type no one uses makes each request a new one.
    nothing = {"types": [f"test.nothing.{next(_sync_filters)}"]}
    empty = {"room": {"rooms": []}, "presence": nothing, "account_data": nothing}
    query = f"timeout=0&filter={quote(json.dumps(empty))}"
    body = party.http.call("GET", f"/sync?{query}")
    assert "device_unused_fallback_key_types" in body, sorted(body)
    return sorted(body["device_unused_fallback_key_types"])


def one_time_key_count(party: Party) -> int:
    """The device's unclaimed signed_curve25519 keys (POST /keys/upload {})."""
    counts = party.http.call("POST", "/keys/upload", {})["one_time_key_counts"]
    return int(counts.get(SIGNED_CURVE, 0))


def claim_one(claimer: Client, party: Party) -> tuple[str, JsonDict]:
    """POST /keys/claim for one key of ``party``'s device; its ID and object."""
    body = claimer.call(
        "POST",
        "/keys/claim",
        {"one_time_keys": {party.user_id: {party.device_id: SIGNED_CURVE}}},
        timeout=60,
    )
    assert body.get("failures", {}) == {}, body
    [(key_id, key)] = body["one_time_keys"][party.user_id][party.device_id].items()
    return key_id, key


def exhaust_one_time_keys(
    claimer: Client, party: Party, fallback: tuple[str, JsonDict]
) -> None:
    """``claimer`` claims every one-time key of ``party``'s device over HTTP:
    each comes once, signed by the device and not flagged as a fallback; then
    the claim answers with the uploaded fallback key, unchanged, and keeps
    answering with it (a fallback key is reused until replaced)."""
    claimed: set[str] = set()
    for _ in range(party.one_time_keys_uploaded):
        key_id, key = claim_one(claimer, party)
        assert key_id.startswith(f"{SIGNED_CURVE}:"), key_id
        assert "fallback" not in key, (key_id, key)
        assert key_id not in claimed, f"{key_id} was handed out twice"
        assert signed_by(key, party)
        claimed.add(key_id)
    assert one_time_key_count(party) == 0
    # vodozemac numbers fallback keys apart from one-time keys, so this one's ID
    # is also that of the first one-time key: the server must tell them apart
    # by how they were uploaded, not by ID.
    assert claim_one(claimer, party) == fallback
    assert claim_one(claimer, party) == fallback
    assert unused_fallback_key_types(party) == []


async def claim_for_session(sender: Party, receiver: Party) -> tuple[str, JsonDict]:
    """``sender``'s nio, with no Olm session to ``receiver``'s device yet, claims
    a key of that device (POST /keys/claim) and builds its Olm session on it;
    the claimed key's ID and object, as nio got them."""
    curve = receiver.nio.olm.account.identity_keys["curve25519"]
    assert sender.nio.olm.session_store.get(curve) is None
    response = await sender.nio.keys_claim({receiver.user_id: [receiver.device_id]})
    assert isinstance(response, nio.KeysClaimResponse), response
    assert response.failures == {}, response.failures
    [(key_id, key)] = response.one_time_keys[receiver.user_id][
        receiver.device_id
    ].items()
    assert sender.nio.olm.session_store.get(curve) is not None, "no Olm session"
    return str(key_id), dict(key)


async def converse_on_fallback_key(
    sender: Party, receiver: Party, claimer: Client, room_id: str, tag: str
) -> tuple[str, JsonDict]:
    """``receiver`` publishes a fallback key and ``claimer`` takes all its
    one-time keys, so ``sender``'s Olm session to ``receiver`` is built on the
    fallback key; over that session the first Megolm key goes out and both
    read each other's messages. The fallback key's ID and object."""
    fallback = publish_fallback_key(receiver)
    exhaust_one_time_keys(claimer, receiver, fallback)
    await receiver.sync(timeout_ms=0)
    assert receiver.synced_key_count == 0
    assert await claim_for_session(sender, receiver) == fallback
    await converse(sender, receiver, room_id, tag)
    return fallback


async def new_device_reads_along(reader: Party, owner: Party, room_id: str) -> None:
    """``owner`` logs in a new device: ``reader`` hears of it (device_lists)
    and trusts it, and the next message ``reader`` sends is readable on both of
    ``owner``'s devices. Then it logs out, and ``reader`` hears of that too.
    (``owner`` trusts its new device as well: nio shares only with trusted
    devices, its user's own included, should ``owner`` send later.)"""
    reader.device_lists_changed.clear()
    async with await new_party(log_in_again(owner.http, "new device")) as fresh:
        await wait_for_device_list(
            reader, owner.user_id, lambda ids: fresh.device_id in ids, "a new device"
        )
        for me, other in ((reader, fresh), (fresh, reader), (owner, fresh)):
            await verify_manually(me, other)
        body = f"for both of {owner.user_id}'s devices"
        event_id = await send_encrypted(reader, room_id, body)
        for device in (fresh, owner):
            await receive_decrypted(device, reader, room_id, event_id, body)

        reader.device_lists_changed.clear()
        fresh.http.call("POST", "/logout", {})
        await wait_for_device_list(
            reader, owner.user_id, lambda ids: fresh.device_id not in ids, "a logout"
        )
        await _nio_query(reader, owner.user_id)
        assert reader.nio.device_store[owner.user_id][fresh.device_id].deleted


async def wait_for_device_list(
    reader: Party, user_id: str, done: Callable[[set[str]], bool], what: str
) -> None:
    """As a client does: each time ``reader``'s /sync lists ``user_id`` in
    device_lists.changed, query that user's devices again (POST /keys/query),
    until ``done(device IDs)``. The first change must come after the caller
    cleared ``reader.device_lists_changed``; a change whose query still shows
    the old list fails the test unless another change follows."""
    deadline = time.monotonic() + SYNC_TIMEOUT
    while True:
        await reader.sync_until(
            lambda: user_id in reader.device_lists_changed,
            f"{user_id} in device_lists.changed after {what}",
            timeout=max(deadline - time.monotonic(), 0.0),
        )
        reader.device_lists_changed.discard(user_id)
        body = reader.http.call(
            "POST", "/keys/query", {"device_keys": {user_id: []}}, timeout=60
        )
        if done(set(body["device_keys"].get(user_id, {}))):
            return


async def _nio_query(me: Party, user_id: str) -> None:
    """nio queries ``user_id``'s device keys (POST /keys/query)."""
    if user_id not in me.nio.olm.users_for_key_query:
        me.nio.olm.add_changed_users({user_id})
    queried = await me.nio.keys_query()
    assert isinstance(queried, nio.KeysQueryResponse), queried
