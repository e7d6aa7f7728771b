"""A small identity server for tests, built from the identity service API v2
(lookup with hash_details, store-invite, pubkey and pubkey/isvalid, email
validation with requestToken/submitToken, 3pid/bind and 3pid/unbind), served
on loopback by a real reactor, with its own ed25519 signing key.

``bind(medium, address, mxid)`` stands for the user having proved the
address; ``POST 3pid/bind`` does the same for a session validated with
``submitToken`` (the code it "mailed" is in ``tokens``). Both give the
``/3pid/onbind`` body the identity server sends the user's homeserver (spec
server-server API "Third-party invites"), with each pending invite signed by
its key; the test delivers it (``onbinds`` keeps those of HTTP binds).
``3pid/unbind`` accepts only a request signed by the user's homeserver
(X-Matrix, with ``destination_is``), whose keys the test hands over with
``trust``.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from signedjson.key import generate_signing_key
from signedjson.sign import SignatureVerifyException, sign_json, verify_signed_json
from twisted.web.resource import Resource
from twisted.web.server import Site
from unpaddedbase64 import encode_base64

from homeserver.services.rooms.identity_client import lookup_hash

ACCESS_TOKEN = "identity-access-token"
V2 = "/_matrix/identity/v2"


class IdentityServer(Resource):
    """The identity server's state and its HTTP API (one resource, routed
    by path)."""

    isLeaf = True

    def __init__(self, reactor: Any) -> None:
        super().__init__()
        self.key = generate_signing_key("0")
        self.public_key = encode_base64(self.key.verify_key.encode())
        self.pepper = "matrixrocks"
        self.bindings: dict[tuple[str, str], str] = {}
        self.pending: list[dict[str, Any]] = []
        self.revoked: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        self.lookups: list[str] = []
        # store-invite answers without public keys (a broken identity server).
        self.broken = False
        # Email validation sessions by sid; the code "mailed" per address.
        self.sessions: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self.onbinds: list[dict[str, Any]] = []
        # Homeservers' verify keys by server name, key ID (``trust``).
        self.server_keys: dict[str, dict[str, Any]] = {}
        self.unbinds: list[dict[str, Any]] = []
        # False: 3pid/unbind answers 404 M_UNRECOGNIZED (an older server).
        self.unbind_supported = True
        self._port = reactor.listenTCP(0, Site(self), interface="127.0.0.1")

    @property
    def name(self) -> str:
        """The ``id_server`` clients name: host and port."""
        return f"127.0.0.1:{self._port.getHost().port}"

    @property
    def validity_url(self) -> str:
        return f"http://{self.name}{V2}/pubkey/isvalid"

    def stop(self) -> None:
        self._port.stopListening()

    # -- what a user does on the identity server -------------------------

    def bind(self, medium: str, address: str, mxid: str) -> dict[str, Any]:
        """Bind ``address`` to ``mxid``; the onbind body for ``mxid``'s
        server, with the address's pending invites signed (and taken)."""
        self.bindings[(medium, address)] = mxid
        mine = [
            p for p in self.pending if (p["medium"], p["address"]) == (medium, address)
        ]
        self.pending = [p for p in self.pending if p not in mine]
        invites = [
            {
                "medium": medium,
                "address": address,
                "mxid": mxid,
                "room_id": p["room_id"],
                "sender": p["sender"],
                "signed": sign_json(
                    {"mxid": mxid, "token": p["token"]}, self.name, self.key
                ),
            }
            for p in mine
        ]
        return {"medium": medium, "address": address, "mxid": mxid, "invites": invites}

    def trust(self, server_name: str, verify_key: Any) -> None:
        """Know ``server_name``'s key, to check its signed unbind requests
        (a real identity server fetches it from the server's key API)."""
        key_id = f"{verify_key.alg}:{verify_key.version}"
        self.server_keys.setdefault(server_name, {})[key_id] = verify_key

    def sign_for_join(self, token: str, mxid: str) -> dict[str, Any]:
        """What ``sign-ed25519`` answers: the pending invite ``token`` signed
        for ``mxid``, with its sender (a join's ``third_party_signed``)."""
        (invite,) = [p for p in self.pending if p["token"] == token]
        block = {"mxid": mxid, "sender": invite["sender"], "token": token}
        return sign_json(block, self.name, self.key)

    # -- HTTP -------------------------------------------------------------

    def render(self, request: Any) -> bytes:
        path = request.path.decode()
        self.requests.append((request.method.decode(), path))
        code, body = self._route(request.method.decode(), path, request)
        request.setResponseCode(code)
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps(body).encode()

    def _route(self, method: str, path: str, request: Any) -> tuple[int, Any]:
        if path == f"{V2}/pubkey/isvalid":
            key = request.args.get(b"public_key", [b""])[0].decode()
            return 200, {"valid": key == self.public_key and key not in self.revoked}
        if path == f"{V2}/pubkey/ed25519:0":
            return 200, {"public_key": self.public_key}
        auth = request.getHeader(b"authorization") or b""
        if method == "POST" and path == f"{V2}/3pid/unbind":
            body = json.loads(request.content.read() or b"{}")
            return self._unbind(auth.decode(), path, body)
        if auth.decode() != f"Bearer {ACCESS_TOKEN}":
            return 401, {"errcode": "M_UNAUTHORIZED", "error": "Unauthorized"}
        if method == "GET" and path == f"{V2}/hash_details":
            return 200, {"algorithms": ["none", "sha256"], "lookup_pepper": self.pepper}
        body = json.loads(request.content.read() or b"{}")
        if method == "POST" and path == f"{V2}/lookup":
            self.lookups.append(body.get("algorithm"))
            return self._lookup(body)
        if method == "POST" and path == f"{V2}/store-invite":
            return self._store_invite(body)
        if method == "POST" and path == f"{V2}/validate/email/requestToken":
            return self._request_token(body)
        if method == "POST" and path == f"{V2}/validate/email/submitToken":
            return self._submit_token(body)
        if method == "POST" and path == f"{V2}/3pid/bind":
            return self._bind(body)
        return 404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}

    def _lookup(self, body: dict[str, Any]) -> tuple[int, Any]:
        if body.get("pepper") != self.pepper:
            return 400, {
                "errcode": "M_INVALID_PEPPER",
                "error": "Bad pepper",
                "algorithm": "sha256",
                "lookup_pepper": self.pepper,
            }
        table: dict[str, str] = {}
        for (medium, address), mxid in self.bindings.items():
            if body.get("algorithm") == "sha256":
                table[lookup_hash(address, medium, self.pepper)] = mxid
            else:
                table[f"{address} {medium}"] = mxid
        found = {a: table[a] for a in body.get("addresses", []) if a in table}
        return 200, {"mappings": found}

    def _store_invite(self, body: dict[str, Any]) -> tuple[int, Any]:
        for name in ("medium", "address", "room_id", "sender"):
            if not isinstance(body.get(name), str):
                return 400, {"errcode": "M_MISSING_PARAMS", "error": f"No {name}"}
        if (body["medium"], body["address"]) in self.bindings:
            return 400, {"errcode": "M_THREEPID_IN_USE", "error": "Already bound"}
        if self.broken:
            return 200, {"token": "t", "display_name": "x"}
        token = secrets.token_urlsafe(16)
        self.pending.append({**body, "token": token})
        local, _, domain = body["address"].partition("@")
        return 200, {
            "token": token,
            "public_keys": [
                {"public_key": self.public_key, "key_validity_url": self.validity_url}
            ],
            "display_name": f"{local[:3]}...@{domain[:3]}...",
        }

    # -- validation sessions, bind and unbind -------------------------------

    def _request_token(self, body: dict[str, Any]) -> tuple[int, Any]:
        address, secret = body.get("email"), body.get("client_secret")
        if not isinstance(address, str) or not isinstance(secret, str):
            return 400, {"errcode": "M_MISSING_PARAMS", "error": "No email"}
        sid = secrets.token_urlsafe(8)
        self.tokens[address] = token = f"{secrets.randbelow(10**6):06d}"
        self.sessions[sid] = {
            "medium": "email",
            "address": address,
            "client_secret": secret,
            "token": token,
            "validated": False,
        }
        return 200, {"sid": sid}

    def _session(self, body: dict[str, Any]) -> dict[str, Any] | None:
        session = self.sessions.get(str(body.get("sid")))
        if session is None or session["client_secret"] != body.get("client_secret"):
            return None
        return session

    def _submit_token(self, body: dict[str, Any]) -> tuple[int, Any]:
        session = self._session(body)
        if session is None:
            return 404, {"errcode": "M_NO_VALID_SESSION", "error": "No session"}
        if body.get("token") != session["token"]:
            return 200, {"success": False}
        session["validated"] = True
        return 200, {"success": True}

    def _bind(self, body: dict[str, Any]) -> tuple[int, Any]:
        session = self._session(body)
        if session is None:
            return 404, {"errcode": "M_NO_VALID_SESSION", "error": "No session"}
        if not session["validated"]:
            return 400, {
                "errcode": "M_SESSION_NOT_VALIDATED",
                "error": "This validation session has not yet been completed",
            }
        mxid = body.get("mxid")
        if not isinstance(mxid, str):
            return 400, {"errcode": "M_MISSING_PARAMS", "error": "No mxid"}
        medium, address = session["medium"], session["address"]
        self.onbinds.append(self.bind(medium, address, mxid))
        association = {
            "medium": medium,
            "address": address,
            "mxid": mxid,
            "not_before": 0,
            "not_after": 2**53 - 1,
            "ts": 0,
        }
        return 200, sign_json(association, self.name, self.key)

    def _unbind(self, auth: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if not self.unbind_supported:
            return 404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}
        params = dict(re.findall(r'(\w+)="([^"]*)"', auth))
        origin = params.get("origin", "")
        verify_key = self.server_keys.get(origin, {}).get(params.get("key", ""))
        if not auth.startswith("X-Matrix ") or verify_key is None:
            return 401, {"errcode": "M_UNAUTHORIZED", "error": "Unknown origin or key"}
        signed = {
            "method": "POST",
            "uri": path,
            "origin": origin,
            "destination_is": self.name,
            "content": body,
            "signatures": {origin: {params["key"]: params.get("sig", "")}},
        }
        try:
            verify_signed_json(signed, origin, verify_key)
        except SignatureVerifyException:
            return 401, {"errcode": "M_UNAUTHORIZED", "error": "Bad signature"}
        mxid, threepid = body.get("mxid"), body.get("threepid") or {}
        if not isinstance(mxid, str) or not mxid.endswith(f":{origin}"):
            return 403, {"errcode": "M_FORBIDDEN", "error": "Not your user"}
        # As Sydent: 200 whether or not the binding was there.
        key = (threepid.get("medium"), threepid.get("address"))
        if self.bindings.get(key) == mxid:
            del self.bindings[key]
        self.unbinds.append(body)
        return 200, {}
