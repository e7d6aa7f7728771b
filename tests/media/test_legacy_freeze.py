"""Freezing the legacy unauthenticated media routes for new media, as Synapse's
``enable_authenticated_media`` (docs/media.md, "Legacy media freeze")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from homeserver.config.sections.media import MediaConfig
from tests.media.helpers import CLIENT_MEDIA, MEDIA, media_id, upload
from tests.media.images import photo
from tests.support import User
from tests.support.server import TestServer

FROZEN = {"media": {"enable_authenticated_media": True}}


SIZE = "?width=32&height=32"


def _legacy(server: TestServer, mid: str) -> int:
    """The status of the legacy download and thumbnail of ``mid`` (v3 and r0
    agree)."""
    codes = {
        server.request("GET", f"{prefix}/{path}").code
        for prefix in (MEDIA, "/_matrix/media/r0")
        for path in (f"download/test/{mid}", f"thumbnail/test/{mid}{SIZE}")
    }
    assert len(codes) == 1, codes
    return codes.pop()


def _authenticated(user: User, mid: str) -> bytes:
    user.get(f"{CLIENT_MEDIA}/thumbnail/test/{mid}{SIZE}", expect=200)
    return user.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200).body


def _image(user: User) -> str:
    return media_id(upload(user, photo(64, 48), "image/jpeg")["content_uri"])


def test_media_from_before_the_option_stays_served_on_legacy_routes(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    image = photo(64, 48)
    before = make_server({"media": {"enable_authenticated_media": False}})
    alice = before.user("alice")
    old = _image(alice)

    server = TestServer(before.db.engine, FROZEN, tmp_path)
    alice = alice.on(server)
    new = _image(alice)
    created = alice.post("/_matrix/media/v1/create", {}, expect=200).json
    later = media_id(created["content_uri"])
    alice.request(
        "PUT",
        f"{MEDIA}/upload/test/{later}",
        image,
        expect=200,
        headers={"Content-Type": "image/jpeg"},
    )

    assert _legacy(server, old) == 200
    for mid in (new, later):
        assert _legacy(server, mid) == 404
        resp = server.request("GET", f"{MEDIA}/download/test/{mid}/name.jpg")
        assert resp.json["errcode"] == "M_NOT_FOUND"
    # The authenticated routes serve everything.
    assert [_authenticated(alice, m) for m in (old, new, later)] == [image] * 3

    # Turned off again, the legacy routes serve all of it (as in Synapse).
    after = TestServer(before.db.engine, {}, tmp_path)
    assert [_legacy(after, m) for m in (old, new, later)] == [200, 200, 200]


def test_it_is_on_by_default(make_server: Callable[..., TestServer]) -> None:
    # The test kit turns it off; the server's own default is Synapse's (on).
    assert MediaConfig().enable_authenticated_media is True
    server = make_server(FROZEN)
    alice = server.user("alice")
    mid = _image(alice)
    assert _legacy(server, mid) == 404
    assert _authenticated(alice, mid) == photo(64, 48)
