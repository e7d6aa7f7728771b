"""Real ed25519 keys for the E2EE tests: device keys, one-time and fallback
keys, and cross-signing keys, signed as a client signs them (signedjson)."""

from __future__ import annotations

import copy
from typing import Any

import attrs
from signedjson.key import generate_signing_key, get_verify_key
from signedjson.sign import sign_json
from unpaddedbase64 import encode_base64

from tests.support import User

ALGORITHMS = ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"]


def public(key: Any) -> str:
    """The base64 public part of a signing key."""
    return encode_base64(get_verify_key(key).encode())


def new_key(name: str) -> Any:
    """A fresh ed25519 signing key whose key ID is ``ed25519:<name>``."""
    return generate_signing_key(name)


@attrs.define
class Device:
    """A device's ed25519 key and what it publishes."""

    user_id: str
    device_id: str
    key: Any
    curve: str = attrs.field(factory=lambda: public(new_key("c")))

    @classmethod
    def of(cls, user: User) -> Device:
        assert user.device_id is not None
        return cls(user.user_id, user.device_id, new_key(user.device_id))

    def device_keys(self) -> dict[str, Any]:
        keys = {
            "user_id": self.user_id,
            "device_id": self.device_id,
            "algorithms": ALGORITHMS,
            "keys": {
                f"curve25519:{self.device_id}": self.curve,
                f"ed25519:{self.device_id}": public(self.key),
            },
        }
        return sign_json(keys, self.user_id, self.key)

    def one_time_keys(self, count: int, start: int = 0) -> dict[str, Any]:
        return {
            f"signed_curve25519:AAAA{i}": self.sign({"key": public(new_key("o"))})
            for i in range(start, start + count)
        }

    def fallback_key(self, key_id: str = "FB1") -> dict[str, Any]:
        return {
            f"signed_curve25519:{key_id}": self.sign(
                {"key": public(new_key("f")), "fallback": True}
            )
        }

    def sign(self, obj: dict[str, Any]) -> dict[str, Any]:
        return sign_json(copy.deepcopy(obj), self.user_id, self.key)


@attrs.define
class CrossSigning:
    """A user's master, self-signing and user-signing keys."""

    user_id: str
    master: Any = attrs.field(factory=lambda: new_key("m"))
    self_signing: Any = attrs.field(factory=lambda: new_key("s"))
    user_signing: Any = attrs.field(factory=lambda: new_key("u"))

    def _key(self, key: Any, usage: str, signed_by: Any | None) -> dict[str, Any]:
        pub = public(key)
        obj = {
            "user_id": self.user_id,
            "usage": [usage],
            "keys": {f"ed25519:{pub}": pub},
        }
        if signed_by is not None:
            obj = sign_json(obj, self.user_id, _as_id(signed_by))
        return obj

    def upload_body(self) -> dict[str, Any]:
        return {
            "master_key": self._key(self.master, "master", None),
            "self_signing_key": self._key(
                self.self_signing, "self_signing", self.master
            ),
            "user_signing_key": self._key(
                self.user_signing, "user_signing", self.master
            ),
        }

    def master_key(self) -> dict[str, Any]:
        return self._key(self.master, "master", None)


def _as_id(key: Any) -> Any:
    """The key with its version set to its public key (cross-signing key IDs
    are ``ed25519:<public key>``)."""
    pub = public(key)
    signer = copy.copy(key)
    signer.version = pub
    return signer


def sign_as(obj: dict[str, Any], user_id: str, key: Any) -> dict[str, Any]:
    """``obj`` with a signature by a cross-signing ``key`` of ``user_id``."""
    stripped = {k: v for k, v in obj.items() if k not in ("unsigned",)}
    return sign_json(copy.deepcopy(stripped), user_id, _as_id(key))
