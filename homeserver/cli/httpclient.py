"""Small JSON-over-HTTP helpers for talking to a local server (stdlib only)."""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.request
from typing import Any

import attrs

from homeserver.cli.errors import CliError
from homeserver.config import HomeserverConfig

VERSIONS_PATH = "_matrix/client/versions"


@attrs.frozen
class Response:
    """An HTTP response with its body parsed as JSON where possible."""

    status: int
    body: Any

    def matrix_error(self) -> str:
        """The Matrix ``errcode: error`` of an error body, or a generic summary."""
        if isinstance(self.body, dict) and "errcode" in self.body:
            return f"{self.body['errcode']}: {self.body.get('error', '')}".rstrip(": ")
        return f"HTTP {self.status}: {str(self.body)[:200]}"


class UnreachableError(CliError):
    """Nothing answered at the URL (connection refused, timeout, TLS failure)."""


def local_base_url(config: HomeserverConfig) -> str:
    """The URL of the first client listener on this machine.

    Unlike ``client_base_url()`` this ignores ``server.public_baseurl``: synctl runs
    next to the server, and the admin API is usually not exposed through the
    reverse proxy that ``public_baseurl`` names.
    """
    local = attrs.evolve(config.server, public_baseurl=None)
    return attrs.evolve(config, server=local).client_base_url()


def _ssl_context(url: str) -> ssl.SSLContext | None:
    if not url.startswith("https:"):
        return None
    # The local listener may well use a certificate for the public name, or a
    # self-signed one; we are talking to our own process over loopback.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _parse(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


def request_json(
    method: str,
    url: str,
    body: Any = None,
    *,
    timeout: float = 10.0,
    token: str | None = None,
) -> Response:
    """Send a request and return the status and JSON body, whatever the status.

    Args:
        method: GET or POST.
        url: the full URL.
        body: a JSON-serialisable request body, or None for no body.
        timeout: seconds to wait for connecting and for each read.
        token: an access token to send, if any.

    Returns:
        The response; 4xx and 5xx statuses are returned, not raised.

    Raises:
        UnreachableError: no HTTP response was received.
    """
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(
            request, timeout=timeout, context=_ssl_context(url)
        ) as answer:
            return Response(answer.status, _parse(answer.read()))
    except urllib.error.HTTPError as exc:
        with exc:
            return Response(exc.code, _parse(exc.read()))
    except urllib.error.URLError as exc:
        raise UnreachableError(f"cannot reach {url}: {exc.reason}") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # Timeouts, resets and malformed responses after connecting.
        raise UnreachableError(f"cannot reach {url}: {exc}") from None


def versions_answer(base_url: str, *, timeout: float = 2.0) -> bool:
    """Whether ``GET /_matrix/client/versions`` answers 200 at ``base_url``."""
    try:
        return (
            request_json("GET", base_url + VERSIONS_PATH, timeout=timeout).status == 200
        )
    except UnreachableError:
        return False
