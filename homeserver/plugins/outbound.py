"""Outbound HTTP for plugins (``PluginAPI.http_request``): one request
through the server's guarded client (``http_client/untrusted.py``) with the
``plugins.ip_range_*`` filter, so a plugin never reaches a denied address,
whatever URL its config or its users give it. Redirects are not followed
(a 3xx is the answer)."""

from __future__ import annotations

from typing import Any

from homeserver.http_client.ip_filter import IpFilter
from homeserver.http_client.untrusted import OutboundRequestError, UntrustedHttpClient
from homeserver.plugins.api_types import PluginHttpError, PluginHttpResponse

PLUGIN_USER_AGENT = "Chatly (plugins)"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})


def plugin_http_client(
    reactor: Any, blacklist: list[str], whitelist: list[str], timeout_s: float
) -> UntrustedHttpClient:
    """The guarded client every plugin's requests share."""
    return UntrustedHttpClient(
        reactor=reactor,
        ip_filter=IpFilter(blacklist, whitelist),
        timeout_s=timeout_s,
        max_redirects=0,
        user_agent=PLUGIN_USER_AGENT,
    )


async def plugin_request(
    client: UntrustedHttpClient,
    method: str,
    url: str,
    body: bytes | None,
    headers: dict[str, str] | None,
) -> PluginHttpResponse:
    """One request for a plugin (see ``PluginAPI.http_request``)."""
    method = method.upper()
    if method not in METHODS:
        raise PluginHttpError(f"unsupported method {method}")
    try:
        response = await client.request(method, url, dict(headers or {}), body)
    except OutboundRequestError as exc:
        raise PluginHttpError(f"{type(exc).__name__}: {exc}") from None
    found = {
        name.decode("latin-1").lower(): values[-1].decode("latin-1")
        for name, values in response.headers.getAllRawHeaders()
    }
    return PluginHttpResponse(response.code, found, response.body)
