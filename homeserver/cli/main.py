"""The ``synctl`` command line: argument parsing and top-level error handling."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import homeserver
from homeserver.cli import (
    appservice_cmd,
    config_cmd,
    control,
    init,
    media_cmd,
    register,
    room_cmd,
    threepid_cmd,
    user_cmd,
    workers_cmd,
)
from homeserver.cli.datadir import DEFAULT_DATA_DIR
from homeserver.cli.errors import CliError
from homeserver.cli.import_synapse import command as import_synapse
from homeserver.config import ConfigError

DESCRIPTION = """\
Manage a Chatly homeserver: create its data directory, start and stop it,
register users, inspect or change its config, move its media to S3 and
import a Synapse server.

Everything a server owns lives in one data directory (--data-dir, default
./data): homeserver.yaml, signing.key, homeserver.db, media_store/, homeserver.pid,
homeserver.log and homeserver.stderr.log."""

EPILOG = """\
examples:
  synctl init --data-dir data --server-name example.com
  synctl start
  synctl register-user alice 'correct horse battery staple' --admin
  synctl config set listeners.0.port 8448
  synctl restart
  synctl status
  synctl media migrate --to s3
  synctl appservice register irc-registration.yaml
  synctl threepid add @alice:example.com alice@example.com
  synctl user list
  synctl user create bob --password 'a long password' --displayname Bob
  synctl user modify bob --lock
  synctl user deactivate bob carol --erase
  synctl import-synapse --from-sqlite /var/lib/synapse/homeserver.db
  synctl workers generate --nginx --listen 8080 --out /etc/nginx/chatly.conf

'synctl COMMAND --help' describes each command."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of synctl and all its subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        metavar="DIR",
        help=f"the server's data directory (default: ./{DEFAULT_DATA_DIR})",
    )
    parser = argparse.ArgumentParser(
        prog="synctl",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"Chatly {homeserver.__version__}"
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show a Python traceback when something unexpected fails",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    init.add_parser(subparsers, [common])
    control.add_parsers(subparsers, [common])
    register.add_parser(subparsers, [common])
    config_cmd.add_parser(subparsers, [common])
    media_cmd.add_parser(subparsers, [common])
    appservice_cmd.add_parser(subparsers, [common])
    threepid_cmd.add_parser(subparsers, [common])
    user_cmd.add_parser(subparsers, [common])
    room_cmd.add_parsers(subparsers, [common])
    import_synapse.add_parser(subparsers, [common])
    workers_cmd.add_parser(subparsers, [common])
    return parser


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run synctl.

    Args:
        argv: the arguments, without the program name; default ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 1 on errors, 2 on usage errors, 3 from
        ``status`` when the server is not running.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return _exit_status(exc.code)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"synctl: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except ConfigError as exc:
        print(exc.describe(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("synctl: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"synctl: error: {exc or type(exc).__name__} "
            "(run 'synctl --debug ...' for a traceback)",
            file=sys.stderr,
        )
        return 1
