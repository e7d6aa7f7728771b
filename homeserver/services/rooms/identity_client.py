"""Requests to identity servers: for invites by third-party ID, and for
users binding their addresses.

Spec: identity service API v2: "Association lookup" (hash_details, lookup,
with sha256 hashing), "Invitation storage" (store-invite), "Key
management" (pubkey/isvalid) and "Establishing associations" (3pid/bind,
3pid/unbind, the latter signed by this homeserver as an X-Matrix request).
Every request goes through the guarded client (docs/outbound-requests.md):
the identity server and a key's ``key_validity_url`` are chosen by clients
and other servers.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any
from urllib.parse import quote, urlencode

import attrs
from signedjson.types import SigningKey
from unpaddedbase64 import encode_base64

from homeserver.errors import Codes, Forbidden, InvalidParam, MatrixError
from homeserver.events.ids import is_valid_server_name
from homeserver.events.signing import key_id_of, sign_json
from homeserver.http_client.untrusted import (
    DeniedAddressError,
    OutboundRequestError,
    UntrustedHttpClient,
)
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)

IDENTITY_USER_AGENT = "Chatly (identity server)"
V2 = "/_matrix/identity/v2"


@attrs.frozen
class StoredInvite:
    """An identity server's answer to store-invite."""

    token: str
    public_keys: list[JsonDict]
    display_name: str


@attrs.frozen
class BoundThreepid:
    """An identity server's answer to 3pid/bind: what it bound."""

    medium: str
    address: str


@attrs.frozen
class HomeserverSigner:
    """Signs this homeserver's requests to identity servers (3pid/unbind)."""

    server_name: str
    signing_key: SigningKey

    def authorization(self, id_server: str, method: str, uri: str, content: Any) -> str:
        """The X-Matrix Authorization header, as Synapse signs it: the
        identity server is named by ``destination_is`` in the signed object
        (it is no homeserver) and by ``destination`` in the header."""
        signed = sign_json(
            {
                "method": method,
                "uri": uri,
                "origin": self.server_name,
                "destination_is": id_server,
                "content": content,
            },
            self.server_name,
            self.signing_key,
        )
        key_id = key_id_of(self.signing_key)
        signature = signed["signatures"][self.server_name][key_id]
        return (
            f'X-Matrix origin="{self.server_name}",key="{key_id}",'
            f'sig="{signature}",destination="{id_server}"'
        )


class IdentityServerError(MatrixError):
    """The identity server could not be reached or refused the request."""


def lookup_hash(address: str, medium: str, pepper: str) -> str:
    """The sha256 lookup value of an address (identity service API
    "Hashing"): unpadded URL-safe base64 of sha256("address medium pepper")."""
    digest = hashlib.sha256(f"{address} {medium} {pepper}".encode()).digest()
    return encode_base64(digest, urlsafe=True)


class IdentityServerClient:
    """Talks to the identity server a client names (``id_server``).

    Args:
        http: the guarded client (``identity_server.ip_range_*``, no redirects).
        scheme: ``https``, or ``http`` for a test identity server.
    """

    def __init__(self, http: UntrustedHttpClient, scheme: str) -> None:
        self.http = http
        self.scheme = scheme

    def base_url(self, id_server: str) -> str:
        """The identity server's base URL.

        Raises:
            InvalidParam: ``id_server`` is not a hostname[:port].
        """
        if not is_valid_server_name(id_server):
            raise InvalidParam("id_server is not a hostname with an optional port")
        return f"{self.scheme}://{id_server}"

    async def lookup(
        self, id_server: str, access_token: str, medium: str, address: str
    ) -> str | None:
        """The user ID bound to ``address`` (v2 lookup, sha256 when offered,
        else ``none``), or None when it is not bound.

        Raises:
            IdentityServerError: unreachable, a refusal, or a bad answer.
        """
        base = self.base_url(id_server)
        details = await self._call("GET", f"{base}{V2}/hash_details", access_token)
        algorithms = details.get("algorithms")
        pepper = details.get("lookup_pepper")
        if not isinstance(algorithms, list) or not isinstance(pepper, str):
            raise IdentityServerError(502, "Bad hash_details from identity server")
        if "sha256" in algorithms:
            algorithm, value = "sha256", lookup_hash(address, medium, pepper)
        elif "none" in algorithms:
            algorithm, value = "none", f"{address} {medium}"
        else:
            raise IdentityServerError(
                502, "The identity server offers no lookup algorithm we support"
            )
        body = {"addresses": [value], "algorithm": algorithm, "pepper": pepper}
        answer = await self._call("POST", f"{base}{V2}/lookup", access_token, body)
        mappings = answer.get("mappings")
        if not isinstance(mappings, dict):
            return None
        mxid = mappings.get(value)
        return mxid if isinstance(mxid, str) else None

    async def store_invite(
        self, id_server: str, access_token: str, invite: JsonDict
    ) -> StoredInvite:
        """Store a third-party invite on the identity server.

        Args:
            invite: the store-invite body (medium, address, room_id, sender,
                and what the identity server may put in its message).

        Raises:
            IdentityServerError: unreachable, a refusal, or a bad answer.
        """
        base = self.base_url(id_server)
        answer = await self._call(
            "POST", f"{base}{V2}/store-invite", access_token, invite
        )
        token = answer.get("token")
        display_name = answer.get("display_name")
        keys = answer.get("public_keys")
        if not isinstance(keys, list):
            keys = []
        public_keys = [
            {"public_key": k["public_key"], "key_validity_url": k["key_validity_url"]}
            for k in keys
            if isinstance(k, dict)
            and isinstance(k.get("public_key"), str)
            and isinstance(k.get("key_validity_url"), str)
        ]
        if isinstance(answer.get("public_key"), str):
            # The older single-key answer; its validity URL is the standard one.
            public_keys.append(
                {
                    "public_key": answer["public_key"],
                    "key_validity_url": f"{base}{V2}/pubkey/isvalid",
                }
            )
        if not isinstance(token, str) or not token or not public_keys:
            raise IdentityServerError(
                502, "Bad store-invite answer from identity server"
            )
        if not isinstance(display_name, str):
            display_name = ""
        return StoredInvite(token, public_keys, display_name)

    async def bind(
        self, id_server: str, access_token: str, sid: str, client_secret: str, mxid: str
    ) -> BoundThreepid:
        """Bind the address the identity server validated in session ``sid``
        to ``mxid`` (v2 3pid/bind).

        Raises:
            MatrixError: the identity server's own 4xx error (e.g. 400
                M_SESSION_NOT_VALIDATED), as Synapse passes it on; 403 when it
                refuses the access token.
            IdentityServerError: unreachable, a 5xx, or a bad answer.
        """
        url = f"{self.base_url(id_server)}{V2}/3pid/bind"
        body = {"sid": sid, "client_secret": client_secret, "mxid": mxid}
        code, answer = await self._send("POST", url, _bearer(access_token), body)
        _raise_passed_on(code, answer)
        answer = _checked(code, answer)
        medium, address = answer.get("medium"), answer.get("address")
        if not isinstance(medium, str) or not isinstance(address, str):
            raise IdentityServerError(502, "Bad 3pid/bind answer from identity server")
        return BoundThreepid(medium, address)

    async def unbind(
        self,
        id_server: str,
        signer: HomeserverSigner,
        mxid: str,
        medium: str,
        address: str,
    ) -> bool:
        """Ask the identity server to remove the binding (v2 3pid/unbind,
        signed by this homeserver). As Synapse: False when the identity
        server does not support it (400, 404 or 501).

        Raises:
            IdentityServerError: unreachable, or any other error answer.
        """
        base = self.base_url(id_server)
        path = f"{V2}/3pid/unbind"
        body = {"mxid": mxid, "threepid": {"medium": medium, "address": address}}
        headers = {"Authorization": signer.authorization(id_server, "POST", path, body)}
        code, answer = await self._send("POST", f"{base}{path}", headers, body)
        if 200 <= code < 300:
            return True
        if code in (400, 404, 501):
            logger.warning(
                "identity server does not support unbinding",
                extra={"id_server": id_server, "code": code},
            )
            return False
        raise IdentityServerError(
            502,
            f"The identity server answered {code} {answer.get('errcode', '')}".strip(),
        )

    async def key_is_valid(self, key_validity_url: str, public_key: str) -> bool:
        """Whether ``key_validity_url`` says ``public_key`` is still valid.

        Raises:
            IdentityServerError: the URL could not be asked.
        """
        query = urlencode({"public_key": public_key})
        separator = "&" if "?" in key_validity_url else "?"
        answer = await self._call("GET", f"{key_validity_url}{separator}{query}")
        return answer.get("valid") is True

    async def _call(
        self,
        method: str,
        url: str,
        access_token: str | None = None,
        body: JsonDict | None = None,
    ) -> JsonDict:
        headers = {} if access_token is None else _bearer(access_token)
        code, answer = await self._send(method, url, headers, body)
        if code == 400 and answer.get("errcode") == Codes.THREEPID_IN_USE:
            raise MatrixError(400, str(answer.get("error", "")), Codes.THREEPID_IN_USE)
        return _checked(code, answer)

    async def _send(
        self,
        method: str,
        url: str,
        extra_headers: dict[str, str],
        body: JsonDict | None = None,
    ) -> tuple[int, JsonDict]:
        """One request; its status and JSON object answer.

        Raises:
            Forbidden: the identity server's address is not allowed.
            IdentityServerError: it could not be reached.
        """
        headers = {"Accept": "application/json", **extra_headers}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        try:
            response = await self.http.request(method, url, headers, data)
        except DeniedAddressError:
            raise Forbidden("The identity server's address is not allowed") from None
        except OutboundRequestError as e:
            logger.warning("identity server request failed", extra={"error": str(e)})
            raise IdentityServerError(
                502, "Could not reach the identity server", Codes.UNKNOWN
            ) from None
        return response.code, _json_object(response.body)


def _bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {quote(access_token, safe='')}"}


def _checked(code: int, answer: JsonDict) -> JsonDict:
    """A 2xx answer, else 403 for a refused access token and 502 for the rest."""
    if code in (401, 403):
        raise Forbidden(
            "The identity server refused the request: "
            f"{answer.get('errcode', code)} (check id_access_token)"
        )
    if not 200 <= code < 300:
        raise IdentityServerError(
            502,
            f"The identity server answered {code} {answer.get('errcode', '')}".strip(),
        )
    return answer


def _raise_passed_on(code: int, answer: JsonDict) -> None:
    """Pass on the identity server's own Matrix error of a 4xx other than
    401/403 (those mean the client's id_access_token: ``_checked``)."""
    errcode = answer.get("errcode")
    if 400 <= code < 500 and code not in (401, 403) and isinstance(errcode, str):
        raise MatrixError(code, str(answer.get("error", "")), errcode)


def _json_object(body: bytes) -> JsonDict:
    try:
        value: Any = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
