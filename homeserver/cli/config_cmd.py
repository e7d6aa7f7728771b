"""``synctl config check|show|get|set``: inspect and change homeserver.yaml."""

from __future__ import annotations

import argparse
from typing import Any

import attrs
import yaml

from homeserver.cli import keypath, process
from homeserver.cli.datadir import DataDir
from homeserver.cli.errors import CliError
from homeserver.cli.yamlfile import dump_yaml, leading_comments, write_text_atomically
from homeserver.config import ConfigError, HomeserverConfig, parse_config
from homeserver.config.keyfile import read_signing_key
from homeserver.config.loader import read_yaml
from homeserver.util.structure import field_key, unstructure

REDACTED = "<redacted>"


def plain_config(obj: Any, *, show_secrets: bool = False) -> Any:
    """The plain-data form of a config object, with secrets redacted.

    A field is secret when its attrs metadata says ``secret=True``; unset secrets
    stay ``None`` (there is nothing to hide, and it shows they are unset).
    """
    if attrs.has(type(obj)):
        out = {}
        for field in attrs.fields(type(obj)):
            value = getattr(obj, field.name)
            secret = field.metadata.get("secret") and value is not None
            out[field_key(field)] = (
                REDACTED
                if secret and not show_secrets
                else plain_config(value, show_secrets=show_secrets)
            )
        return out
    if isinstance(obj, list):
        return [plain_config(item, show_secrets=show_secrets) for item in obj]
    if isinstance(obj, dict):
        return {k: plain_config(v, show_secrets=show_secrets) for k, v in obj.items()}
    return unstructure(obj)


def format_value(value: Any, *, one_line: bool = False) -> str:
    """Scalars as plain text (YAML spelling for null and booleans), the rest as YAML."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if one_line:
        return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return dump_yaml(value).rstrip("\n")


def check(data_dir: DataDir) -> int:
    """Validate the config (and the signing key, if there is one)."""
    config = data_dir.load_config()
    key_path = data_dir.root / config.server.signing_key_path
    if key_path.exists():
        read_signing_key(key_path)
    print(f"OK: {data_dir.config}")
    if not key_path.exists():
        print(f"Note: no signing key at {key_path} yet; 'synctl start' creates one")
    return 0


def show(data_dir: DataDir, *, show_secrets: bool = False) -> int:
    """Print the effective config, defaults filled in, as YAML."""
    config = data_dir.load_config()
    print(dump_yaml(plain_config(config, show_secrets=show_secrets)), end="")
    return 0


def get(data_dir: DataDir, key: str, *, show_secrets: bool = False) -> int:
    """Print one value of the effective config."""
    config = data_dir.load_config()
    value = keypath.lookup(plain_config(config, show_secrets=show_secrets), key)
    print(format_value(value))
    return 0


def _raw_data(data_dir: DataDir) -> dict[str, Any]:
    """The parsed YAML of homeserver.yaml, as written (no defaults filled in)."""
    data_dir.require_config()
    data = read_yaml(data_dir.config)
    if not isinstance(data, dict):
        raise CliError(f"{data_dir.config}: the top level is not a mapping")
    return data


def _write_validated(data_dir: DataDir, data: dict[str, Any]) -> HomeserverConfig:
    """Validate ``data`` and, only if it is valid, write it to homeserver.yaml.

    The header comment block is kept; other comments are lost, as PyYAML does not
    keep them.
    """
    try:
        config = parse_config(data, base_dir=data_dir.root, source=str(data_dir.config))
    except ConfigError as exc:
        raise CliError(
            f"{exc.describe()}\nNot changed: {data_dir.config} stays as it was."
        ) from None
    header = leading_comments(data_dir.config)
    write_text_atomically(data_dir.config, header + dump_yaml(data))
    return config


def _restart_hint(data_dir: DataDir) -> None:
    if process.running_pid(data_dir) is not None:
        print("Chatly is running; restart it to apply the change: synctl restart")


def set_value(data_dir: DataDir, key: str, text: str) -> int:
    """Set ``key`` to the YAML value ``text`` in homeserver.yaml, if valid."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = str(getattr(exc, "problem", None) or exc)
        raise CliError(f"cannot read {text!r} as a YAML value: {problem}") from None
    data = _raw_data(data_dir)
    keypath.assign(data, key, value)
    config = _write_validated(data_dir, data)
    try:
        effective = format_value(
            keypath.lookup(plain_config(config), key), one_line=True
        )
    except CliError:  # e.g. a *_path key, which is not part of the effective config
        print(f"Set {key} in {data_dir.config}")
    else:
        print(f"Set {key} = {effective} in {data_dir.config}")
    _restart_hint(data_dir)
    return 0


def unset_value(data_dir: DataDir, key: str) -> int:
    """Remove ``key`` from homeserver.yaml (back to its default), if still valid."""
    data = _raw_data(data_dir)
    keypath.remove(data, key)
    _write_validated(data_dir, data)
    print(f"Removed {key} from {data_dir.config}; it has its default now")
    _restart_hint(data_dir)
    return 0


def _run(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    if args.config_command == "check":
        return check(data_dir)
    if args.config_command == "show":
        return show(data_dir, show_secrets=args.show_secrets)
    if args.config_command == "get":
        return get(data_dir, args.key, show_secrets=args.show_secrets)
    if args.config_command == "unset":
        return unset_value(data_dir, args.key)
    return set_value(data_dir, args.key, args.value)


def add_parser(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    """Add the ``config`` subcommand and its own subcommands."""
    parser = subparsers.add_parser(
        "config",
        help="check, show, get or set config options",
        description="Inspect and change DIR/homeserver.yaml. Keys are dotted paths "
        "into the config, with list items numbered from 0 (listeners.0.port).",
    )
    commands = parser.add_subparsers(
        dest="config_command", metavar="COMMAND", required=True
    )
    commands.add_parser(
        "check",
        parents=parents,
        help="validate the config",
        description="Validate homeserver.yaml (and the signing key file). Prints "
        "every problem with its key path and exits 1, or prints 'OK: <path>'.",
    )
    show_parser = commands.add_parser(
        "show",
        parents=parents,
        help="print the effective config as YAML",
        description="Print the effective config, every default filled in, as YAML. "
        f"Secrets are shown as {REDACTED} unless --show-secrets is given.",
    )
    _add_show_secrets(show_parser)
    get_parser = commands.add_parser(
        "get",
        parents=parents,
        help="print one option of the effective config",
        description="Print the value at KEY in the effective config (defaults "
        "included): scalars as plain text, sections and lists as YAML.",
    )
    get_parser.add_argument("key", metavar="KEY", help="e.g. listeners.0.port")
    _add_show_secrets(get_parser)
    set_parser = commands.add_parser(
        "set",
        parents=parents,
        help="change one option, with validation",
        description="Set KEY to VALUE in homeserver.yaml. VALUE is read as YAML "
        "(8448, true, null, '[client, federation]', '\"quoted string\"'). Missing "
        "sections are created; list items must exist. The changed config is "
        "validated first: if it is invalid the file is left unchanged. Restart "
        "the server to apply the change.",
    )
    set_parser.add_argument("key", metavar="KEY", help="e.g. listeners.0.port")
    set_parser.add_argument("value", metavar="VALUE", help="a YAML value, e.g. 8448")
    unset_parser = commands.add_parser(
        "unset",
        parents=parents,
        help="remove one option from the file, back to its default",
        description="Remove KEY from homeserver.yaml so it takes its default. The "
        "changed config is validated first, as with set.",
    )
    unset_parser.add_argument("key", metavar="KEY", help="e.g. server.public_baseurl")
    parser.set_defaults(func=_run)


def _add_show_secrets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help=f"show secret values instead of {REDACTED}",
    )
