"""Serving our media to other servers: the federation media endpoints
(multipart/mixed) and the legacy download path with ``allow_remote=false``."""

from __future__ import annotations

from collections.abc import Callable

from homeserver.api.http.site import HomeserverSite
from homeserver.federation.media import multipart
from tests.federation.pair import FederationPair
from tests.media.helpers import upload

FED_MEDIA = "/_matrix/federation/v1/media"


def _upload(pair: FederationPair, data: bytes, ctype: str, name: str) -> str:
    alice = pair.a.user("alice")
    uri = upload(alice, data, ctype, name)["content_uri"]
    assert uri.startswith("mxc://a.test/")
    return str(uri.rsplit("/", 1)[1])


def test_download_is_multipart_with_metadata_then_bytes(pair: FederationPair) -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40 + b"\r\n--"
    mid = _upload(pair, data, "image/png", "cat.png")

    resp = pair.signed_request(pair.b, pair.a, "GET", f"{FED_MEDIA}/download/{mid}")

    assert resp.code == 200
    ctype = resp.header("content-type") or ""
    assert ctype.startswith("multipart/mixed; boundary=")
    part = multipart.decode(ctype, resp.body)
    assert part.metadata == {}
    assert part.data == data
    assert part.media_type == "image/png"
    assert part.disposition == 'inline; filename="cat.png"'
    assert part.location is None
    # The raw layout too: JSON first, then the file, closed by the boundary.
    boundary = ctype.split("boundary=", 1)[1].encode()
    assert resp.body.startswith(
        b"--" + boundary + b"\r\nContent-Type: application/json\r\n\r\n{}\r\n"
    )
    assert resp.body.endswith(b"\r\n--" + boundary + b"--\r\n")


def test_unsafe_types_are_attachments(pair: FederationPair) -> None:
    mid = _upload(pair, b"<script>x</script>", "text/html", "x.html")
    resp = pair.signed_request(pair.b, pair.a, "GET", f"{FED_MEDIA}/download/{mid}")
    part = multipart.decode(resp.header("content-type") or "", resp.body)
    assert part.disposition == 'attachment; filename="x.html"'
    assert part.media_type == "text/html"


def test_needs_a_signature(pair: FederationPair) -> None:
    mid = _upload(pair, b"secret", "text/plain", "a.txt")
    resp = pair.a.request("GET", f"{FED_MEDIA}/download/{mid}")
    assert resp.code == 401
    assert resp.json["errcode"] == "M_UNAUTHORIZED"


def test_unknown_bad_and_quarantined_media(pair: FederationPair) -> None:
    unknown = pair.signed_request(
        pair.b, pair.a, "GET", f"{FED_MEDIA}/download/abcdefghijklmnop"
    )
    assert unknown.code == 404 and unknown.json["errcode"] == "M_NOT_FOUND"
    bad = pair.signed_request(pair.b, pair.a, "GET", f"{FED_MEDIA}/download/a%2F..")
    assert bad.code in (400, 404) and "errcode" in bad.json

    mid = _upload(pair, b"bad file", "text/plain", "a.txt")
    pair.a.get_success(
        pair.a.db.run_interaction(
            "quarantine",
            lambda txn: txn.execute(
                "UPDATE local_media SET quarantined = TRUE WHERE media_id = ?", (mid,)
            ),
        )
    )
    resp = pair.signed_request(pair.b, pair.a, "GET", f"{FED_MEDIA}/download/{mid}")
    assert resp.code == 404 and resp.json["errcode"] == "M_NOT_FOUND"


def test_pending_upload_is_not_yet_uploaded(pair: FederationPair) -> None:
    alice = pair.a.user("alice")
    uri = alice.request("POST", "/_matrix/media/v1/create", {}, expect=200).json[
        "content_uri"
    ]
    mid = uri.rsplit("/", 1)[1]
    resp = pair.signed_request(pair.b, pair.a, "GET", f"{FED_MEDIA}/download/{mid}")
    assert resp.code == 504 and resp.json["errcode"] == "M_NOT_YET_UPLOADED"


def test_legacy_download_with_allow_remote_false(pair: FederationPair) -> None:
    """Servers without the federation endpoint fetch our media with the
    legacy path and ``allow_remote=false``: that keeps working (for media not
    frozen by ``enable_authenticated_media``, off in these tests)."""
    mid = _upload(pair, b"legacy bytes", "text/plain", "l.txt")
    for version in ("v3", "r0"):
        resp = pair.a.request(
            "GET", f"/_matrix/media/{version}/download/a.test/{mid}?allow_remote=false"
        )
        assert resp.code == 200 and resp.body == b"legacy bytes"
    # ...and for another server's media it answers 404 without fetching.
    before = len(pair.requests)
    resp = pair.a.request(
        "GET", "/_matrix/media/v3/download/b.test/abcdefghijkl?allow_remote=false"
    )
    assert resp.code == 404 and resp.json["errcode"] == "M_NOT_FOUND"
    assert len(pair.requests) == before


def test_legacy_download_of_frozen_media_is_404(
    make_pair: Callable[..., FederationPair],
) -> None:
    """Media uploaded while ``enable_authenticated_media`` is on is not served
    by the legacy path, to servers either (as Synapse); the federation
    endpoint serves it."""
    pair = make_pair(overrides_a={"media": {"enable_authenticated_media": True}})
    mid = _upload(pair, b"new bytes", "text/plain", "n.txt")
    resp = pair.a.request(
        "GET", f"/_matrix/media/v3/download/a.test/{mid}?allow_remote=false"
    )
    assert resp.code == 404
    fed = pair.signed_request(pair.b, pair.a, "GET", f"{FED_MEDIA}/download/{mid}")
    assert fed.code == 200
    assert multipart.decode(fed.header("content-type") or "", fed.body).data == (
        b"new bytes"
    )


def test_a_federation_only_listener_serves_the_legacy_download(
    pair: FederationPair,
) -> None:
    """Older servers (Synapse's legacy fetch among them) ask the federation
    port for ``/_matrix/media/v3/download``: a listener with only the
    federation resource serves it (and the legacy thumbnail), but no other
    client route."""
    mid = _upload(pair, b"via the federation port", "text/plain", "f.txt")
    server = pair.a
    federation_only = HomeserverSite(
        server.hs.build_resource(["federation"]),
        int(server.config.http.max_request_body_size),
        server.reactor,
    )
    client_site, server.site = server.site, federation_only
    try:
        resp = server.request(
            "GET", f"/_matrix/media/v3/download/a.test/{mid}?allow_remote=false"
        )
        assert resp.code == 200 and resp.body == b"via the federation port"
        thumb = server.request(
            "GET", f"/_matrix/media/r0/thumbnail/a.test/{mid}?width=32&height=32"
        )
        assert thumb.code == 400 and thumb.json["errcode"] == "M_UNKNOWN"  # text
        upload = server.request("POST", "/_matrix/media/v3/upload", b"x")
        assert upload.code == 404
        login = server.request("GET", "/_matrix/client/v3/login")
        assert login.code == 404
    finally:
        server.site = client_site
