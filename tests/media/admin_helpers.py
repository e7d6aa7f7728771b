"""Helpers of the media admin API tests."""

from __future__ import annotations

from typing import Any

from tests.media.helpers import CLIENT_MEDIA, MEDIA, media_id, upload
from tests.support import User
from tests.support.server import TestServer

ADMIN = "/_synapse/admin/v1"


def new_media(user: User, data: bytes = b"data", **kwargs: Any) -> str:
    """Upload ``data`` as ``user``; the new media ID."""
    return media_id(upload(user, data, **kwargs)["content_uri"])


def served(server: TestServer, user: User, mid: str) -> bool:
    """Whether both the authenticated and the legacy download serve ``mid``
    (and assert they agree, with 404 M_NOT_FOUND when not)."""
    auth = user.get(f"{CLIENT_MEDIA}/download/test/{mid}")
    legacy = server.request("GET", f"{MEDIA}/download/test/{mid}")
    assert auth.code == legacy.code, (auth.code, legacy.code)
    if auth.code == 404:
        assert auth.json["errcode"] == legacy.json["errcode"] == "M_NOT_FOUND"
        return False
    assert auth.code == 200, auth.json
    return True


def info(admin: User, mid: str) -> dict[str, Any]:
    """The admin API's media_info of a local media ID."""
    return dict(admin.get(f"{ADMIN}/media/test/{mid}", expect=200).json["media_info"])
