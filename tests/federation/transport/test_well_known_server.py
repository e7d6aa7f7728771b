"""Our /.well-known/matrix/server, and other servers' view of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from homeserver.config import parse_config
from homeserver.config.loader import ConfigError
from homeserver.federation.transport.discovery import Route, ServerResolver
from tests.support.server import TestServer

PATH = "/.well-known/matrix/server"


def test_not_configured_is_404(server: TestServer) -> None:
    resp = server.request("GET", PATH)
    assert resp.code == 404
    assert resp.json["errcode"] == "M_NOT_FOUND"


def test_delegation_is_served_and_followed(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"well_known": {"server": "matrix.example.com:443"}})
    resp = server.request("GET", PATH)
    assert resp.code == 200
    assert resp.json == {"m.server": "matrix.example.com:443"}
    assert resp.header("cache-control") == "max-age=86400"

    # Another server resolving example.com through this document.
    async def fetch(host: str) -> tuple[int, dict[str, str], bytes]:
        assert host == "example.com"
        answer = server.request("GET", PATH)
        return answer.code, answer.headers, answer.body

    async def no_srv(name: str) -> list[tuple[str, int]]:
        raise AssertionError("an explicit delegated port needs no SRV lookup")

    resolver = ServerResolver(server.hs.core.clock, no_srv, fetch)
    route: Any = server.get_success(resolver.resolve("example.com"))
    assert route == Route(
        "matrix.example.com:443", "matrix.example.com", (("matrix.example.com", 443),)
    )


@pytest.mark.parametrize("value", ["not a host", "host:99999"])
def test_bad_delegation_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError):
        parse_config({"server": {"server_name": "t"}, "well_known": {"server": value}})
