"""Step: local media, its metadata and files (and thumbnails).

Synapse and Chatly lay the media store out the same way
(``local_content/ab/cd/rest``, ``local_thumbnails/ab/cd/rest/w-h-top-sub-method``),
so files are copied to the same relative paths. Without ``--media-store``
only the metadata is imported: that is the way for media already in S3
(synapse-s3-storage-provider), with Chatly's ``media.storage.s3`` pointed at
the same bucket and prefix. URL preview media and the remote media cache are
not imported (they are fetched again when needed).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from homeserver.cli.import_synapse.steps import (
    Context,
    Row,
    Step,
    copy_rows,
    insert_ignore_txn,
)
from homeserver.services.media.storage import media_path, thumbnail_path
from homeserver.storage.database import Transaction


def _copy(source_root: Path, target_root: Path, relative: str) -> bool:
    """Copy one file unless a file of its size is already there."""
    src = source_root / relative
    if not src.is_file():
        return False
    dest = target_root / relative
    if dest.is_file() and dest.stat().st_size == src.stat().st_size:
        return True
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".import-{dest.name}")
    shutil.copyfile(src, tmp)
    tmp.replace(dest)
    return True


def _thumbnails(ctx: Context, media_id: str) -> list[Row]:
    return ctx.source.all(
        "SELECT thumbnail_width, thumbnail_height, thumbnail_type, thumbnail_method,"
        " thumbnail_length FROM local_media_repository_thumbnails WHERE media_id = ?",
        (media_id,),
    )


def _copy_files(ctx: Context, media_id: str, thumbs: list[Row]) -> list[Row]:
    """Copy a media's files; the thumbnails whose file was there."""
    store = ctx.media_store
    if store is None:
        return thumbs
    target = ctx.target.media_store
    _copy(store, target, media_path(media_id))
    copied = []
    for t in thumbs:
        try:
            path = thumbnail_path(
                media_id,
                t["thumbnail_width"],
                t["thumbnail_height"],
                t["thumbnail_type"],
                t["thumbnail_method"],
            )
        except ValueError:
            continue
        if _copy(store, target, path):
            copied.append(t)
    return copied


def _media(ctx: Context) -> int:
    def write(txn: Transaction, batch: list[Row]) -> None:
        insert_ignore_txn(
            txn,
            "local_media",
            (
                "media_id",
                "user_id",
                "media_type",
                "upload_name",
                "media_length",
                "created_ts",
                "quarantined",
                "quarantined_by",
                "last_access_ts",
                "authenticated",
                "safe_from_quarantine",
            ),
            [
                (
                    r["media_id"],
                    r["user_id"] or "",
                    r["media_type"],
                    r["upload_name"],
                    r["media_length"],
                    r["created_ts"] or 0,
                    r["quarantined_by"] is not None,
                    r["quarantined_by"],
                    r["last_access_ts"],
                    bool(r["authenticated"]),
                    bool(r["safe_from_quarantine"]),
                )
                for r in batch
            ],
            ("media_id",),
        )
        insert_ignore_txn(
            txn,
            "local_media_thumbnails",
            ("media_id", "width", "height", "method", "type", "length"),
            [
                (
                    r["media_id"],
                    t["thumbnail_width"],
                    t["thumbnail_height"],
                    t["thumbnail_method"],
                    t["thumbnail_type"],
                    t["thumbnail_length"],
                )
                for r in batch
                for t in r["thumbnails"]
            ],
            ("media_id", "width", "height", "method", "type", "animated"),
        )

    def rows() -> Iterator[Row]:
        for r in ctx.source.all(
            "SELECT media_id, media_type, media_length, created_ts, upload_name,"
            " user_id, quarantined_by, last_access_ts, authenticated,"
            " safe_from_quarantine FROM local_media_repository"
            " WHERE url_cache IS NULL ORDER BY media_id"
        ):
            try:
                media_path(r["media_id"])
            except ValueError:
                continue
            thumbs = _thumbnails(ctx, r["media_id"])
            yield {**r, "thumbnails": _copy_files(ctx, r["media_id"], thumbs)}

    return copy_rows(
        ctx, "media", rows(), write, ctx.source.count("local_media_repository")
    )


STEPS = [Step("media", _media)]
