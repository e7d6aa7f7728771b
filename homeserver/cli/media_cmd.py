"""``synctl media migrate --to s3``: move the local media store into S3.

The logic is in ``media_migrate.py``; this module parses the command line,
checks the config and shows progress (tqdm, on stderr).
"""

from __future__ import annotations

import argparse

from homeserver.cli.datadir import DataDir
from homeserver.cli.errors import CliError
from homeserver.cli.media_migrate import (
    LocalFile,
    Outcome,
    S3Target,
    Tally,
    local_files,
    migrate,
)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def _summary(tally: Tally, total: int, limit_hit: bool) -> str:
    lines = [
        f"uploaded {tally.uploaded} files ({_size(tally.bytes_uploaded)}), "
        f"{tally.present} already in the bucket"
        + (f", {tally.gone} deleted from disk meanwhile" if tally.gone else "")
        + (f"; deleted {tally.deleted} local files" if tally.deleted else "")
    ]
    done = tally.uploaded + tally.present + tally.gone
    if limit_hit and done < total:
        lines.append(
            f"stopped after {tally.uploaded} uploads (--limit): "
            f"{total - done} files left; run the command again to continue"
        )
    else:
        lines.append(f"done: all {total} files of the media store are in the bucket")
    return "\n".join(lines)


def run_migrate(args: argparse.Namespace) -> int:
    """Run ``synctl media migrate``."""
    from homeserver.cli.progress import progress_bar
    from homeserver.services.media.s3_storage import make_s3_client

    data_dir = DataDir(args.data_dir)
    config = data_dir.load_config()
    storage = config.media.storage
    if not storage.s3.bucket:
        raise CliError(
            f"media.storage.s3.bucket is not set in {data_dir.config}; "
            "configure the bucket first (docs/media.md, Storage back ends)"
        )
    if args.delete_local and storage.backend == "local":
        raise CliError(
            "--delete-local with media.storage.backend: local would lose the "
            "files the server reads; set backend: s3 first"
        )
    root = config.media.store_root(data_dir.root)
    if not root.is_dir():
        raise CliError(f"no media store at {root} (media.media_store_path)")
    target = S3Target(make_s3_client(storage.s3), storage.s3)
    target.check_bucket()
    files = local_files(root)
    print(
        f"copying {len(files)} files ({_size(sum(f.size for f in files))}) from "
        f"{root} to s3://{storage.s3.bucket}/{storage.s3.prefix}",
        flush=True,
    )
    with progress_bar(quiet=args.quiet, unit="file", total=len(files)) as bar:

        def progress(file: LocalFile, outcome: Outcome) -> None:
            bar.update(1)

        tally = migrate(
            root,
            files,
            target,
            delete_local=args.delete_local,
            limit=args.limit,
            jobs=args.jobs,
            on_file=progress,
        )
    limit_hit = args.limit is not None and tally.uploaded >= args.limit
    print(_summary(tally, len(files), limit_hit))
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a number above zero")
    return value


def add_parser(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    """Add the ``media`` command and its ``migrate`` subcommand."""
    media = subparsers.add_parser(
        "media", help="manage the media store", description="Manage the media store."
    )
    commands = media.add_subparsers(
        dest="media_command", metavar="ACTION", required=True
    )
    parser = commands.add_parser(
        "migrate",
        parents=parents,
        help="copy the local media store to S3",
        description="Copy every file of the local media store (uploads, "
        "thumbnails, cached remote media, URL previews) to the bucket of "
        "media.storage.s3, at <prefix><path in the store>. Objects already there "
        "with the same size are skipped, so an interrupted run resumes. Reads "
        "the config file; the server may be stopped. Progress goes to stderr.",
    )
    parser.add_argument(
        "--to", required=True, choices=["s3"], help="where to copy to (only s3)"
    )
    parser.add_argument(
        "--delete-local",
        action="store_true",
        help="delete each local file once the bucket is seen to hold it "
        "(refused while media.storage.backend is local)",
    )
    parser.add_argument(
        "--limit",
        type=_positive,
        metavar="N",
        help="upload at most N files, then stop (migrate in batches)",
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=4,
        metavar="N",
        help="copy N files at once (default: 4)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar, only the summary"
    )
    parser.set_defaults(func=run_migrate)
