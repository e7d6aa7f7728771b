"""``synctl user``: list, create, modify and deactivate accounts on the
running server, through its user admin API (docs/admin-guide.md, "User
admin API"), acting as a server admin (``admin_session.py``)."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from typing import Any

from tqdm import tqdm

from homeserver.cli.admin_session import (
    AdminClient,
    AdminPage,
    admin_session,
    user_path,
)
from homeserver.cli.datadir import DataDir
from homeserver.cli.errors import CliError
from homeserver.cli.progress import progress_bar

V2 = "/_synapse/admin/v2/users"
V1 = "/_synapse/admin/v1"
PAGE = 100
_USERS = AdminPage(unit="user", items="users", total="total", next="next_token")


def _flags(user: dict[str, Any]) -> str:
    names = ("admin", "deactivated", "erased", "locked", "shadow_banned", "is_guest")
    return ",".join(n for n in names if user.get(n)) or "-"


def _list(client: AdminClient, args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"limit": PAGE}
    if args.name:
        params["name"] = args.name
    if args.deactivated:
        params["deactivated"] = "true"
    if args.admins:
        params["admins"] = "true"
    users = client.fetch_all(V2, params, _USERS, args.quiet)
    if args.json:
        print(json.dumps(users, indent=2))
        return 0
    for user in users:
        created = datetime.datetime.fromtimestamp(
            user["creation_ts"] / 1000, datetime.UTC
        ).strftime("%Y-%m-%d")
        name = user.get("displayname") or ""
        print(f"{user['name']}\t{_flags(user)}\t{created}\t{name}")
    print(f"{len(users)} users", file=sys.stderr)
    return 0


def _password(args: argparse.Namespace) -> str | None:
    if args.password == "-":
        return sys.stdin.readline().rstrip("\r\n") or None
    return str(args.password) if args.password else None


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    """The PUT body of ``create`` and ``modify`` from the options given."""
    body: dict[str, Any] = {}
    password = _password(args)
    if password:
        body["password"] = password
        body["logout_devices"] = not getattr(args, "keep_devices", False)
    if args.displayname is not None:
        body["displayname"] = args.displayname
    if args.email is not None:
        body["threepids"] = [{"medium": "email", "address": a} for a in args.email]
    if args.admin is not None:
        body["admin"] = args.admin
    if args.user_type is not None:
        body["user_type"] = None if args.user_type == "regular" else args.user_type
    if getattr(args, "locked", None) is not None:
        body["locked"] = args.locked
    if getattr(args, "reactivate", None):
        body["deactivated"] = False
    return body


def _exists(client: AdminClient, user_id: str) -> bool:
    try:
        client.call("GET", user_path(V2, user_id))
    except CliError as exc:
        if "M_NOT_FOUND" in str(exc):
            return False
        raise
    return True


def _create(client: AdminClient, args: argparse.Namespace) -> int:
    user_id = client.user_id(args.user)
    if _exists(client, user_id):
        raise CliError(f"{user_id} exists already; change it with synctl user modify")
    body = _changes(args)
    if "password" not in body:
        raise CliError("a new account needs a password (--password, or - for stdin)")
    created = client.call("PUT", user_path(V2, user_id), body)
    print(f"created {created['name']}")
    return 0


def _modify(client: AdminClient, args: argparse.Namespace) -> int:
    user_id = client.user_id(args.user)
    if not _exists(client, user_id):
        raise CliError(f"no such user: {user_id}")
    body = _changes(args)
    if not body and args.shadow_ban is None:
        raise CliError("nothing to change: give at least one option")
    # The PUT first: the server checks all of it before it changes anything.
    if body:
        client.call("PUT", user_path(V2, user_id), body)
    if args.shadow_ban is not None:
        method = "POST" if args.shadow_ban else "DELETE"
        client.call(method, user_path(f"{V1}/users", user_id, "/shadow_ban"))
    user = client.call("GET", user_path(V2, user_id))
    print(f"{user['name']}\t{_flags(user)}\t{user.get('displayname') or ''}")
    return 0


def _deactivate(client: AdminClient, args: argparse.Namespace) -> int:
    user_ids = [client.user_id(u) for u in args.users]
    failed = 0
    with progress_bar(quiet=args.quiet, unit="user", total=len(user_ids)) as bar:
        for user_id in user_ids:
            path = user_path(f"{V1}/deactivate", user_id)
            try:
                client.call("POST", path, {"erase": args.erase})
                tqdm.write(f"deactivated {user_id}", file=sys.stdout)
            except CliError as exc:
                failed += 1
                tqdm.write(f"{user_id}: {exc}", file=sys.stderr)
            bar.update(1)
    if failed:
        raise CliError(f"{failed} of {len(user_ids)} could not be deactivated")
    return 0


COMMANDS = {
    "list": _list,
    "create": _create,
    "modify": _modify,
    "deactivate": _deactivate,
}


def _run(args: argparse.Namespace) -> int:
    acting = args.as_admin
    with admin_session(DataDir(args.data_dir), acting) as client:
        return COMMANDS[args.user_command](client, args)


def _account_options(parser: argparse.ArgumentParser, *, new: bool) -> None:
    parser.add_argument("user", metavar="USER", help="localpart or @user:server")
    parser.add_argument(
        "--password", metavar="PASSWORD", help="the password ('-': read from stdin)"
    )
    parser.add_argument("--displayname", metavar="NAME")
    parser.add_argument(
        "--email",
        action="append",
        metavar="ADDRESS",
        help="an email address (repeatable; replaces all; counts as validated)",
    )
    parser.add_argument("--admin", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument(
        "--user-type", choices=("bot", "support", "regular"), default=None
    )
    if new:
        return
    parser.add_argument(
        "--keep-devices",
        action="store_true",
        help="with --password: do not log the user out everywhere",
    )
    parser.add_argument(
        "--lock",
        dest="locked",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="refuse (or allow again) logins and tokens",
    )
    parser.add_argument(
        "--shadow-ban", action=argparse.BooleanOptionalAction, default=None
    )
    parser.add_argument(
        "--reactivate",
        action="store_const",
        const=True,
        default=None,
        help="reactivate a deactivated account (give a --password too)",
    )


def add_parser(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    """Add the ``user`` command and its subcommands."""
    parser = subparsers.add_parser(
        "user",
        help="list, create, modify or deactivate accounts",
        description="Manage accounts on the running server through its user "
        "admin API. synctl acts as a server admin account (the first by user "
        "ID, or --as) with a short session of its own.",
    )
    commands = parser.add_subparsers(
        dest="user_command", metavar="COMMAND", required=True
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--as", dest="as_admin", metavar="ADMIN", help="the admin to act as"
    )
    common.add_argument(
        "--quiet", action="store_true", help="no progress bar on stderr"
    )
    both = [*parents, common]
    listing = commands.add_parser("list", parents=both, help="list accounts")
    listing.add_argument("--name", help="localpart or display name contains")
    listing.add_argument(
        "--deactivated", action="store_true", help="deactivated accounts too"
    )
    listing.add_argument("--admins", action="store_true", help="admins only")
    listing.add_argument("--json", action="store_true", help="JSON, as the API")
    _account_options(
        commands.add_parser("create", parents=both, help="create an account"),
        new=True,
    )
    _account_options(
        commands.add_parser("modify", parents=both, help="change an account"),
        new=False,
    )
    deactivate = commands.add_parser(
        "deactivate",
        parents=both,
        help="deactivate accounts for good",
        description="Deactivate accounts: no more logins; tokens, devices, "
        "keys, email addresses and profile go; every room is left.",
    )
    deactivate.add_argument("users", nargs="+", metavar="USER")
    deactivate.add_argument(
        "--erase", action="store_true", help="also mark the accounts erased"
    )
    parser.set_defaults(func=_run)
