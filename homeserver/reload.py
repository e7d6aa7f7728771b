"""Reloading on SIGHUP: what a running server re-reads without a restart.

Only the application-service registrations (``appservice.config_files``) are
applied: the config file is read again and, if it and every listed
registration are valid, the new set replaces the old one at once; otherwise
the error is logged and everything stays as it was. Other changed options
still need ``synctl restart`` (docs/appservices.md, "Reloading").
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any

from homeserver.composition import HomeServer
from homeserver.config import ConfigError, load_config
from homeserver.services.appservices.registration import RegistrationError

logger = logging.getLogger(__name__)


def reload_appservices(server: HomeServer, config_path: Path) -> bool:
    """Re-read the config's registration list and apply it; returns whether
    it was applied (a problem is logged, and nothing changes)."""
    try:
        config = load_config(config_path)
        server.appservices.reload(config.appservice.config_files)
    except (ConfigError, RegistrationError) as exc:
        logger.error("reload refused, registrations unchanged: %s", exc)
        return False
    # New or changed registrations: their queues start (or resume) at once.
    server.appservice_outbound.sender.wake_all()
    return True


def install_sighup(server: HomeServer, config_path: Path, reactor: Any) -> None:
    """Reload the registrations when the process gets SIGHUP (on the
    reactor thread, never inside the signal handler)."""

    def on_sighup(_signum: int, _frame: Any) -> None:
        reactor.callFromThread(reload_appservices, server, config_path)

    signal.signal(signal.SIGHUP, on_sighup)
