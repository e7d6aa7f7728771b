"""``synctl register-user``: create an account on the running server.

Uses the Synapse-compatible shared-secret registration API
(``/_synapse/admin/v1/register``): fetch a nonce, then post the user with an
HMAC-SHA1 over the nonce and the user's details, keyed with
``registration.registration_shared_secret``. It works even when public
registration is closed, and for creating admins.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sys

from homeserver.cli.datadir import DataDir
from homeserver.cli.errors import CliError
from homeserver.cli.httpclient import UnreachableError, local_base_url, request_json
from homeserver.events import ids

REGISTER_PATH = "_synapse/admin/v1/register"


def registration_mac(
    shared_secret: str, nonce: str, username: str, password: str, admin: bool
) -> str:
    """The hex HMAC-SHA1 the shared-secret registration API expects.

    Args:
        shared_secret: ``registration.registration_shared_secret``.
        nonce: the nonce the server handed out.
        username: the localpart to register.
        password: the new account's password.
        admin: whether the account is a server admin.
    """
    mac = hmac.new(shared_secret.encode(), digestmod=hashlib.sha1)
    for part in (nonce, username, password):
        mac.update(part.encode())
        mac.update(b"\x00")
    mac.update(b"admin" if admin else b"notadmin")
    return mac.hexdigest()


def localpart_of(user: str) -> str:
    """``alice`` from ``alice`` or ``@alice:example.com``."""
    if not user.startswith("@"):
        return user
    try:
        return ids.localpart_of(user)
    except ids.InvalidId:  # "@alice" or "@alice:": no server named
        return user[1:].rstrip(":")


def register_user(
    data_dir: DataDir,
    user: str,
    password: str,
    *,
    admin: bool = False,
    base_url: str | None = None,
) -> str:
    """Register ``user`` on the running server of ``data_dir``.

    Args:
        data_dir: the server's data directory (for its config).
        user: a localpart or full user ID.
        password: the new account's password.
        admin: make the account a server admin.
        base_url: where the server listens; default: its first client listener.

    Returns:
        The new user ID.

    Raises:
        CliError: no shared secret, server unreachable, or registration refused.
    """
    config = data_dir.load_config()
    secret = config.registration.registration_shared_secret
    if not secret:
        raise CliError(
            f"registration.registration_shared_secret is not set in {data_dir.config}; "
            "set one (e.g. synctl config set registration.registration_shared_secret "
            "SECRET) and restart the server"
        )
    url = (base_url or local_base_url(config)).rstrip("/") + "/" + REGISTER_PATH
    try:
        answer = request_json("GET", url)
    except UnreachableError as exc:
        raise CliError(
            f"Chatly is not answering ({exc.message}); is it running? "
            f"Start it with: synctl start --data-dir {data_dir.root}"
        ) from None
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise CliError(f"could not get a registration nonce: {answer.matrix_error()}")
    nonce = str(answer.body.get("nonce", ""))
    username = localpart_of(user)
    body = {
        "nonce": nonce,
        "username": username,
        "password": password,
        "admin": admin,
        "mac": registration_mac(secret, nonce, username, password, admin),
    }
    try:
        answer = request_json("POST", url, body)
    except UnreachableError as exc:
        raise CliError(f"registration failed: {exc.message}") from None
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise CliError(f"registration of {username!r} failed: {answer.matrix_error()}")
    return str(answer.body.get("user_id", f"@{username}:{config.server.server_name}"))


def run(args: argparse.Namespace) -> int:
    """Run ``synctl register-user``."""
    password = args.password
    if password == "-":
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CliError("the password must not be empty")
    user_id = register_user(
        DataDir(args.data_dir),
        args.user,
        password,
        admin=args.admin,
        base_url=args.url,
    )
    print(f"Registered {user_id}" + (" (server admin)" if args.admin else ""))
    return 0


def add_parser(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    """Add the ``register-user`` subcommand."""
    parser = subparsers.add_parser(
        "register-user",
        parents=parents,
        help="create an account on the running server",
        description="Create an account on the running server through the "
        "shared-secret admin registration API, using "
        "registration.registration_shared_secret from the config. Works whether "
        "or not public registration is open.",
    )
    parser.add_argument("user", metavar="USER", help="localpart or @user:server")
    parser.add_argument(
        "password",
        metavar="PASSWORD",
        help="the new account's password; '-' reads it from the first line of stdin "
        "(keeps it out of the process list and shell history)",
    )
    parser.add_argument(
        "--admin", action="store_true", help="make the account a server admin"
    )
    parser.add_argument(
        "--url",
        metavar="URL",
        help="where the server listens (default: its first client listener, "
        "ignoring public_baseurl)",
    )
    parser.set_defaults(func=run)
