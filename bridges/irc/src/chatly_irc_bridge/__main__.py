"""``chatly-irc-bridge``: run the bridge, or write its AS registration.

chatly-irc-bridge -c config.yaml --generate-registration
chatly-irc-bridge -c config.yaml
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
from twisted.web.server import Site

from chatly_irc_bridge.bridge import IrcBridge
from chatly_irc_bridge.config import IrcBridgeConfig, load_config


def registration_for(config: IrcBridgeConfig) -> dict[str, object]:
    server = re.escape(config.server_name)
    prefix = re.escape(config.puppet_prefix)
    return generate_registration(
        as_id="chatly-irc",
        url=config.url,
        sender_localpart=config.bot_localpart,
        user_regex=f"@{prefix}.*:{server}",
        alias_regex=f"#{prefix}.*:{server}",
    )


async def run(reactor: object, config: IrcBridgeConfig) -> None:
    registration = load_registration(config.registration, config.server_name)
    state = BridgeState(config.database)
    client = MatrixClient(
        reactor,  # type: ignore[arg-type]
        config.homeserver_url,
        registration.as_token,
        config.server_name,
        registration.sender_localpart,
    )
    bridge = IrcBridge(
        reactor=reactor,  # type: ignore[arg-type]
        config=config,
        registration=registration,
        client=client,
        state=state,
    )
    site = Site(AppServiceResource(registration.hs_token, bridge, state))
    reactor.listenTCP(config.port, site, interface=config.bind_host)  # type: ignore[attr-defined]
    logging.getLogger(__name__).info(
        "IRC bridge listening on %s:%s", config.bind_host, config.port
    )
    bridge.start()
    await Deferred()  # run until stopped


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="chatly-irc-bridge", description=__doc__)
    parser.add_argument("-c", "--config", type=Path, required=True)
    parser.add_argument(
        "--generate-registration",
        action="store_true",
        help="write the AS registration file named in the config, then exit",
    )
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except (OSError, ValueError) as exc:
        sys.exit(f"chatly-irc-bridge: {exc}")
    if args.generate_registration:
        write_registration(config.registration, registration_for(config))
        print(f"Wrote {config.registration}")
        return
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    twisted_log.PythonLoggingObserver().start()
    react(run, (config,))


if __name__ == "__main__":
    main()
