"""This server's own signing keys, as published to other servers.

Spec: server-server-api.md "Publishing Keys": ``verify_keys`` may sign requests
and events; ``old_verify_keys`` (``federation.old_signing_keys``) only keep
events signed before a key rotation verifiable.
"""

from __future__ import annotations

from collections.abc import Mapping

from signedjson.key import (
    decode_verify_key_bytes,
    encode_verify_key_base64,
    get_verify_key,
)
from signedjson.types import SigningKey, VerifyKey
from unpaddedbase64 import decode_base64

from homeserver.config.model import OldSigningKey
from homeserver.events.signing import key_id_of, sign_json
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

# How long other servers may cache our key response.
KEY_VALIDITY_MS = 24 * 60 * 60 * 1000


class LocalKeys:
    """Our signing key and the old keys we still vouch for.

    Args:
        server_name: this server's name.
        signing_key: the key we sign with now.
        old_keys: retired keys (key ID -> public key and when it expired).
        clock: the time source.

    Raises:
        ValueError: an old key is not valid unpadded base64 ed25519.
    """

    def __init__(
        self,
        server_name: str,
        signing_key: SigningKey,
        old_keys: Mapping[str, OldSigningKey],
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.signing_key = signing_key
        self.key_id = key_id_of(signing_key)
        self.verify_key = get_verify_key(signing_key)
        self.clock = clock
        self.old_keys: dict[str, tuple[VerifyKey, int]] = {}
        for key_id, old in old_keys.items():
            if key_id == self.key_id:
                continue
            decoded = decode_verify_key_bytes(key_id, decode_base64(old.key))
            self.old_keys[key_id] = (decoded, old.expired_ts)

    def key_for(self, key_id: str, valid_at_ms: int | None) -> VerifyKey | None:
        """Our public key ``key_id`` if it was valid at ``valid_at_ms``
        (``None``: at any time)."""
        if key_id == self.key_id:
            return self.verify_key
        old = self.old_keys.get(key_id)
        if old is None:
            return None
        key, expired_ts = old
        if valid_at_ms is not None and valid_at_ms > expired_ts:
            return None
        return key

    def key_response(self) -> JsonDict:
        """The signed body of GET /_matrix/key/v2/server."""
        body: JsonDict = {
            "server_name": self.server_name,
            "valid_until_ts": self.clock.time_msec() + KEY_VALIDITY_MS,
            "verify_keys": {
                self.key_id: {"key": encode_verify_key_base64(self.verify_key)}
            },
            "old_verify_keys": {
                key_id: {
                    "key": encode_verify_key_base64(key),
                    "expired_ts": expired_ts,
                }
                for key_id, (key, expired_ts) in self.old_keys.items()
            },
        }
        return sign_json(body, self.server_name, self.signing_key)

    def countersign(self, response: JsonDict) -> JsonDict:
        """A copy of another server's key response with our signature added (as
        a notary)."""
        signatures = response.get("signatures")
        copy = dict(response)
        copy["signatures"] = (
            {k: dict(v) for k, v in signatures.items() if isinstance(v, dict)}
            if isinstance(signatures, dict)
            else {}
        )
        return sign_json(copy, self.server_name, self.signing_key)
