"""The stand-alone gateway: the same back ends behind the push gateway API
for any homeserver (Synapse, Chatly, ...), as Sygnal is run.

    python -m chatly_pushgateway --config gateway.yaml

The YAML file has the plugin's ``apps`` plus where to listen and the
outbound address rules (``StandaloneConfig``); it is validated with the
homeserver's typed loader (unknown keys are errors). Outbound HTTP/1.1
(WebPush endpoints, FCM) goes through Chatly's guarded client, so a
subscription cannot point the gateway at a private address. Needs the
``chatly-homeserver`` package installed next to this one.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import attrs
import yaml
from twisted.internet import defer
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from chatly_pushgateway.config import AppConfig
from chatly_pushgateway.gateway import Gateway
from chatly_pushgateway.notify import PATH, handle_notify
from chatly_pushgateway.pushkin import HttpResponse, PushkinContext, TransportError
from homeserver.config.sections.federation import DEFAULT_IP_RANGE_BLACKLIST
from homeserver.plugins.api import PluginHttpError
from homeserver.plugins.outbound import plugin_http_client, plugin_request
from homeserver.util.structure import StructureError, structure

logger = logging.getLogger("chatly_pushgateway")
MAX_BODY = 64 * 1024


@attrs.frozen(kw_only=True)
class ListenConfig:
    """Where the gateway listens (plain HTTP: put TLS in front of it).

    Attributes:
        bind_address: the address to bind.
        port: the TCP port (0: any free port, logged at start).
    """

    bind_address: str = "127.0.0.1"
    port: int = 5000


@attrs.frozen(kw_only=True)
class StandaloneConfig:
    """The stand-alone gateway's YAML file.

    Attributes:
        listen: the HTTP listener.
        apps: app ID -> back end, as the plugin's ``apps``.
        ip_range_blacklist: outbound requests never connect to these ranges
            (checked after DNS resolution).
        ip_range_whitelist: ranges allowed even so (a push service on a
            private network, tests on loopback).
        http_timeout_seconds: the limit of one request to a push service.
    """

    listen: ListenConfig = attrs.field(factory=ListenConfig)
    apps: dict[str, AppConfig] = attrs.field(factory=dict)
    ip_range_blacklist: list[str] = attrs.field(
        factory=lambda: list(DEFAULT_IP_RANGE_BLACKLIST)
    )
    ip_range_whitelist: list[str] = attrs.field(factory=list)
    http_timeout_seconds: float = 10.0


def load_config(path: Path) -> StandaloneConfig:
    """Read and validate the YAML file.

    Raises:
        StructureError: with every problem (key paths named).
    """
    data = yaml.safe_load(path.read_text()) or {}
    config: StandaloneConfig = structure(
        StandaloneConfig, data, strict=True, base_dir=path.parent
    )
    return config


class NotifyResource(Resource):
    """``POST /_matrix/push/v1/notify``; ``GET /health``; 404 elsewhere."""

    isLeaf = True

    def __init__(self, gateway: Gateway) -> None:
        super().__init__()
        self.gateway = gateway

    def render(self, request: Request) -> Any:
        path, method = request.path.decode(), request.method.decode()
        if path == "/health" and method == "GET":
            self._send(request, 200, {})
        elif path != PATH:
            self._send(request, 404, _error("M_UNRECOGNIZED", "Unknown path"))
        elif method != "POST":
            self._send(request, 405, _error("M_UNRECOGNIZED", "Use POST"))
        else:
            assert request.content is not None
            body = request.content.read(MAX_BODY + 1)
            if len(body) > MAX_BODY:
                self._send(request, 413, _error("M_TOO_LARGE", "Body too large"))
                return NOT_DONE_YET
            done = defer.Deferred.fromCoroutine(handle_notify(self.gateway, body))
            done.addCallback(lambda answer: self._send(request, *answer))
            done.addErrback(self._failed, request)
        return NOT_DONE_YET

    def _failed(self, failure: Any, request: Request) -> None:
        logger.error("notify failed: %s", failure.getTraceback())
        self._send(request, 500, _error("M_UNKNOWN", "Internal error"))

    @staticmethod
    def _send(request: Request, code: int, answer: dict[str, Any]) -> None:
        """Write the JSON answer, unless the client has gone."""
        if request.finished or request._disconnected:
            return
        body = json.dumps(answer).encode()
        request.setResponseCode(code)
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Content-Length", str(len(body)).encode())
        request.write(body)
        request.finish()


def _error(errcode: str, message: str) -> dict[str, Any]:
    return {"errcode": errcode, "error": message}


def build_gateway(config: StandaloneConfig, reactor: Any) -> Gateway:
    """The gateway with the guarded outbound client."""
    client = plugin_http_client(
        reactor,
        config.ip_range_blacklist,
        config.ip_range_whitelist,
        config.http_timeout_seconds,
    )

    async def send(
        method: str, url: str, *, body: bytes | None, headers: dict[str, str]
    ) -> HttpResponse:
        try:
            return await plugin_request(client, method, url, body, headers)
        except PluginHttpError as exc:
            raise TransportError(str(exc)) from None

    context = PushkinContext(
        http=send,
        reactor=reactor,
        logger=logger,
        timeout_s=config.http_timeout_seconds,
    )
    return Gateway(config.apps, context)


def main(argv: list[str] | None = None) -> int:
    """Run the gateway until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m chatly_pushgateway")
    parser.add_argument("--config", required=True, type=Path, help="the YAML file")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = load_config(args.config)
    except StructureError as exc:
        problems = "\n".join(f"  {p}" for p in exc.problems)
        print(
            f"{args.config}: {len(exc.problems)} problem(s):\n{problems}",
            file=sys.stderr,
        )
        return 1
    except (OSError, yaml.YAMLError) as exc:
        print(f"{args.config}: {exc}", file=sys.stderr)
        return 1
    from twisted.internet import reactor as global_reactor

    reactor: Any = global_reactor
    gateway = build_gateway(config, reactor)
    port = reactor.listenTCP(
        config.listen.port,
        Site(NotifyResource(gateway)),
        interface=config.listen.bind_address,
    )
    address = port.getHost()
    logger.info(
        "push gateway listening on http://%s:%d%s (apps: %s)",
        address.host,
        address.port,
        PATH,
        ", ".join(sorted(config.apps)) or "none",
    )
    reactor.addSystemEventTrigger(
        "before", "shutdown", lambda: defer.Deferred.fromCoroutine(gateway.close())
    )
    reactor.run()
    return 0
