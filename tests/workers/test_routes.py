"""The proxy route map (homeserver/workers/routes.py) against the endpoints the
server really serves, and the plan it resolves to for a deployment."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import homeserver.api
from homeserver.workers import routes
from homeserver.workers.proxy_plan import build_plan
from homeserver.workers.routes import (
    CLIENT_READER,
    FEDERATION_READER,
    MAIN,
    MEDIA,
    is_blocked,
    resolve,
    route_map,
)
from tests.workers.instances import Instance


def _served_patterns() -> list[str]:
    """Every PATTERNS entry of every endpoint class under homeserver.api."""
    found: set[str] = set()
    for info in pkgutil.walk_packages(homeserver.api.__path__, "homeserver.api."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            patterns = getattr(value, "PATTERNS", None)
            if isinstance(value, type) and isinstance(patterns, list | tuple):
                found.update(p for p in patterns if isinstance(p, str))
    return sorted(found)


def _sample(pattern: str) -> str:
    return re.sub(r"\{\w+\}", "x1", pattern)


def test_every_route_matches_an_endpoint_the_server_serves() -> None:
    """No dead routes: each regex matches some real endpoint path."""
    served = [_sample(p) for p in _served_patterns()]
    assert len(served) > 150
    dead = [
        r.pattern
        for r in route_map()
        if not r.websocket and not any(re.search(r.pattern, p) for p in served)
    ]
    assert dead == []


C = "/_matrix/client/v3"

EXPECTED = [
    ("GET", f"{C}/sync", CLIENT_READER, True),
    ("GET", "/_matrix/client/r0/sync", CLIENT_READER, True),
    ("GET", f"{C}/events", CLIENT_READER, True),
    (
        "POST",
        "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync",
        CLIENT_READER,
        True,
    ),
    ("GET", "/_chatly/client/v1/ws", CLIENT_READER, True),
    ("GET", f"{C}/rooms/!r:hs/messages", CLIENT_READER, False),
    ("GET", f"{C}/rooms/!r:hs/context/$e", CLIENT_READER, False),
    ("GET", f"{C}/rooms/!r:hs/members", CLIENT_READER, False),
    ("GET", f"{C}/rooms/!r:hs/state", CLIENT_READER, False),
    ("GET", f"{C}/rooms/!r:hs/state/m.room.name/", CLIENT_READER, False),
    ("GET", f"{C}/initialSync", CLIENT_READER, True),
    ("POST", f"{C}/keys/query", CLIENT_READER, False),
    ("GET", f"{C}/keys/changes", CLIENT_READER, False),
    ("GET", f"{C}/profile/@a:hs", CLIENT_READER, False),
    ("GET", f"{C}/profile/@a:hs/displayname", CLIENT_READER, False),
    ("POST", f"{C}/user_directory/search", CLIENT_READER, False),
    ("POST", f"{C}/search", CLIENT_READER, False),
    ("GET", "/_matrix/client/v1/rooms/!r:hs/relations/$e", CLIENT_READER, False),
    ("PUT", f"{C}/rooms/!r:hs/send/m.room.message/t1", MAIN, False),
    ("PUT", f"{C}/rooms/!r:hs/state/m.room.name/", MAIN, False),
    ("PUT", f"{C}/profile/@a:hs/displayname", MAIN, False),
    ("POST", f"{C}/createRoom", MAIN, False),
    ("POST", f"{C}/join/!r:hs", MAIN, False),
    ("POST", f"{C}/login", MAIN, False),
    ("POST", f"{C}/keys/claim", MAIN, False),
    ("POST", f"{C}/keys/upload", MAIN, False),
    ("PUT", f"{C}/rooms/!r:hs/typing/@a:hs", MAIN, False),
    ("PUT", "/_matrix/federation/v1/send/123", FEDERATION_READER, False),
    ("GET", "/_matrix/federation/v1/query/profile", FEDERATION_READER, False),
    ("GET", "/_matrix/key/v2/server", FEDERATION_READER, False),
    ("GET", "/_matrix/federation/v1/media/download/abc", MEDIA, False),
    ("POST", "/_matrix/media/v3/upload", MEDIA, False),
    ("GET", "/_matrix/client/v1/media/download/hs/abc", MEDIA, False),
    ("GET", "/_synapse/admin/v1/media/hs/abc", MEDIA, False),
    ("GET", "/_synapse/admin/v2/users/@a:hs", MAIN, False),
    ("GET", "/.well-known/matrix/client", MAIN, False),
]


@pytest.mark.parametrize(("method", "path", "role", "sticky"), EXPECTED)
def test_resolve(method: str, path: str, role: str, sticky: bool) -> None:
    route = resolve(path, method)
    assert (route.role if route else MAIN) == role
    assert (route.sticky if route else False) is sticky


def test_stream_writes_name_their_stream() -> None:
    route = resolve(f"{C}/rooms/!r:hs/typing/@a:hs", "PUT")
    assert route is not None and route.stream == "typing"
    route = resolve(f"{C}/rooms/!r:hs/receipt/m.read/$e", "POST")
    assert route is not None and route.stream == "receipts"
    # Reading account data is a read, writing it goes to its writer.
    path = f"{C}/user/@a:hs/account_data/m.direct"
    assert resolve(path, "GET").role == CLIENT_READER
    assert resolve(path, "PUT").stream == "account_data"


@pytest.mark.parametrize(
    "path",
    [
        "/_chatly/replication/status",
        "/_chatly/replication",
        "/metrics",
        "/_synapse/metrics",
    ],
)
def test_internal_paths_are_blocked(path: str) -> None:
    assert is_blocked(path)
    assert not is_blocked("/_chatly/client/v1/ws")


def test_plan_falls_back_to_main_for_missing_roles() -> None:
    plan = build_plan([Instance("reader1", CLIENT_READER, 9001)], main_port=9000)
    upstreams = {pr.route.pattern: pr.upstream for pr in plan.routes}
    assert upstreams[r"^/_matrix/federation/"] == "chatly_main"
    assert upstreams[r"^/_matrix/media/"] == "chatly_main"
    sync = routes._C + r"/sync$"
    assert upstreams[sync] == "chatly_client_reader_sticky"
    sticky = plan.upstream("chatly_client_reader_sticky")
    assert sticky.sticky and [s.port for s in sticky.servers] == [9001]


def test_plan_routes_stream_writes_to_their_writer() -> None:
    plan = build_plan(
        [Instance("reader1", CLIENT_READER, 9001, "0.0.0.0")],
        main_port=9000,
        stream_writers={"typing": "reader1", "receipts": "main"},
    )
    by_stream = {pr.route.stream: pr.upstream for pr in plan.routes if pr.route.stream}
    assert by_stream["typing"] == "chatly_writer_reader1"
    assert by_stream["receipts"] == "chatly_main"
    assert plan.upstream("chatly_writer_reader1").servers[0].address == "127.0.0.1:9001"
