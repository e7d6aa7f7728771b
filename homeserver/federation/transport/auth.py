"""The X-Matrix Authorization header: signing outbound federation requests and
verifying inbound ones.

Spec: server-server-api.md "Request Authentication". Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
from signedjson.key import SigningKey, VerifyKey

from homeserver.events.ids import is_valid_server_name
from homeserver.events.signing import key_id_of, sign_json, verify_json
from homeserver.types import JsonDict

_PARAM = re.compile(
    r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)'
)


@attrs.frozen
class XMatrixAuth:
    """The parts of an X-Matrix Authorization header."""

    origin: str
    key_id: str
    signature: str
    destination: str | None = None


def request_json(
    method: str, uri: str, origin: str, destination: str, content: Any = None
) -> JsonDict:
    """The JSON object a request's signature covers."""
    signed: JsonDict = {
        "method": method.upper(),
        "uri": uri,
        "origin": origin,
        "destination": destination,
    }
    if content is not None:
        signed["content"] = content
    return signed


def sign_request(
    signing_key: SigningKey,
    method: str,
    uri: str,
    origin: str,
    destination: str,
    content: Any = None,
) -> str:
    """The Authorization header value for an outbound request.

    Args:
        uri: the request path with its query string, as sent.
        content: the parsed JSON body, if the request has one.
    """
    signed = sign_json(
        request_json(method, uri, origin, destination, content), origin, signing_key
    )
    key_id = key_id_of(signing_key)
    signature = signed["signatures"][origin][key_id]
    return (
        f'X-Matrix origin="{origin}",destination="{destination}",'
        f'key="{key_id}",sig="{signature}"'
    )


def parse_x_matrix(header: str) -> XMatrixAuth:
    """Parse ``X-Matrix origin=...,key=...,sig=...[,destination=...]``.

    Raises:
        ValueError: not an X-Matrix header, a required part is missing, or
            the origin is no server name (``localhost:http``).
    """
    scheme, _, params = header.strip().partition(" ")
    if scheme.lower() != "x-matrix":
        raise ValueError("not an X-Matrix authorization header")
    values: dict[str, str] = {}
    for match in _PARAM.finditer(params):
        quoted, bare = match.group(2), match.group(3)
        value = (
            quoted.replace('\\"', '"').replace("\\\\", "\\")
            if quoted is not None
            else bare
        )
        values[match.group(1).lower()] = value or ""
    origin = values.get("origin")
    if origin is not None and not is_valid_server_name(origin):
        raise ValueError(f"origin {origin!r} is not a valid server name")
    try:
        return XMatrixAuth(
            origin=values["origin"],
            key_id=values["key"],
            signature=values["sig"],
            destination=values.get("destination"),
        )
    except KeyError as exc:
        raise ValueError(f"X-Matrix header lacks {exc.args[0]}") from None


def verify_request(
    auth: XMatrixAuth,
    method: str,
    uri: str,
    destination: str,
    content: Any,
    verify_key: VerifyKey,
) -> bool:
    """Whether the header's signature covers this request, by this key."""
    if auth.destination is not None and auth.destination != destination:
        return False
    if key_id_of(verify_key) != auth.key_id:
        return False
    signed = request_json(method, uri, auth.origin, destination, content)
    signed["signatures"] = {auth.origin: {auth.key_id: auth.signature}}
    return verify_json(signed, auth.origin, verify_key)
