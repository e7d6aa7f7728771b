"""Bodies of the third-party ID endpoints: requestToken, submit_token and
/account/3pid/*.

Spec: client-server API, "Adding account administrative contact information".
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from homeserver.api.client.bodies.accounts import UiaBody
from homeserver.api.http.body import RequestBody, Str

SendAttempt = Annotated[int, Field(ge=0)]


class EmailRequestTokenBody(RequestBody):
    """POST .../email/requestToken (``id_server`` and ``id_access_token``
    are accepted and ignored: this server sends the mail itself)."""

    client_secret: Str
    email: Str
    send_attempt: SendAttempt
    next_link: Str | None = None
    id_server: Str | None = None
    id_access_token: Str | None = None


class SubmitTokenBody(RequestBody):
    """POST the ``submit_url`` of a requestToken answer: the mail's code."""

    sid: Str
    client_secret: Str
    token: Str


class ThreepidAddBody(UiaBody):
    """POST /account/3pid/add."""

    client_secret: Str
    sid: Str


class ThreepidBindBody(RequestBody):
    """POST /account/3pid/bind."""

    client_secret: Str
    id_server: Str
    id_access_token: Str
    sid: Str


class ThreepidDeleteBody(RequestBody):
    """POST /account/3pid/delete and /account/3pid/unbind."""

    medium: Literal["email", "msisdn"]
    address: Str
    id_server: Str | None = None
