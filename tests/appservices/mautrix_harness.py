"""Shared harness of the mautrix-python tests against a real process: a
Chatly server started with ``synctl`` whose config lists the registration of
a mautrix ``AppService`` (``mautrix_as.py``) that runs on loopback and talks
to our client API through its ``IntentAPI``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import attrs
import yaml

from tests.appservices.mautrix_as import MautrixAppService
from tests.e2e.conftest import RunningServer, synctl_server
from tests.ports import free_port

AS_TOKEN = "mautrix-as-token"
HS_TOKEN = "mautrix-hs-token"
AS_ID = "mautrix"
DOMAIN = "localhost"  # synctl_server's server name
PUPPETS = rf"@irc_.*:{DOMAIN}"


@attrs.frozen
class MautrixBridge:
    """A running server and the mautrix AS registered with it."""

    server: RunningServer
    service: MautrixAppService

    def intent(self, user_id: str | None = None) -> Any:
        """The AS's ``IntentAPI``: its bot, or ``user_id`` (a puppet)."""
        bot = self.service.appservice.intent
        return bot if user_id is None else bot.user(user_id)

    def run(self, coro: Any) -> Any:
        """Run an ``IntentAPI`` call on the AS's loop; its result."""
        return self.service.run(coro)


def registration_file(path: Path, as_port: int) -> Path:
    """Write the registration of the mautrix AS (``@irc_*`` puppets,
    exclusive; bot ``@bridgebot``)."""
    path.write_text(
        yaml.safe_dump(
            {
                "id": AS_ID,
                "url": f"http://127.0.0.1:{as_port}",
                "as_token": AS_TOKEN,
                "hs_token": HS_TOKEN,
                "sender_localpart": "bridgebot",
                "rate_limited": False,
                "namespaces": {
                    "users": [{"regex": PUPPETS, "exclusive": True}],
                    "aliases": [{"regex": rf"#irc_.*:{DOMAIN}", "exclusive": True}],
                },
                "receive_ephemeral": True,
            }
        )
    )
    return path


@contextmanager
def mautrix_bridge(tmp_path: Path, dsn: str | None = None) -> Iterator[MautrixBridge]:
    """A synctl-started server with the mautrix AS registered, and the AS
    running; both stopped afterwards (``dsn``: on that PostgreSQL database,
    else SQLite)."""
    as_port = free_port()
    registration = registration_file(tmp_path / "mautrix.yaml", as_port)
    settings = {
        "appservice.config_files": json.dumps([str(registration)]),
        "rate_limiting.enabled": "false",
    }
    if dsn is not None:
        # dsn first: engine postgres without one does not validate.
        settings["database.dsn"] = json.dumps(dsn)
        settings["database.engine"] = "postgres"
    with ExitStack() as stack:
        server = stack.enter_context(synctl_server(tmp_path / "data", settings))
        service = MautrixAppService(
            as_token=AS_TOKEN,
            hs_token=HS_TOKEN,
            as_id=AS_ID,
            port=as_port,
            server=server.url,
            domain=DOMAIN,
        )
        stack.callback(service.close)
        yield MautrixBridge(server, service)
