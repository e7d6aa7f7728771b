"""The joining server's requests of the membership handshakes.

Spec: server-server-api.md "Joining Rooms", "Leaving Rooms (Rejecting
Invites)", "Knocking upon a room", "Inviting to a room": GET make_join,
make_leave and make_knock (asked of each resident server in turn), PUT
send_join and send_leave (v2, falling back to v1 for older servers),
send_knock (v1 only) and invite (v2, or v1 for rooms v1-v2). A failed request becomes the client
error the local user sees: the resident server's 400/403/404 passed on,
anything else 502.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from homeserver.errors import Codes, IncompatibleRoomVersion, MatrixError
from homeserver.events.model import Event
from homeserver.events.room_versions import (
    KNOWN_ROOM_VERSIONS,
    EventIdFormat,
    RoomVersion,
)
from homeserver.events.template import check_template, federation_pdu
from homeserver.events.validation import EventFormatError
from homeserver.federation.errors import (
    HttpResponseError,
    RequestSendFailed,
    client_error,
)
from homeserver.federation.interfaces import FederationTransport
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)

FED = "/_matrix/federation"
SUPPORTED_VERSIONS = sorted(KNOWN_ROOM_VERSIONS, key=int)
# make_join answers that mean another resident server may succeed.
_TRY_ANOTHER_SERVER = (Codes.UNABLE_TO_AUTHORISE_JOIN, Codes.UNABLE_TO_GRANT_JOIN)


def quote_path(*parts: str) -> str:
    """Path parameters, each percent-encoded, joined by ``/``."""
    return "/".join(quote(p, safe="") for p in parts)


def _no_such_version(exc: HttpResponseError) -> bool:
    """Whether an answer means the server lacks this endpoint version."""
    return exc.code in (400, 404) and exc.errcode in (None, Codes.UNRECOGNIZED)


class MembershipRequests:
    """make_*, send_* and invite requests to other servers.

    Args:
        server_name: our name (never asked for a template).
        transport: sends the signed requests.
    """

    def __init__(self, server_name: str, transport: FederationTransport) -> None:
        self.server_name = server_name
        self.transport = transport

    async def make(
        self,
        kind: str,
        servers: Sequence[str],
        room_id: str,
        user_id: str,
        membership: str,
    ) -> tuple[str, RoomVersion, JsonDict]:
        """Ask each server in turn for a ``make_{kind}`` template; the first
        good one wins.

        Returns:
            The server that answered, the room version and the checked template.

        Raises:
            MatrixError: a server's 400/403 answer, or the last failure (404
                when there was no server to ask, 502 for bad answers).
        """
        query = {"ver": SUPPORTED_VERSIONS} if kind != "leave" else None
        path = f"{FED}/v1/make_{kind}/{quote_path(room_id, user_id)}"
        last: MatrixError = MatrixError(
            404, "No known servers to ask about this room", Codes.NOT_FOUND
        )
        for server in dict.fromkeys(s for s in servers if s != self.server_name):
            try:
                answer = await self.transport.get_json(server, path, query)
            except (HttpResponseError, RequestSendFailed) as exc:
                logger.info("make_%s via %s failed: %s", kind, server, exc)
                last = client_error(exc, f"make_{kind}")
                if last.errcode in _TRY_ANOTHER_SERVER:
                    continue
                if last.code in (400, 403):
                    raise last from None
                continue
            try:
                version_id = answer.get("room_version", "1")
                version = KNOWN_ROOM_VERSIONS.get(version_id)
                if version is None:
                    raise IncompatibleRoomVersion(
                        f"Room version {version_id!r} is not supported", version_id
                    )
                template = check_template(
                    answer.get("event"), room_id, user_id, membership
                )
            except (AttributeError, EventFormatError) as exc:
                logger.warning("bad make_%s answer from %s: %s", kind, server, exc)
                last = MatrixError(502, f"Bad make_{kind} answer", Codes.UNKNOWN)
                continue
            return server, version, template
        raise last

    async def send(self, server: str, kind: str, room_id: str, event: Event) -> Any:
        """PUT ``send_{kind}`` with our signed event: v2, or v1 when the server
        has no v2 (and always v1 for knocks, which only have v1); the answer
        without v1's ``[200, ...]`` wrapping.

        Raises:
            MatrixError: the server's 400/403/404 passed on, else 502.
        """
        pdu = federation_pdu(event)
        tail = quote_path(room_id, event.event_id)
        version = "v1" if kind == "knock" else "v2"
        try:
            try:
                answer = await self.transport.put_json(
                    server, f"{FED}/{version}/send_{kind}/{tail}", pdu
                )
            except HttpResponseError as exc:
                if version == "v1" or not _no_such_version(exc):
                    raise
                logger.info("%s has no send_%s v2; trying v1", server, kind)
                answer = await self.transport.put_json(
                    server, f"{FED}/v1/send_{kind}/{tail}", pdu
                )
                if isinstance(answer, list) and len(answer) == 2:
                    answer = answer[1]
        except (HttpResponseError, RequestSendFailed) as exc:
            logger.warning("send_%s to %s failed: %s", kind, server, exc)
            raise client_error(exc, f"send_{kind}") from None
        return answer

    async def invite(
        self, destination: str, event: Event, invite_room_state: list[JsonDict]
    ) -> Any:
        """PUT v2/invite to the invitee's server; its answer. A server without
        v2 (404 or 400 ``M_UNRECOGNIZED``) is asked through v1, which carries
        the event alone (the stripped state in its ``unsigned``) and so only
        suits rooms v1 and v2, whose version it assumes (as Synapse does).

        Raises:
            MatrixError: the server's 400/403/404 passed on, else 502; 400
                M_UNSUPPORTED_ROOM_VERSION for a server without v2 and a room
                of a later version.
        """
        body = {
            "room_version": event.room_version.identifier,
            "event": federation_pdu(event),
            "invite_room_state": invite_room_state,
        }
        tail = quote_path(event.room_id, event.event_id)
        try:
            try:
                return await self.transport.put_json(
                    destination, f"{FED}/v2/invite/{tail}", body
                )
            except HttpResponseError as exc:
                if not _no_such_version(exc):
                    raise
            if event.room_version.event_id_format is not EventIdFormat.V1:
                raise MatrixError(
                    400,
                    "The invitee's server does not support this room version",
                    Codes.UNSUPPORTED_ROOM_VERSION,
                )
            logger.info("%s has no v2 invite; trying v1", destination)
            pdu = federation_pdu(event)
            pdu["unsigned"] = {
                **pdu.get("unsigned", {}),
                "invite_room_state": invite_room_state,
            }
            answer = await self.transport.put_json(
                destination, f"{FED}/v1/invite/{tail}", pdu
            )
            # v1 answers [200, {"event": ...}].
            if isinstance(answer, list) and len(answer) == 2:
                answer = answer[1]
            return answer
        except (HttpResponseError, RequestSendFailed) as exc:
            logger.warning(
                "invite of %s to %s failed: %s", event.state_key, destination, exc
            )
            raise client_error(exc, "invite") from None
