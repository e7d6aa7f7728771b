"""``synctl appservice register FILE`` and ``synctl appservice list``:
application-service registrations in homeserver.yaml (docs/appservices.md)."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

from homeserver.cli import process
from homeserver.cli.config_cmd import _raw_data, _write_validated
from homeserver.cli.datadir import DataDir
from homeserver.cli.errors import CliError
from homeserver.services.appservices.registration import (
    RegistrationError,
    load_registration_file,
)
from homeserver.services.appservices.registry import load_registrations


def register(data_dir: DataDir, file: Path) -> int:
    """Validate ``file``, add it to ``appservice.config_files`` (checked
    against the registrations already there), and make a running server
    reload."""
    config = data_dir.load_config()
    server_name = config.server.server_name
    path = file.expanduser().absolute()
    try:
        registration = load_registration_file(path, server_name)
        files = list(config.appservice.config_files)
        known = {_resolve(data_dir, name) for name in files}
        if path not in known:
            files.append(str(path))
        load_registrations(files, server_name, data_dir.root)
    except RegistrationError as exc:
        raise CliError(f"{exc}\nNot changed: {data_dir.config}") from None
    data = _raw_data(data_dir)
    section = data.setdefault("appservice", {}) or {}
    data["appservice"] = section
    section["config_files"] = files
    _write_validated(data_dir, data)
    print(
        f"Registered application service {registration.id!r} "
        f"(sender {registration.sender}) from {path}"
    )
    pid = process.running_pid(data_dir)
    if pid is not None:
        os.kill(pid, signal.SIGHUP)
        print("Chatly is running: sent SIGHUP, it reloads the registrations")
    return 0


def list_registrations(data_dir: DataDir) -> int:
    """Print each registered application service."""
    config = data_dir.load_config()
    try:
        registrations = load_registrations(
            config.appservice.config_files, config.server.server_name, data_dir.root
        )
    except RegistrationError as exc:
        raise CliError(str(exc)) from None
    for reg in registrations:
        print(f"{reg.id}\t{reg.sender}\t{reg.url or '-'}\t{reg.source}")
    return 0


def _resolve(data_dir: DataDir, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else data_dir.root / path


def _run(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    if args.appservice_command == "register":
        return register(data_dir, Path(args.file))
    return list_registrations(data_dir)


def add_parser(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    """Add the ``appservice`` subcommand and its own subcommands."""
    parser = subparsers.add_parser(
        "appservice",
        help="register application services (bridges)",
        description="Manage the application-service registrations listed in "
        "homeserver.yaml (appservice.config_files).",
    )
    commands = parser.add_subparsers(
        dest="appservice_command", metavar="COMMAND", required=True
    )
    reg = commands.add_parser(
        "register",
        parents=parents,
        help="validate a registration file and add it",
        description="Validate FILE (a registration YAML), check it against the "
        "registrations already listed (unique id and tokens, no clash of "
        "exclusive namespaces), add its path to appservice.config_files, and "
        "send a running server SIGHUP so it applies it without a restart. On "
        "any problem nothing changes.",
    )
    reg.add_argument("file", metavar="FILE", help="the registration YAML")
    commands.add_parser(
        "list",
        parents=parents,
        help="list the registered application services",
        description="Print id, sender, url and file of each registration.",
    )
    parser.set_defaults(func=_run)
