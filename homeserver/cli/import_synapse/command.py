"""``synctl import-synapse``: move a Synapse server's data into Chatly.

Runs with the Chatly server stopped, into a data directory whose
``server.server_name`` is the Synapse server's name. Each step is recorded
as done when it finishes, so running the command again after an
interruption resumes; a self-check runs at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from homeserver.cli import process
from homeserver.cli.datadir import DataDir
from homeserver.cli.errors import CliError
from homeserver.cli.import_synapse import (
    accounts,
    e2e_keys,
    media,
    push,
    rooms,
    user_data,
)
from homeserver.cli.import_synapse.check import self_check
from homeserver.cli.import_synapse.source import SynapseDatabase
from homeserver.cli.import_synapse.steps import Context, Paused, Progress, Step
from homeserver.cli.import_synapse.target import Target


def pipeline() -> list[Step]:
    """Every step, in the order they run."""
    return [
        *accounts.STEPS,
        *e2e_keys.STEPS,
        *rooms.STEPS,
        *user_data.STEPS,
        *push.STEPS,
        *media.STEPS,
    ]


def _open_source(args: argparse.Namespace) -> SynapseDatabase:
    if args.from_sqlite is not None:
        return SynapseDatabase.open_sqlite(args.from_sqlite)
    return SynapseDatabase.open_postgres(args.from_postgres)


def _copy_signing_key(source: Path, target: Target) -> None:
    """Make the Synapse key the server's key (the same server to the
    federation); a different key already there is kept aside, not lost."""
    if not source.is_file():
        raise CliError(f"no signing key at {source}")
    dest = target.signing_key_path
    new = source.read_bytes()
    if dest.exists():
        if dest.read_bytes() == new:
            return
        shutil.copy2(dest, dest.with_name(dest.name + ".before-import"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(new)
    os.chmod(dest, 0o600)
    print(f"signing key: copied {source} to {dest}")


def run_import(
    data_dir: DataDir,
    source: SynapseDatabase,
    *,
    signing_key: Path | None = None,
    media_store: Path | None = None,
    event_limit: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Import ``source`` into ``data_dir``; 0 when the self-check passes."""
    pid = process.read_pid(data_dir)
    if pid is not None and process.is_alive(pid):
        raise CliError(f"Chatly is running (pid {pid}); stop it first: synctl stop")
    target = Target.open(data_dir)
    server_name = source.server_name()
    if server_name is None:
        raise CliError(f"{source.where} has no users: nothing to import")
    if server_name != target.server_name:
        raise CliError(
            f"the Synapse server is {server_name!r} but server.server_name is "
            f"{target.server_name!r}; set it with: synctl config set "
            f"server.server_name '{server_name}'"
        )
    if signing_key is not None:
        _copy_signing_key(signing_key, target)
    ctx = Context(
        source=source,
        target=target,
        progress=progress or Progress(),
        source_server=server_name,
        media_store=media_store,
        event_limit=event_limit,
    )
    for step in pipeline():
        if target.state(step.name).done:
            print(f"{step.name}: already imported")
            continue
        print(f"{step.name}: importing")
        try:
            count = step.run(ctx)
        except Paused as paused:
            print(paused)
            return 0
        target.finish(step.name, count)
        print(f"{step.name}: {count} imported")
    print("self-check:")
    result = self_check(ctx)
    for line in result.lines:
        print(line)
    if result.problems:
        for problem in result.problems:
            print(f"  problem: {problem}")
        print("self-check FAILED (the import is kept; see above)")
        return 1
    print("self-check passed")
    return 0


def _run(args: argparse.Namespace) -> int:
    source = _open_source(args)
    try:
        return run_import(
            DataDir(args.data_dir),
            source,
            signing_key=args.signing_key,
            media_store=args.media_store,
            event_limit=args.limit,
        )
    finally:
        source.close()
        sys.stdout.flush()


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, not {text!r}")
    return int(text)


def add_parser(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    """Add the ``import-synapse`` subcommand."""
    parser = subparsers.add_parser(
        "import-synapse",
        parents=parents,
        help="import a Synapse server's database, media and signing key",
        description="Import a stopped Synapse server into this data directory "
        "(with the Chatly server stopped too): users and passwords, devices and "
        "access tokens, profiles, rooms with their history, account data, "
        "receipts, aliases, push rules, pushers and media. Run it again after an "
        "interruption to resume. See docs/admin-guide.md, 'Moving from Synapse'.",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--from-sqlite", type=Path, metavar="PATH", help="Synapse's SQLite database"
    )
    where.add_argument(
        "--from-postgres",
        metavar="DSN",
        help="Synapse's PostgreSQL database, e.g. 'dbname=synapse user=synapse'",
    )
    parser.add_argument(
        "--signing-key",
        type=Path,
        metavar="PATH",
        help="Synapse's signing key file (signing_key_path): becomes this server's key",
    )
    parser.add_argument(
        "--media-store",
        type=Path,
        metavar="PATH",
        help="Synapse's media_store_path, to copy the local media files from",
    )
    parser.add_argument(
        "--limit",
        type=_positive,
        metavar="N",
        help="import at most N events in this run, then stop (to import a large "
        "server in parts: run the same command again to continue)",
    )
    parser.set_defaults(func=_run)
