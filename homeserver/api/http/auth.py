"""Who is asking, from a request: the access token and the UIA operation.

The services never see a request: ``Auth`` takes a token and the client's
address, and user-interactive auth a ``UiaOperation``. These helpers take them
out of an ``ApiRequest`` for the endpoints (and the WebSocket transport).
Spec: client-server API, "Client Authentication" (Authorization header or
``access_token`` query parameter) and "User-Interactive Authentication API"
(a session is bound to one request's method and path).
"""

from __future__ import annotations

from homeserver.api.http.request import ApiRequest
from homeserver.errors import Codes, MatrixError
from homeserver.services.accounts.auth import Auth, Requester
from homeserver.services.accounts.ui_auth import UiaOperation


async def requester_of(
    auth: Auth,
    request: ApiRequest,
    allow_expired: bool = False,
    *,
    allow_guest: bool = False,
) -> Requester:
    """The user and device whose access token ``request`` carries.

    Guest accounts are refused unless the endpoint says ``allow_guest``:
    the guest allow-list is the endpoints that pass it (Synapse's
    ``allow_guest=True`` servlets), so a new endpoint is closed to guests
    until it opts in.

    Args:
        auth: the authentication service.
        request: the request.
        allow_expired: accept an expired (refreshable) access token, so that
            a client can still log out with it.
        allow_guest: whether guest accounts may call the endpoint.

    Raises:
        MatrixError: 401 M_MISSING_TOKEN or M_UNKNOWN_TOKEN; 403
            M_GUEST_ACCESS_FORBIDDEN for a guest where guests are not allowed.
    """
    token = request.access_token()
    if token is None:
        raise MatrixError(401, "Missing access token", Codes.MISSING_TOKEN)
    requester = await auth.get_user_by_access_token(
        token,
        request.client_ip,
        allow_expired=allow_expired,
        user_agent=request.header("user-agent"),
        # Identity assertion of application services (ignored otherwise).
        as_user_id=request.query_str("user_id"),
        as_device_id=request.query_str("device_id")
        or request.query_str("org.matrix.msc3202.device_id"),
    )
    # For the access log and metrics.
    request.requester = requester
    if requester.is_guest and not allow_guest:
        raise MatrixError(403, "Guest access not allowed", Codes.GUEST_ACCESS_FORBIDDEN)
    return requester


async def admin_of(auth: Auth, request: ApiRequest) -> Requester:
    """The requester, who must be a server admin (else 403 M_FORBIDDEN).

    Refused requests (no token, a wrong one, or a non-admin's) count per
    client address; past ``rate_limiting.admin_failed_attempts`` every admin
    request from that address is 429 M_LIMIT_EXCEEDED for a while, so that
    tokens cannot be guessed through the admin API.
    """
    await auth.check_admin_failures(request.client_ip)
    try:
        requester = await requester_of(auth, request)
        auth.require_admin(requester)
    except MatrixError as exc:
        if exc.code in (401, 403):
            await auth.note_admin_failure(request.client_ip)
        raise
    return requester


def uia_operation(request: ApiRequest) -> UiaOperation:
    """The operation a UIA session started by ``request`` is bound to."""
    return UiaOperation(method=request.method, path=request.path)
