"""``synctl room list|delete`` and ``synctl purge-history``: rooms on the
running server through its room admin API (docs/admin-guide.md, "Room admin
API"), acting as a server admin (``admin_session.py``). Deletions and purges
run on the server in the background; synctl polls their status and shows a
progress bar."""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.parse
from typing import Any

from tqdm import tqdm

from homeserver.cli.admin_session import AdminClient, AdminPage, admin_session
from homeserver.cli.datadir import DataDir
from homeserver.cli.errors import CliError
from homeserver.cli.progress import progress_bar

V1 = "/_synapse/admin/v1"
V2 = "/_synapse/admin/v2"
PAGE = 100
_ROOMS = AdminPage(unit="room", items="rooms", total="total_rooms", next="next_batch")
POLL_SECONDS = 0.2
RUNNING = ("scheduled", "active")


def _quoted(room_id: str) -> str:
    return urllib.parse.quote(room_id, safe="")


def _wait(client: AdminClient, path: str, bar: tqdm | None = None) -> dict[str, Any]:
    """Poll a job's status until it is no longer running."""
    while True:
        status = client.call("GET", path)
        if bar is not None:
            bar.set_postfix_str(status.get("status", ""))
        if status.get("status") not in RUNNING:
            return dict(status)
        time.sleep(POLL_SECONDS)


def _list(client: AdminClient, args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"limit": PAGE, "order_by": args.order_by}
    if args.search:
        params["search_term"] = args.search
    rooms = client.fetch_all(f"{V1}/rooms", params, _ROOMS, args.quiet)
    if args.json:
        print(json.dumps(rooms, indent=2))
        return 0
    for room in rooms:
        alias = room.get("canonical_alias") or "-"
        name = room.get("name") or ""
        print(f"{room['room_id']}\t{room['joined_members']}\t{alias}\t{name}")
    print(f"{len(rooms)} rooms", file=sys.stderr)
    return 0


def _delete_body(client: AdminClient, args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"block": args.block, "purge": not args.no_purge}
    if args.new_room_user:
        body["new_room_user_id"] = client.user_id(args.new_room_user)
        if args.room_name:
            body["room_name"] = args.room_name
        if args.message:
            body["message"] = args.message
    return body


def _delete(client: AdminClient, args: argparse.Namespace) -> int:
    body = _delete_body(client, args)
    failed = 0
    with progress_bar(quiet=args.quiet, unit="room", total=len(args.rooms)) as bar:
        for room_id in args.rooms:
            try:
                started = client.call("DELETE", f"{V2}/rooms/{_quoted(room_id)}", body)
                path = f"{V2}/rooms/delete_status/{started['delete_id']}"
                status = _wait(client, path, bar)
            except CliError as exc:
                status = {"status": "failed", "error": str(exc)}
            if status["status"] == "complete":
                done = status["shutdown_room"]
                moved = f" -> {done['new_room_id']}" if done["new_room_id"] else ""
                kicked = len(done["kicked_users"])
                tqdm.write(f"deleted {room_id} ({kicked} members out){moved}")
            else:
                failed += 1
                tqdm.write(f"{room_id}: {status.get('error')}", file=sys.stderr)
            bar.update(1)
    if failed:
        raise CliError(f"{failed} of {len(args.rooms)} rooms could not be deleted")
    return 0


COMMANDS = {"list": _list, "delete": _delete}


def _run_room(args: argparse.Namespace) -> int:
    with admin_session(DataDir(args.data_dir), args.as_admin) as client:
        return COMMANDS[args.room_command](client, args)


def _purge_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"delete_local_events": args.delete_local}
    if args.before_event:
        body["purge_up_to_event_id"] = args.before_event
    elif args.before_days is not None:
        body["purge_up_to_ts"] = int((time.time() - args.before_days * 86400) * 1000)
    else:
        body["purge_up_to_ts"] = args.before_ts
    return body


def _run_purge(args: argparse.Namespace) -> int:
    with admin_session(DataDir(args.data_dir), args.as_admin) as client:
        path = f"{V1}/purge_history/{_quoted(args.room)}"
        started = client.call("POST", path, _purge_body(args))
        status_path = f"{V1}/purge_history_status/{started['purge_id']}"
        with progress_bar(quiet=args.quiet, unit="purge", total=1) as bar:
            status = _wait(client, status_path, bar)
            bar.update(1)
    if status["status"] != "complete":
        raise CliError(f"the purge failed: {status.get('error')}")
    print(f"purged the history of {args.room}")
    return 0


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--as", dest="as_admin", metavar="ADMIN", help="the admin to act as"
    )
    common.add_argument(
        "--quiet", action="store_true", help="no progress bar on stderr"
    )
    return common


def add_parsers(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    """Add the ``room`` command (list, delete) and ``purge-history``."""
    both = [*parents, _common()]
    parser = subparsers.add_parser(
        "room",
        help="list or delete rooms",
        description="Rooms on the running server, through its room admin API. "
        "synctl acts as a server admin account (the first by user ID, or --as).",
    )
    commands = parser.add_subparsers(
        dest="room_command", metavar="COMMAND", required=True
    )
    listing = commands.add_parser("list", parents=both, help="list rooms")
    listing.add_argument("--search", help="name, alias localpart or room ID contains")
    listing.add_argument(
        "--order-by", default="name", help="as the API's order_by (default: name)"
    )
    listing.add_argument("--json", action="store_true", help="JSON, as the API")
    delete = commands.add_parser(
        "delete",
        parents=both,
        help="delete rooms",
        description="Delete rooms: every local member leaves, then the room "
        "is purged from the database (unless --no-purge).",
    )
    delete.add_argument("rooms", nargs="+", metavar="ROOM_ID")
    delete.add_argument("--block", action="store_true", help="block the rooms too")
    delete.add_argument(
        "--no-purge", action="store_true", help="keep the rooms' events"
    )
    delete.add_argument(
        "--new-room-user",
        metavar="USER",
        help="make a new room with this local user and move the members there",
    )
    delete.add_argument("--room-name", help="the new room's name")
    delete.add_argument("--message", help="the first message in the new room")
    parser.set_defaults(func=_run_room)

    purge = subparsers.add_parser(
        "purge-history",
        parents=both,
        help="purge a room's history before a point",
        description="Delete a room's events before an event or a time. State "
        "events are kept, and local users' events unless --delete-local.",
    )
    purge.add_argument("room", metavar="ROOM_ID")
    point = purge.add_mutually_exclusive_group(required=True)
    point.add_argument("--before-event", metavar="EVENT_ID")
    point.add_argument("--before-days", type=float, metavar="DAYS")
    point.add_argument("--before-ts", type=int, metavar="MS")
    purge.add_argument(
        "--delete-local", action="store_true", help="local users' events too"
    )
    purge.set_defaults(func=_run_purge)
