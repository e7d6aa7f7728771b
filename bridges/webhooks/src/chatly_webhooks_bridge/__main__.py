"""``chatly-webhooks-bridge``: run the bridge, write its AS registration, or
manage incoming hooks from the command line.

    chatly-webhooks-bridge -c config.yaml --generate-registration
    chatly-webhooks-bridge -c config.yaml create-hook '!room:example.org'
    chatly-webhooks-bridge -c config.yaml revoke-hook TOKEN
    chatly-webhooks-bridge -c config.yaml
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from chatly_bridge_kit.appservice import AppServiceResource
from chatly_bridge_kit.matrix import MatrixClient
from chatly_bridge_kit.registration import (
    generate_registration,
    load_registration,
    write_registration,
)
from chatly_bridge_kit.state import BridgeState
from twisted.internet.defer import Deferred
from twisted.internet.task import react
from twisted.python import log as twisted_log
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from chatly_webhooks_bridge.bridge import WebhooksBridge
from chatly_webhooks_bridge.config import WebhooksConfig, load_config
from chatly_webhooks_bridge.incoming import IncomingHookResource
from chatly_webhooks_bridge.outgoing import OutgoingSender
from chatly_webhooks_bridge.tokens import create_hook, revoke_hook


class RootResource(Resource):
    """``/hooks/...`` to the incoming hooks, everything else to the AS API."""

    def __init__(self, hooks: Resource, appservice: Resource) -> None:
        super().__init__()
        self._hooks = hooks
        self._appservice = appservice

    def getChildWithDefault(self, path: bytes, request: Request) -> Resource:
        if path == b"hooks":
            return self._hooks
        # The AS resource is a leaf that routes on the full path itself.
        return self._appservice


def registration_for(config: WebhooksConfig) -> dict[str, object]:
    server = re.escape(config.server_name)
    return generate_registration(
        as_id="chatly-webhooks",
        url=config.url,
        sender_localpart=config.bot_localpart,
        user_regex=f"@{re.escape(config.puppet_prefix)}.*:{server}",
    )


async def run(reactor: object, config: WebhooksConfig) -> None:
    registration = load_registration(config.registration, config.server_name)
    state = BridgeState(config.database)
    client = MatrixClient(
        reactor,  # type: ignore[arg-type]
        config.homeserver_url,
        registration.as_token,
        config.server_name,
        registration.sender_localpart,
    )
    outgoing = OutgoingSender(reactor, config.outgoing, config.max_attempts)  # type: ignore[arg-type]
    bridge = WebhooksBridge(
        config=config,
        registration=registration,
        client=client,
        state=state,
        outgoing=outgoing,
    )
    root = RootResource(
        IncomingHookResource(client, state, config.puppet_prefix),
        AppServiceResource(registration.hs_token, bridge, state),
    )
    reactor.listenTCP(config.port, Site(root), interface=config.bind_host)  # type: ignore[attr-defined]
    logging.getLogger(__name__).info(
        "Webhooks bridge listening on %s:%s", config.bind_host, config.port
    )
    await Deferred()  # run until stopped


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="chatly-webhooks-bridge", description=__doc__)
    parser.add_argument("-c", "--config", type=Path, required=True)
    parser.add_argument("--generate-registration", action="store_true")
    sub = parser.add_subparsers(dest="command")
    create = sub.add_parser(
        "create-hook", help="print a new incoming hook URL for a room"
    )
    create.add_argument("room_id")
    revoke = sub.add_parser("revoke-hook", help="disable an incoming hook")
    revoke.add_argument("token", help="the hook's token or URL")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except (OSError, ValueError) as exc:
        sys.exit(f"chatly-webhooks-bridge: {exc}")
    if args.generate_registration:
        write_registration(config.registration, registration_for(config))
        print(f"Wrote {config.registration}")
        return
    if args.command == "create-hook":
        if not args.room_id.startswith("!"):
            sys.exit("chatly-webhooks-bridge: room_id must be a room ID (!...)")
        print(
            config.hooks_base + create_hook(BridgeState(config.database), args.room_id)
        )
        return
    if args.command == "revoke-hook":
        token = args.token.rsplit("/", 1)[-1]
        if not revoke_hook(BridgeState(config.database), token):
            sys.exit("chatly-webhooks-bridge: no such hook")
        print("Revoked")
        return
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    twisted_log.PythonLoggingObserver().start()
    react(run, (config,))


if __name__ == "__main__":
    main()
