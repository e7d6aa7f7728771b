"""Local stand-ins for the push services, for the push gateway plugin's
tests (plugins/pushgateway). Each records what it got and checks it the way
the real service documents it, with keys the test made:

- ``HttpService``: a stdlib HTTP/1.1 server in a thread (WebPush endpoints,
  Google's token endpoint and FCM's ``messages:send``), answering through a
  per-path handler;
- ``ApnsService``: an HTTP/2 server over TLS (a self-signed certificate made
  here) on the Twisted reactor, as APNs is;
- the checks: RFC 8291 decryption with the subscription's private key, the
  RFC 8292 VAPID JWT, Google's JWT-bearer assertion, the APNs provider JWT.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import attrs
import http_ece
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from twisted.internet import ssl
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

Answer = tuple[int, dict[str, Any] | bytes]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pem_private(key: Any) -> str:
    return str(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    )


@attrs.frozen
class Got:
    """One request a fake service got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    protocol: str = "HTTP/1.1"


class HttpService(ThreadingHTTPServer):
    """Records every request; ``handlers[path](got)`` answers it (404
    otherwise). A dict answer is sent as JSON."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.got: list[Got] = []
        self.handlers: dict[str, Callable[[Got], Answer]] = {}
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                headers = {k.lower(): v for k, v in self.headers.items()}
                got = Got("POST", self.path, headers, self.rfile.read(length))
                service.got.append(got)
                handler = service.handlers.get(self.path.split("?")[0])
                code, answer = handler(got) if handler else (404, b"")
                data = (
                    json.dumps(answer).encode() if isinstance(answer, dict) else answer
                )
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__((host, 0), Handler)

    @property
    def base(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"


def serve_http(host: str = "127.0.0.1") -> Iterator[HttpService]:
    """A fixture body: a started service (on ``host``), stopped afterwards."""
    service = HttpService(host)
    threading.Thread(target=service.serve_forever, daemon=True).start()
    yield service
    service.shutdown()
    service.server_close()


# ---- WebPush -----------------------------------------------------------------


@attrs.frozen
class Subscription:
    """A browser's push subscription: its keys, as the browser keeps them."""

    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str

    @classmethod
    def make(cls, endpoint: str) -> Subscription:
        import os

        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16), endpoint)

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962,
                serialization.PublicFormat.UncompressedPoint,
            )
        )

    def decrypt(self, body: bytes) -> dict[str, Any]:
        """RFC 8291: the user agent's decryption of an aes128gcm message."""
        plain = http_ece.decrypt(
            body,
            private_key=self.private_key,
            auth_secret=self.auth,
            version="aes128gcm",
        )
        return dict(json.loads(plain))


def vapid_claims(authorization: str, audience: str) -> tuple[dict[str, Any], str]:
    """RFC 8292: check ``vapid t=<JWT>, k=<key>`` (ES256 by the key ``k``,
    ``aud`` the endpoint's origin, ``exp`` within 24 hours); the claims and
    ``k``."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid", authorization
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    public = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), unb64url(fields["k"])
    )
    assert jwt.get_unverified_header(fields["t"])["alg"] == "ES256"
    claims = jwt.decode(fields["t"], public, algorithms=["ES256"], audience=audience)
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    return dict(claims), fields["k"]


# ---- FCM -----------------------------------------------------------------------


def service_account(token_uri: str) -> tuple[dict[str, Any], rsa.RSAPrivateKey]:
    """A service account key file as the Firebase console gives it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    account = {
        "type": "service_account",
        "project_id": "chatly-test",
        "private_key_id": "key-id-1234",
        "private_key": pem_private(key),
        "client_email": "pusher@chatly-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    return account, key


def check_assertion(got: Got, account: dict[str, Any], key: rsa.RSAPrivateKey) -> None:
    """Google's token endpoint: a JWT-bearer grant whose assertion is signed
    RS256 by the service account's key, for the FCM scope."""
    assert got.headers["content-type"] == "application/x-www-form-urlencoded"
    form = {k: v[0] for k, v in parse_qs(got.body.decode()).items()}
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    header = jwt.get_unverified_header(form["assertion"])
    assert header["alg"] == "RS256" and header["kid"] == account["private_key_id"]
    claims = jwt.decode(
        form["assertion"],
        key.public_key(),
        algorithms=["RS256"],
        audience=account["token_uri"],
    )
    assert claims["iss"] == account["client_email"]
    assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
    assert claims["exp"] - claims["iat"] <= 3600


def check_fcm_message(message: dict[str, Any]) -> None:
    """The v1 message shape: a token, data of strings only."""
    assert isinstance(message["token"], str)
    assert all(
        isinstance(k, str) and isinstance(v, str) for k, v in message["data"].items()
    )
    assert message["android"]["priority"] in ("normal", "high")


# ---- APNs ----------------------------------------------------------------------


def self_signed(host: str) -> tuple[str, str]:
    """A certificate for the IP address ``host`` (and ``localhost``) and its
    key (PEM), made for the test."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(host))]
            ),
            False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_private(key)


class _ApnsResource(Resource):
    isLeaf = True

    def __init__(self, service: ApnsService) -> None:
        super().__init__()
        self.service = service

    def render_POST(self, request: Request) -> bytes:  # noqa: N802
        assert request.content is not None
        headers = {
            k.decode().lower(): v[-1].decode()
            for k, v in request.requestHeaders.getAllRawHeaders()
        }
        got = Got(
            "POST",
            request.path.decode(),
            headers,
            request.content.read(),
            request.clientproto.decode(),
        )
        self.service.got.append(got)
        code, answer = self.service.answer(got)
        request.setResponseCode(code)
        if isinstance(answer, dict):
            request.setHeader(b"content-type", b"application/json")
            return json.dumps(answer).encode()
        return answer


class ApnsService:
    """APNs on loopback: HTTP/2 over TLS on ``reactor``; ``answer(got)``
    answers (default 200 with an ``apns-id``)."""

    def __init__(self, reactor: Any, host: str = "127.0.0.1") -> None:
        self.got: list[Got] = []
        self.answer: Callable[[Got], Answer] = lambda got: (200, b"")
        self.cert_pem, key_pem = self_signed(host)
        options = ssl.CertificateOptions(
            privateKey=serialization.load_pem_private_key(key_pem.encode(), None),
            certificate=x509.load_pem_x509_certificate(self.cert_pem.encode()),
            acceptableProtocols=[b"h2"],
        )
        self.port = reactor.listenSSL(
            0, Site(_ApnsResource(self)), options, interface="127.0.0.1"
        )
        self.host = f"{host}:{self.port.getHost().port}"

    def stop(self) -> None:
        self.port.stopListening()


def apns_key() -> tuple[str, ec.EllipticCurvePrivateKey]:
    """A ``.p8`` key (PEM) as Apple gives it."""
    key = ec.generate_private_key(ec.SECP256R1())
    return pem_private(key), key


def check_provider_token(
    got: Got, key: ec.EllipticCurvePrivateKey, key_id: str, team_id: str
) -> None:
    """APNs' check of ``authorization: bearer <JWT>``: ES256 by the team's
    key, ``kid`` the key ID, ``iss`` the team, ``iat`` within the hour."""
    scheme, _, token = got.headers["authorization"].partition(" ")
    assert scheme == "bearer"
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["kid"] == key_id
    claims = jwt.decode(token, key.public_key(), algorithms=["ES256"])
    assert claims["iss"] == team_id
    assert time.time() - 3600 < claims["iat"] <= time.time() + 5


def check_apns_request(
    got: Got, key: ec.EllipticCurvePrivateKey, key_id: str, team_id: str, topic: str
) -> None:
    """What APNs requires of every request: HTTP/2, a valid provider token
    and the app's topic."""
    assert got.protocol == "HTTP/2"
    check_provider_token(got, key, key_id, team_id)
    assert got.headers["apns-topic"] == topic


def check_apns_alert(got: Got, alert: dict[str, str], badge: int) -> dict[str, Any]:
    """A visible notification (``alert``, priority 10) with this alert and
    badge and the default sound; the payload."""
    assert got.headers["apns-push-type"] == "alert"
    assert got.headers["apns-priority"] == "10"
    payload: dict[str, Any] = json.loads(got.body)
    assert payload["aps"]["alert"] == alert
    assert payload["aps"]["badge"] == badge and payload["aps"]["sound"] == "default"
    return payload
