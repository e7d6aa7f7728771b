"""The guest allow-list is default-deny: every client endpoint that needs an
access token answers a guest 403 M_GUEST_ACCESS_FORBIDDEN, except the ones
listed here (Synapse's ``allow_guest=True`` servlets and the spec's guest
list). A new endpoint is closed to guests until it opts in and is added here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from homeserver.api.http.router import HTTP_METHODS
from homeserver.composition.resource import client_endpoints
from tests.extras.guests import GUESTS_ON, register_guest
from tests.support.server import FakeResponse, TestServer

# (endpoint class, method) a guest may call.
ALLOWED = {
    ("SyncEndpoint", "GET"),
    ("EventStreamEndpoint", "GET"),
    ("SendToDeviceEndpoint", "PUT"),
    ("WhoamiEndpoint", "GET"),
    ("DevicesEndpoint", "GET"),
    ("DeviceEndpoint", "GET"),
    ("DeviceEndpoint", "PUT"),
    ("RoomStateEventEndpoint", "GET"),
    ("SetStateEndpoint", "PUT"),
    ("RoomMembersEndpoint", "GET"),
    ("MessagesEndpoint", "GET"),
    ("RoomStateEndpoint", "GET"),
    ("RoomEventEndpoint", "GET"),
    ("ContextEndpoint", "GET"),
    ("RoomInitialSyncEndpoint", "GET"),
    ("SendEventEndpoint", "PUT"),
    ("SendEventNoTxnEndpoint", "POST"),
    ("JoinEndpoint", "POST"),
    ("LeaveEndpoint", "POST"),
    ("JoinedRoomsEndpoint", "GET"),
    ("PublicRoomsEndpoint", "GET"),
    ("PublicRoomsEndpoint", "POST"),
    ("CapabilitiesEndpoint", "GET"),
    ("KeysUploadEndpoint", "POST"),
    ("KeysQueryEndpoint", "POST"),
    ("KeyChangesEndpoint", "GET"),
    ("KeysClaimEndpoint", "POST"),
    ("SignaturesUploadEndpoint", "POST"),
    ("TurnServerEndpoint", "GET"),
    ("RelationsEndpoint", "GET"),
    ("HierarchyEndpoint", "GET"),
    # The display name only (the spec's guest list); other fields are closed.
    ("ProfileFieldEndpoint", "PUT"),
    ("ProfileFieldEndpoint", "DELETE"),
    # Guests see rooms' images and files (Synapse's allow_guest=True); they
    # may not upload.
    ("DownloadEndpoint", "GET"),
    ("ThumbnailEndpoint", "GET"),
    # Third-party protocol lookups (Synapse's allow_guest=True).
    ("ProtocolsEndpoint", "GET"),
    ("ProtocolEndpoint", "GET"),
    ("ThirdPartyLocationEndpoint", "GET"),
    ("ThirdPartyLocationReverseEndpoint", "GET"),
    ("ThirdPartyUserEndpoint", "GET"),
    ("ThirdPartyUserReverseEndpoint", "GET"),
}


def _path(pattern: str, user_id: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "user_id":
            return user_id
        if name == "room_id":
            return "!room:test"
        if name == "event_id":
            return "$event"
        if name == "key":
            return "avatar_url"
        return "x"

    return re.sub(r"\{(\w+)\}", value, pattern)


def _errcode(resp: FakeResponse) -> str | None:
    """The Matrix errcode of an answer; None for a page that is not JSON
    (such as the HTML of an email link)."""
    if (resp.header("content-type") or "").split(";")[0] != "application/json":
        return None
    return (resp.json or {}).get("errcode")


def test_every_other_authenticated_endpoint_is_closed_to_guests(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server(GUESTS_ON)
    guest = register_guest(server)
    checked = opened = 0
    for endpoint in client_endpoints(server.hs):
        name = type(endpoint).__name__
        # Admin endpoints are never open to guests, whatever their class name.
        client_api = not type(endpoint).__module__.startswith("homeserver.api.admin.")
        for method in HTTP_METHODS:
            if not hasattr(endpoint, f"on_{method}"):
                continue
            path = _path(endpoint.PATTERNS[0], guest.user_id)
            body = None if method in ("GET", "DELETE") else {}
            anonymous = server.request(method, path, body)
            if _errcode(anonymous) != "M_MISSING_TOKEN":
                continue  # needs no access token: nothing to close
            resp = server.request(method, path, body, token=guest.token)
            errcode = _errcode(resp)
            closed = resp.code == 403 and errcode == "M_GUEST_ACCESS_FORBIDDEN"
            allowed = client_api and (name, method) in ALLOWED
            if allowed and name != "ProfileFieldEndpoint":
                assert not closed, f"{method} {path} ({name}) should be open"
                opened += 1
            elif not allowed:
                assert closed, (
                    f"{method} {path} ({name}) answers a guest {resp.code} "
                    f"{errcode}: open it on purpose (allow_guest=True and "
                    "ALLOWED here) or keep it closed"
                )
            checked += 1
    assert checked > 60 and opened > 25
