"""``synctl init``: create a data directory with a config and a signing key."""

from __future__ import annotations

import argparse
import re
import secrets
from typing import Any

from homeserver.cli.datadir import DataDir
from homeserver.cli.errors import CliError
from homeserver.cli.yamlfile import dump_yaml, write_text_atomically
from homeserver.config import parse_config
from homeserver.config.keyfile import ensure_signing_key
from homeserver.config.tls import generate_self_signed

DEFAULT_SERVER_NAME = "localhost"
DEFAULT_HTTP_PORT = 8008
TLS_CERT = "tls.crt"
TLS_KEY = "tls.key"

# The server name grammar of the Matrix spec (appendices, "Server Name"):
# an IPv6 literal, an IPv4 address or a DNS name, then an optional port.
_SERVER_NAME = re.compile(
    r"(\[[0-9A-Fa-f:.]{2,45}\]|[0-9]{1,3}(\.[0-9]{1,3}){3}|[A-Za-z0-9.-]{1,255})"
    r"(:[0-9]{1,5})?"
)

HEADER = """\
# Chatly homeserver configuration, written by `synctl init`.
#
# Only the options that matter to get going are set here; everything else has
# its default. See config/homeserver.sample.yaml for every option, `synctl config
# show` for the effective configuration, and `synctl config set KEY VALUE` to
# change an option with validation.
"""

# Written by --insecure-federation-for-testing: peers on this machine are allowed
# (the default ip_range_blacklist covers loopback) and their self-signed
# certificates are accepted.
LOOPBACK_RANGES = ["127.0.0.0/8", "::1/128"]

INSECURE_HEADER = """\
#
# THIS CONFIG IS FOR TEST SET-UPS ONLY (synctl init
# --insecure-federation-for-testing): federation.verify_certificates is off and
# federation.ip_range_whitelist allows loopback, so that servers on this machine
# with self-signed certificates can federate. Never use it on a server reachable
# from the internet; the comment on the federation section below says why.
"""

INSECURE_COMMENT = """\
# FOR TEST SET-UPS ONLY (synctl init --insecure-federation-for-testing).
# verify_certificates: false accepts any TLS certificate from other servers, so
# that servers with self-signed certificates can federate; ip_range_whitelist
# lets federation requests go to servers on this machine, which
# ip_range_blacklist blocks by default. On a server reachable from the internet
# the first lets anyone impersonate any other server to this one, and the second
# lets remote parties make this server send requests to services on localhost.
# Remove this section before federating with the real world (docs/federation.md).
"""


def build_initial_config(
    server_name: str,
    http_port: int = DEFAULT_HTTP_PORT,
    *,
    open_registration: bool = False,
    public_baseurl: str | None = None,
    federation_port: int | None = None,
    self_signed_tls: bool = False,
    insecure_federation_for_testing: bool = False,
) -> dict[str, Any]:
    """The raw YAML data of a new, small, explicit homeserver.yaml.

    Args:
        server_name: the domain part of user IDs.
        http_port: the port of the one HTTP listener (on 127.0.0.1).
        open_registration: let anyone register through /register.
        public_baseurl: the URL clients use to reach the server, if not the listener.
        federation_port: serve federation on a listener of its own on this port.
        self_signed_tls: serve that listener over TLS with a self-signed
            certificate (tls.crt and tls.key in the data directory).
        insecure_federation_for_testing: skip checking other servers'
            certificates and allow peers on loopback (test set-ups only).

    Returns:
        Plain data, ready for ``yaml.safe_dump``; it holds a new random secret.
    """
    server: dict[str, Any] = {"server_name": server_name}
    if public_baseurl:
        server["public_baseurl"] = public_baseurl
    data = _base_config(server, http_port, open_registration)
    if federation_port is not None:
        data["listeners"][0]["resources"] = ["client"]
        data["listeners"].append(
            {
                "port": federation_port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": self_signed_tls,
                "resources": ["federation"],
            }
        )
    if self_signed_tls:
        data["tls"] = {"certificate_path": TLS_CERT, "private_key_path": TLS_KEY}
    if insecure_federation_for_testing:
        data["federation"] = {
            "verify_certificates": False,
            "ip_range_whitelist": list(LOOPBACK_RANGES),
        }
    return data


def render_config(data: dict[str, Any]) -> str:
    """The text of homeserver.yaml for ``data``: the header, then the YAML.

    An insecure federation section (from --insecure-federation-for-testing) is
    written last, under a comment that says what it does and why it is there.
    """
    rest = {key: value for key, value in data.items() if key != "federation"}
    federation = data.get("federation")
    if federation is None:
        return HEADER + "\n" + dump_yaml(rest)
    return (
        HEADER
        + INSECURE_HEADER
        + "\n"
        + dump_yaml(rest)
        + "\n"
        + INSECURE_COMMENT
        + dump_yaml({"federation": federation})
    )


def _base_config(
    server: dict[str, Any], http_port: int, open_registration: bool
) -> dict[str, Any]:
    return {
        "server": server,
        "listeners": [
            {
                "port": http_port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "resources": ["client", "federation"],
            }
        ],
        "database": {"engine": "sqlite", "path": "homeserver.db"},
        "registration": {
            "enable_registration": open_registration,
            "registration_shared_secret": secrets.token_urlsafe(32),
        },
        "logging": {"file": "homeserver.log"},
    }


def init_data_dir(
    data_dir: DataDir,
    *,
    server_name: str = DEFAULT_SERVER_NAME,
    http_port: int = DEFAULT_HTTP_PORT,
    open_registration: bool = False,
    public_baseurl: str | None = None,
    force: bool = False,
    federation_port: int | None = None,
    self_signed_tls: bool = False,
    insecure_federation_for_testing: bool = False,
) -> None:
    """Create ``data_dir`` with homeserver.yaml, and a signing key.

    An existing signing key is kept (even with ``force``): replacing it would make
    other servers distrust events this server already signed.

    Raises:
        CliError: the config exists and ``force`` is false, or the values given
            do not make a valid config.
    """
    if not _SERVER_NAME.fullmatch(server_name):
        raise CliError(
            f"invalid server name {server_name!r}: expected a host name or IP "
            "address with an optional :port, e.g. example.com"
        )
    if data_dir.config.exists() and not force:
        raise CliError(
            f"{data_dir.config} already exists; not overwriting it "
            "(use --force to replace it)"
        )
    data = build_initial_config(
        server_name,
        http_port,
        open_registration=open_registration,
        public_baseurl=public_baseurl,
        federation_port=federation_port,
        self_signed_tls=self_signed_tls,
        insecure_federation_for_testing=insecure_federation_for_testing,
    )
    # Validate before anything touches the disk; raises ConfigError.
    parse_config(data, base_dir=data_dir.root, source="the new config")
    data_dir.root.mkdir(parents=True, exist_ok=True)
    had_key = data_dir.signing_key.exists()
    ensure_signing_key(data_dir.signing_key)
    if self_signed_tls:
        generate_self_signed(
            data_dir.root / TLS_CERT, data_dir.root / TLS_KEY, server_name
        )
        print(f"Generated a self-signed TLS certificate in {data_dir.root / TLS_CERT}")
    write_text_atomically(data_dir.config, render_config(data))
    print(f"Wrote {data_dir.config} (server name {server_name}, port {http_port})")
    if insecure_federation_for_testing:
        print(
            "Federation does not check certificates and allows loopback peers: "
            "for test set-ups only"
        )
    if had_key:
        print(f"Kept the existing signing key {data_dir.signing_key}")
    else:
        print(f"Generated a signing key in {data_dir.signing_key}")


def run(args: argparse.Namespace) -> int:
    """Run ``synctl init``."""
    init_data_dir(
        DataDir(args.data_dir),
        server_name=args.server_name,
        http_port=args.http_port,
        open_registration=args.open_registration,
        public_baseurl=args.public_baseurl,
        force=args.force,
        federation_port=args.federation_port,
        self_signed_tls=args.self_signed_tls,
        insecure_federation_for_testing=args.insecure_federation_for_testing,
    )
    return 0


def add_parser(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    """Add the ``init`` subcommand."""
    parser = subparsers.add_parser(
        "init",
        parents=parents,
        help="create a data directory with a config and a signing key",
        description="Create the data directory with a small homeserver.yaml (one "
        "HTTP listener on 127.0.0.1, SQLite, a fresh registration shared secret) "
        "and a new ed25519 signing key. Refuses to overwrite an existing config "
        "unless --force is given; an existing signing key is always kept.",
    )
    parser.add_argument(
        "--server-name",
        required=True,
        metavar="NAME",
        help="the domain part of user IDs, e.g. example.com; cannot change later",
    )
    parser.add_argument(
        "--http-port",
        type=int,
        default=DEFAULT_HTTP_PORT,
        metavar="N",
        help=f"the port of the HTTP listener (default: {DEFAULT_HTTP_PORT})",
    )
    parser.add_argument(
        "--open-registration",
        action="store_true",
        help="let anyone create an account through /register (default: off)",
    )
    parser.add_argument(
        "--public-baseurl",
        metavar="URL",
        help="the URL clients use to reach the server, e.g. https://matrix.example.com/",
    )
    parser.add_argument(
        "--federation-port",
        type=int,
        metavar="N",
        help="serve federation on its own listener on port N (the HTTP listener "
        "then serves only the client API)",
    )
    parser.add_argument(
        "--self-signed-tls",
        action="store_true",
        help="generate a self-signed certificate into the data directory and serve "
        "the federation listener over TLS with it (for test set-ups)",
    )
    parser.add_argument(
        "--insecure-federation-for-testing",
        action="store_true",
        help="for test set-ups on one machine: accept other servers' TLS "
        "certificates without checking them and allow federation with servers on "
        "loopback (127.0.0.0/8, ::1); never use on a server reachable from the "
        "internet",
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite an existing homeserver.yaml"
    )
    parser.set_defaults(func=run)
