"""``synctl threepid``: list, add and remove users' third-party IDs (email
addresses), until the /account/3pid endpoints verify them by mail.

Works on the database directly (the server may be running: each change is
one transaction), so an address added here counts as validated at once.
Email pushers may only mail a validated address of their user
(docs/push.md, "Email notifications").
"""

from __future__ import annotations

import argparse
import re
import time

from homeserver.cli.datadir import DataDir
from homeserver.cli.errors import CliError
from homeserver.cli.inline import open_database
from homeserver.cli.inline import wait as _wait
from homeserver.events import ids
from homeserver.storage.database import Database
from homeserver.storage.stores.threepids import ThreepidAlreadyInUse, ThreepidStore
from homeserver.storage.stores.users import UserStore

MEDIA = ("email", "msisdn")
# Enough of an address to be one: something@domain, no spaces.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _user_id(db: Database, given: str) -> str:
    try:
        ids.split_id(given, "@")
    except ids.InvalidId:
        raise CliError(f"not a user ID: {given!r} (like @alice:example.com)") from None
    if _wait(UserStore(db).get_user(given)) is None:
        raise CliError(f"no such user: {given}")
    return given


def _run(args: argparse.Namespace) -> int:
    db = open_database(DataDir(args.data_dir))
    store = ThreepidStore(db)
    user_id = _user_id(db, args.user_id)
    if args.threepid_command == "list":
        for record in _wait(store.get_threepids(user_id)):
            print(f"{record.medium}\t{record.address}")
        return 0
    if args.threepid_command == "add":
        if args.medium == "email" and not EMAIL.fullmatch(args.address.strip()):
            raise CliError(f"not an email address: {args.address!r}")
        now = int(time.time() * 1000)
        try:
            record = _wait(
                store.insert_threepid(
                    user_id, args.medium, args.address, validated_at=now, now=now
                )
            )
        except ThreepidAlreadyInUse:
            raise CliError(f"{args.address} belongs to another user") from None
        print(f"added {record.medium} {record.address} to {user_id}")
        return 0
    if not _wait(store.delete_threepid(user_id, args.medium, args.address)):
        raise CliError(f"{user_id} has no {args.medium} {args.address}")
    print(f"removed {args.medium} {args.address} from {user_id}")
    return 0


def add_parser(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    """Add the ``threepid`` subcommand and its own subcommands."""
    parser = subparsers.add_parser(
        "threepid",
        help="list, add or remove users' email addresses (third-party IDs)",
        description="Manage users' third-party IDs in the database. An address "
        "added here is validated at once (an admin vouches for it): email "
        "notifications may be sent to it.",
    )
    commands = parser.add_subparsers(
        dest="threepid_command", metavar="COMMAND", required=True
    )
    listing = commands.add_parser(
        "list", parents=parents, help="list a user's third-party IDs"
    )
    listing.add_argument("user_id", metavar="USER_ID")
    for name, text in (("add", "add a validated address"), ("remove", "remove one")):
        sub = commands.add_parser(name, parents=parents, help=text)
        sub.add_argument("user_id", metavar="USER_ID")
        sub.add_argument("address", metavar="ADDRESS")
        sub.add_argument(
            "--medium", choices=MEDIA, default="email", help="default: email"
        )
    parser.set_defaults(func=_run)
