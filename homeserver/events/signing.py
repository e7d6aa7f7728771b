"""Signing JSON objects and events, and checking those signatures.

Spec: appendices.md "Signing JSON", "Signing Details", "Checking for a
Signature"; server-server-api.md "Adding hashes and signatures to outgoing
events" and "Validating hashes and signatures on received events".

Keys are ``signedjson`` key objects (ed25519 via PyNaCl), as produced by
``signedjson.key.decode_signing_key_base64`` / ``get_verify_key``. Fetching and
trusting keys is the business of ``homeserver.federation.keys``; this module only
does the arithmetic.
"""

from __future__ import annotations

from signedjson.types import SigningKey, VerifyKey
from unpaddedbase64 import decode_base64, encode_base64

from homeserver.events.canonical_json import encode_canonical_json
from homeserver.events.ids import domain_of
from homeserver.events.model import EventTypes, Membership
from homeserver.events.redaction import redact_pdu
from homeserver.events.room_versions import EventIdFormat, RoomVersion
from homeserver.types import JsonDict


def key_id_of(key: SigningKey | VerifyKey) -> str:
    """The key's identifier, ``<algorithm>:<version>`` (e.g. ``ed25519:a_AbCd``)."""
    return f"{key.alg}:{key.version}"


def sign_json(obj: JsonDict, server_name: str, signing_key: SigningKey) -> JsonDict:
    """Sign a JSON object in place, adding ``signatures[server_name][key_id]``.

    ``signatures`` and ``unsigned`` are not covered; other signatures already
    present are kept.

    Args:
        obj: the object to sign; modified in place.
        server_name: the signing entity.
        signing_key: its key.

    Returns:
        ``obj``, for convenience.
    """
    signatures = obj.pop("signatures", {})
    unsigned = obj.pop("unsigned", None)
    try:
        signed = signing_key.sign(encode_canonical_json(obj))
    finally:
        # Malformed (non-object) entries can't hold our signature: replace them.
        if not isinstance(signatures, dict):
            signatures = {}
        obj["signatures"] = signatures
        if unsigned is not None:
            obj["unsigned"] = unsigned
    server_signatures = signatures.get(server_name)
    if not isinstance(server_signatures, dict):
        server_signatures = signatures[server_name] = {}
    server_signatures[key_id_of(signing_key)] = encode_base64(signed.signature)
    return obj


def verify_json(obj: JsonDict, server_name: str, verify_key: VerifyKey) -> bool:
    """Whether ``obj`` carries a valid signature by ``server_name`` with this key.

    Only the signature under this key's ID is checked; any malformation (no
    signatures, bad base64, unencodable JSON) is a failure, never an exception.
    """
    signatures = obj.get("signatures")
    if not isinstance(signatures, dict):
        return False
    server_signatures = signatures.get(server_name)
    if not isinstance(server_signatures, dict):
        return False
    signature_b64 = server_signatures.get(key_id_of(verify_key))
    if not isinstance(signature_b64, str):
        return False
    try:
        signature = decode_base64(signature_b64)
        message = encode_canonical_json(
            {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
        )
        verify_key.verify(message, signature)
    except Exception:  # nacl BadSignatureError/ValueError, binascii.Error, ...
        return False
    return True


def sign_event(
    pdu: JsonDict, room_version: RoomVersion, server_name: str, signing_key: SigningKey
) -> None:
    """Sign an event in place.

    The signature covers the redacted event (so it survives redaction) and is
    copied onto ``pdu["signatures"]``. Add the content hash first
    (:func:`homeserver.events.hashing.add_content_hash`): the redacted form keeps
    ``hashes``, which is how the signature protects the full content.
    """
    redacted = redact_pdu(pdu, room_version)
    sign_json(redacted, server_name, signing_key)
    key_id = key_id_of(signing_key)
    signature = redacted["signatures"][server_name][key_id]
    signatures = pdu.get("signatures")
    if not isinstance(signatures, dict):
        signatures = pdu["signatures"] = {}
    server_signatures = signatures.get(server_name)
    if not isinstance(server_signatures, dict):
        server_signatures = signatures[server_name] = {}
    server_signatures[key_id] = signature


def verify_event_signature(
    pdu: JsonDict, room_version: RoomVersion, server_name: str, verify_key: VerifyKey
) -> bool:
    """Whether ``server_name`` validly signed the event with ``verify_key``.

    Checked over the redacted event, so it works whether ``pdu`` is the full
    event or a redacted copy.
    """
    return verify_json(redact_pdu(pdu, room_version), server_name, verify_key)


def required_signature_servers(pdu: JsonDict, room_version: RoomVersion) -> set[str]:
    """The servers whose signatures an incoming event must carry.

    Per server-server-api.md "Validating hashes and signatures on received
    events" and the auth rules:

    * the sender's server, except for an invite made from a third-party invite
      (``m.room.member``, membership ``invite``, with ``third_party_invite`` in
      content), which may be sent by a different server;
    * rooms v1-v2: the server in the ``event_id``, if it differs;
    * rooms v8+: for an ``m.room.member`` event whose content has
      ``join_authorised_via_users_server``, that user's server (auth rule
      "If content has a join_authorised_via_users_server key: if the event is not
      validly signed by the homeserver of the user ID denoted by the key,
      reject").

    Raises:
        ValueError: if an ID that names a required server (sender, v1/v2
            event_id, authorising user) is missing or has no domain; such an
            event can't pass signature checks.
    """
    servers: set[str] = set()
    content = pdu.get("content")
    if not isinstance(content, dict):
        content = {}
    is_member = pdu.get("type") == EventTypes.MEMBER
    is_3pid_invite = (
        is_member
        and content.get("membership") == Membership.INVITE
        and "third_party_invite" in content
    )
    if not is_3pid_invite:
        servers.add(_domain_of_field(pdu.get("sender"), "sender"))
    if room_version.event_id_format is EventIdFormat.V1:
        servers.add(_domain_of_field(pdu.get("event_id"), "event_id"))
    if (
        room_version.restricted_join_rule
        and is_member
        and "join_authorised_via_users_server" in content
    ):
        servers.add(
            _domain_of_field(
                content["join_authorised_via_users_server"],
                "content.join_authorised_via_users_server",
            )
        )
    return servers


def _domain_of_field(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{field} is missing or not a string")
    return domain_of(value)
