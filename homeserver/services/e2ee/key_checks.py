"""Checks of uploaded public keys: shapes, and ed25519 signatures.

Spec: client-server API, "End-to-End Encryption" ("Device keys", "Key
algorithms", "Cross-signing"). Pure functions over JSON: every check raises a
400 Matrix error naming what is wrong.
"""

from __future__ import annotations

from typing import Any

from signedjson.key import decode_verify_key_bytes
from signedjson.sign import SignatureVerifyException, verify_signed_json
from unpaddedbase64 import decode_base64

from homeserver.errors import Codes, MatrixError
from homeserver.types import JsonDict

CROSS_SIGNING_USAGES = ("master", "self_signing", "user_signing")
MAX_KEY_ID = 255


def bad(msg: str) -> MatrixError:
    """The 400 every malformed key gets."""
    return MatrixError(400, msg, Codes.INVALID_PARAM)


def split_key_id(key_id: Any, what: str) -> tuple[str, str]:
    """``algorithm:id`` into its parts."""
    if not isinstance(key_id, str) or len(key_id) > MAX_KEY_ID:
        raise bad(f"{what}: bad key ID")
    algorithm, sep, ident = key_id.partition(":")
    if not sep or not algorithm or not ident:
        raise bad(f"{what}: key ID {key_id!r} is not algorithm:id")
    return algorithm, ident


def signature_valid(obj: JsonDict, user_id: str, key_id: str, public_key: str) -> bool:
    """Whether ``obj`` carries a valid signature by ``user_id`` with the
    ed25519 key ``key_id`` whose public part is ``public_key`` (base64)."""
    sig = obj.get("signatures", {}).get(user_id, {}).get(key_id)
    if not isinstance(sig, str) or not key_id.startswith("ed25519:"):
        return False
    try:
        verify_key = decode_verify_key_bytes(key_id, decode_base64(public_key))
        verify_signed_json(obj, user_id, verify_key)
    except (SignatureVerifyException, ValueError, TypeError, KeyError):
        return False
    return True


def check_device_keys(keys: Any, user_id: str, device_id: str) -> JsonDict:
    """A device_keys object of ``user_id``'s ``device_id``, self-signed."""
    if not isinstance(keys, dict):
        raise bad("device_keys must be an object")
    if keys.get("user_id") != user_id or keys.get("device_id") != device_id:
        raise bad("device_keys: user_id and device_id must be the uploader's")
    algorithms = keys.get("algorithms")
    if not isinstance(algorithms, list) or not all(
        isinstance(a, str) for a in algorithms
    ):
        raise bad("device_keys: algorithms must be a list of strings")
    key_map = keys.get("keys")
    if not isinstance(key_map, dict) or not key_map:
        raise bad("device_keys: keys must be a non-empty object")
    for key_id, value in key_map.items():
        split_key_id(key_id, "device_keys")
        if not isinstance(value, str):
            raise bad(f"device_keys: key {key_id} must be a string")
    signing_id = f"ed25519:{device_id}"
    if signing_id not in key_map:
        raise bad(f"device_keys: no {signing_id} key")
    _check_signatures_shape(keys, "device_keys")
    if not signature_valid(keys, user_id, signing_id, key_map[signing_id]):
        raise bad("device_keys: not signed by the device's own ed25519 key")
    return keys


def check_one_time_key(key_id: Any, key: Any, what: str) -> tuple[str, str]:
    """A one-time or fallback key: ``algorithm:id`` to a string (unsigned
    curve25519) or an object (signed_curve25519 and other algorithms)."""
    algorithm, ident = split_key_id(key_id, what)
    if algorithm == "signed_curve25519" or isinstance(key, dict):
        if not isinstance(key, dict) or not isinstance(key.get("key"), str):
            raise bad(f"{what}: {key_id} must be an object with a string key")
        _check_signatures_shape(key, what)
    elif not isinstance(key, str):
        raise bad(f"{what}: {key_id} must be a string or an object")
    return algorithm, ident


def check_cross_signing_key(key: Any, user_id: str, usage: str) -> str:
    """A cross-signing key for ``usage``; returns its public key (base64)."""
    if not isinstance(key, dict):
        raise bad(f"{usage} key must be an object")
    if key.get("user_id") != user_id:
        raise bad(f"{usage} key: user_id must be {user_id}")
    usages = key.get("usage")
    if not isinstance(usages, list) or usage not in usages:
        raise bad(f"{usage} key: usage must include {usage!r}")
    key_map = key.get("keys")
    if not isinstance(key_map, dict) or len(key_map) != 1:
        raise bad(f"{usage} key: keys must hold exactly one key")
    ((key_id, public),) = key_map.items()
    algorithm, ident = split_key_id(key_id, f"{usage} key")
    if algorithm != "ed25519" or not isinstance(public, str) or ident != public:
        raise bad(f"{usage} key: must be ed25519:<public key> to the public key")
    try:
        decode_verify_key_bytes(key_id, decode_base64(public))
    except (ValueError, TypeError):
        raise bad(f"{usage} key: not an ed25519 public key") from None
    _check_signatures_shape(key, f"{usage} key")
    return public


def _check_signatures_shape(obj: JsonDict, what: str) -> None:
    signatures = obj.get("signatures", {})
    if not isinstance(signatures, dict) or not all(
        isinstance(by, dict) and all(isinstance(s, str) for s in by.values())
        for by in signatures.values()
    ):
        raise bad(f"{what}: signatures must map user IDs to key IDs to strings")
