"""Helpers of the media tests: upload a file, read a media ID, list stored
files and count media rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support import User
from tests.support.server import TestServer

MEDIA = "/_matrix/media/v3"
CLIENT_MEDIA = "/_matrix/client/v1/media"


def upload(
    user: User,
    data: bytes,
    content_type: str = "text/plain",
    filename: str | None = None,
    expect: int = 200,
    prefix: str = MEDIA,
) -> Any:
    query = f"?filename={filename}" if filename else ""
    resp = user.request(
        "POST",
        f"{prefix}/upload{query}",
        data,
        headers={"Content-Type": content_type},
        expect=expect,
    )
    return resp.json


def media_id(uri: str) -> str:
    assert uri.startswith("mxc://test/"), uri
    return uri.rsplit("/", 1)[1]


def stored_files(server: TestServer) -> list[Path]:
    root = server.hs.data_dir / "media_store"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def media_rows(server: TestServer) -> int:
    """How many rows ``local_media`` holds (uploaded or pending)."""
    row = server.get_success(
        server.db.run_interaction(
            "count_local_media",
            lambda txn: txn.query_one("SELECT COUNT(*) AS n FROM local_media"),
        )
    )
    return int(row.n)
