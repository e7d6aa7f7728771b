"""``synctl``, the admin command line: init, start/stop, register users, config."""

from homeserver.cli.main import main

__all__ = ["main"]
