"""The reverse-proxy plan: the route map resolved against one deployment.

``routes.py`` says which *role* serves a path; this module says which
*upstream* (a group of processes) does, for the instances a config declares:
a role with no instance falls back to main, a stream write goes to the
stream's writer, and sticky routes get an upstream of their own that hashes
the access token. The nginx and HAProxy renderers only format a plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs

from homeserver.workers.routes import (
    BLOCKED,
    DEFAULT_WEBSOCKET_PATH,
    MAIN,
    Route,
    route_map,
)

# Upstreams of single stream writers; role upstreams are chatly_<role>.
_WRITER_PREFIX = "chatly_writer_"
_WILDCARDS = frozenset({"0.0.0.0", "::", "[::]", ""})


class InstanceLike(Protocol):
    """What the plan needs of a worker instance (``WorkerInstanceConfig``)."""

    @property
    def name(self) -> str: ...  # noqa: D102

    @property
    def role(self) -> str: ...  # noqa: D102

    @property
    def port(self) -> int: ...  # noqa: D102

    @property
    def bind_address(self) -> str: ...  # noqa: D102


@attrs.frozen
class Server:
    """One process behind the proxy."""

    name: str
    host: str
    port: int

    @property
    def address(self) -> str:
        """``host:port`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@attrs.frozen
class Upstream:
    """A group of processes one kind of request is balanced over."""

    name: str
    servers: tuple[Server, ...]
    sticky: bool = False


@attrs.frozen
class PlannedRoute:
    """A route of the map with the upstream it goes to."""

    route: Route
    upstream: str


@attrs.frozen
class ProxyPlan:
    """Everything a proxy config needs: upstreams, ordered routes, blocks."""

    upstreams: tuple[Upstream, ...]
    routes: tuple[PlannedRoute, ...]
    default_upstream: str
    blocked: tuple[str, ...] = BLOCKED
    max_body_size: int = 50 * 1024 * 1024
    websocket_path: str = DEFAULT_WEBSOCKET_PATH

    def upstream(self, name: str) -> Upstream:
        """The upstream called ``name``."""
        return next(u for u in self.upstreams if u.name == name)


def reachable_host(bind_address: str) -> str:
    """The address other processes on this machine reach a listener on."""
    # A worker listening on every interface is reached on loopback.
    return "127.0.0.1" if bind_address in _WILDCARDS else bind_address


def _upstream_name(kind: str, sticky: bool = False) -> str:
    return f"chatly_{kind}" + ("_sticky" if sticky else "")


def build_plan(
    instances: Sequence[InstanceLike],
    *,
    main_port: int,
    stream_writers: Mapping[str, str] | None = None,
    websocket_path: str = DEFAULT_WEBSOCKET_PATH,
    max_body_size: int = 50 * 1024 * 1024,
) -> ProxyPlan:
    """Resolve the route map for a deployment.

    Args:
        instances: the worker instances (``workers.instances``).
        main_port: the port main is reached on (127.0.0.1).
        stream_writers: ``workers.stream_writers`` (stream -> instance name).
        websocket_path: ``websocket.path``.
        max_body_size: the largest request body to let through, in bytes.
    """
    main = Server(MAIN, "127.0.0.1", main_port)
    by_role: dict[str, list[Server]] = {}
    by_name: dict[str, Server] = {MAIN: main}
    for instance in instances:
        server = Server(
            instance.name, reachable_host(instance.bind_address), instance.port
        )
        by_role.setdefault(instance.role, []).append(server)
        by_name[instance.name] = server
    upstreams: dict[str, Upstream] = {
        _upstream_name(MAIN): Upstream(_upstream_name(MAIN), (main,))
    }
    planned = []
    for route in route_map(websocket_path):
        name = _route_upstream(route, by_role, by_name, stream_writers or {})
        if name is None:
            name = _upstream_name(MAIN)
        elif name not in upstreams:
            upstreams[name] = _make_upstream(name, route, by_role, by_name)
        planned.append(PlannedRoute(route, name))
    return ProxyPlan(
        upstreams=tuple(upstreams.values()),
        routes=tuple(planned),
        default_upstream=_upstream_name(MAIN),
        max_body_size=max_body_size,
        websocket_path=websocket_path,
    )


def _route_upstream(
    route: Route,
    by_role: Mapping[str, list[Server]],
    by_name: Mapping[str, Server],
    stream_writers: Mapping[str, str],
) -> str | None:
    """The upstream name of ``route``, or None for main."""
    if route.stream is not None:
        writer = stream_writers.get(route.stream, MAIN)
        if writer == MAIN or writer not in by_name:
            return None
        return _WRITER_PREFIX + writer
    if route.role == MAIN or not by_role.get(route.role):
        return None
    return _upstream_name(route.role, route.sticky)


def _make_upstream(
    name: str,
    route: Route,
    by_role: Mapping[str, list[Server]],
    by_name: Mapping[str, Server],
) -> Upstream:
    if route.stream is not None:
        return Upstream(name, (by_name[name.removeprefix(_WRITER_PREFIX)],))
    return Upstream(name, tuple(by_role[route.role]), sticky=route.sticky)
