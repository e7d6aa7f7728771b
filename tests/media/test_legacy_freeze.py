"""Freezing the legacy unauthenticated media routes for new media, as Synapse's
``enable_authenticated_media`` (docs/media.md, "Legacy media freeze")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from homeserver.config.sections.media import MediaConfig
from tests.media.helpers import CLIENT_MEDIA, MEDIA, media_id, upload
from tests.support import User
from tests.support.server import TestServer

FROZEN = {"media": {"enable_authenticated_media": True}}


def _legacy(server: TestServer, mid: str) -> int:
    codes = {
        server.request("GET", f"{prefix}/download/test/{mid}").code
        for prefix in (MEDIA, "/_matrix/media/r0")
    }
    assert len(codes) == 1, codes
    return codes.pop()


def _authenticated(user: User, mid: str) -> bytes:
    return user.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200).body


def test_media_from_before_the_option_stays_served_on_legacy_routes(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    before = make_server({"media": {"enable_authenticated_media": False}})
    alice = before.user("alice")
    old = media_id(upload(alice, b"old")["content_uri"])

    server = TestServer(before.db.engine, FROZEN, tmp_path)
    alice = alice.on(server)
    new = media_id(upload(alice, b"new")["content_uri"])
    created = alice.post("/_matrix/media/v1/create", {}, expect=200).json
    later = media_id(created["content_uri"])
    alice.request(
        "PUT",
        f"{MEDIA}/upload/test/{later}",
        b"later",
        expect=200,
        headers={"Content-Type": "text/plain"},
    )

    assert _legacy(server, old) == 200
    for mid in (new, later):
        assert _legacy(server, mid) == 404
        resp = server.request("GET", f"{MEDIA}/download/test/{mid}/name.txt")
        assert resp.json["errcode"] == "M_NOT_FOUND"
    # The authenticated route serves everything.
    assert [_authenticated(alice, m) for m in (old, new, later)] == [
        b"old",
        b"new",
        b"later",
    ]

    # Turned off again, the legacy routes serve all of it (as in Synapse).
    after = TestServer(before.db.engine, {}, tmp_path)
    assert [_legacy(after, m) for m in (old, new, later)] == [200, 200, 200]


def test_it_is_on_by_default(make_server: Callable[..., TestServer]) -> None:
    # The test kit turns it off; the server's own default is Synapse's (on).
    assert MediaConfig().enable_authenticated_media is True
    server = make_server(FROZEN)
    alice = server.user("alice")
    mid = media_id(upload(alice, b"x")["content_uri"])
    assert _legacy(server, mid) == 404
    assert _authenticated(alice, mid) == b"x"
