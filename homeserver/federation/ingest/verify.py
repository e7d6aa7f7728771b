"""Checks 1 to 3 on receipt of a PDU: format, signatures, content hash.

Spec: server-server-api.md "Checks performed on receipt of a PDU" and
"Validating hashes and signatures on received events". An event that fails
the format or signature checks is dropped (``PduDropped``); one whose content
hash does not match is redacted before anything else looks at it.
"""

from __future__ import annotations

import logging

from signedjson.sign import SignatureVerifyException

from homeserver.events.hashing import check_content_hash, compute_event_id
from homeserver.events.model import Event
from homeserver.events.redaction import copy_json, redact_pdu
from homeserver.events.room_versions import EventIdFormat, RoomVersion
from homeserver.events.signing import required_signature_servers
from homeserver.events.validation import EventFormatError, validate_pdu
from homeserver.federation.interfaces import KeyRing
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)


class PduDropped(Exception):
    """An inbound PDU failed a check that makes it unusable; the message says
    which (it goes into the /send result)."""


def parse_pdu(pdu_json: JsonDict, room_version: RoomVersion) -> Event:
    """Check an event's format for its room version and compute its ID.

    ``unsigned`` is dropped (it is not covered by any signature and is not
    trusted), as is an ``event_id`` key on v3+ events, whose IDs come from the
    reference hash.

    Raises:
        PduDropped: the event is malformed.
    """
    if not isinstance(pdu_json, dict):
        raise PduDropped("PDU is not a JSON object")
    pdu = copy_json(pdu_json)
    pdu.pop("unsigned", None)
    if room_version.event_id_format is not EventIdFormat.V1:
        pdu.pop("event_id", None)
    try:
        validate_pdu(pdu, room_version)
        event_id = compute_event_id(pdu, room_version)
    except (EventFormatError, ValueError) as exc:
        raise PduDropped(f"Invalid event: {exc}") from None
    return Event(pdu=pdu, room_version=room_version, event_id=event_id)


class EventVerifier:
    """Parses remote events and checks their signatures and content hashes."""

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring

    async def verify(self, pdu_json: JsonDict, room_version: RoomVersion) -> Event:
        """A checked event: well-formed, signed by every server that must sign
        it, and redacted if its content hash does not match.

        Raises:
            PduDropped: malformed, or a required signature is missing or bad.
        """
        return await self.check(parse_pdu(pdu_json, room_version))

    async def check(self, event: Event) -> Event:
        """Checks 2-3 on a parsed event (``parse_pdu``): ``verify`` without
        the parsing.

        Raises:
            PduDropped: a required signature is missing or bad.
        """
        await self.check_signatures(event)
        if not check_content_hash(event.pdu):
            logger.warning(
                "event %s from %s has a bad content hash: redacting it",
                event.event_id,
                event.sender,
            )
            event.pdu = redact_pdu(event.pdu, event.room_version)
        return event

    async def check_signatures(self, event: Event) -> None:
        """Check the signature of every server that must sign ``event``.

        Raises:
            PduDropped: a signature is missing or does not verify.
        """
        version = event.room_version
        try:
            servers = required_signature_servers(event.pdu, version)
        except ValueError as exc:
            raise PduDropped(f"Invalid event: {exc}") from None
        redacted = redact_pdu(event.pdu, version)
        # Rooms v5+ require the key to have been valid when the event was
        # sent; before that, any key the server ever had will do.
        valid_at = event.origin_server_ts if version.enforce_key_validity else 0
        for server in sorted(servers):
            try:
                await self.keyring.verify_json_for_server(server, redacted, valid_at)
            except SignatureVerifyException as exc:
                logger.warning(
                    "dropping event %s: signature of %s does not verify: %s",
                    event.event_id,
                    server,
                    exc,
                )
                raise PduDropped(f"Signature of {server} does not verify") from None
            except Exception as exc:
                logger.warning(
                    "dropping event %s: could not check the signature of %s: %s",
                    event.event_id,
                    server,
                    exc,
                )
                raise PduDropped(f"Could not check the signature of {server}") from None
