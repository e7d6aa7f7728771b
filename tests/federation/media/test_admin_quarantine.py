"""Media quarantined through the admin API is not served to other servers
(the federation media download and thumbnail), and is again once
unquarantined."""

from __future__ import annotations

from tests.federation.pair import FederationPair
from tests.media.helpers import upload
from tests.media.images import photo

ADMIN = "/_synapse/admin/v1"
FED_MEDIA = "/_matrix/federation/v1/media"


def test_quarantined_media_is_not_served_over_federation(pair: FederationPair) -> None:
    alice = pair.a.user("alice")
    admin = pair.a.user("admin", admin=True)
    mid = upload(alice, b"bad file")["content_uri"].rsplit("/", 1)[1]
    path = f"{FED_MEDIA}/download/{mid}"
    assert pair.signed_request(pair.b, pair.a, "GET", path).code == 200

    admin.post(f"{ADMIN}/media/quarantine/a.test/{mid}", {}, expect=200)
    resp = pair.signed_request(pair.b, pair.a, "GET", path)
    assert resp.code == 404 and resp.json["errcode"] == "M_NOT_FOUND"
    resp = pair.a.request(
        "GET", f"/_matrix/media/v3/download/a.test/{mid}?allow_remote=false"
    )
    assert resp.code == 404

    admin.post(f"{ADMIN}/media/unquarantine/a.test/{mid}", {}, expect=200)
    assert pair.signed_request(pair.b, pair.a, "GET", path).code == 200

    admin.post(f"{ADMIN}/user/{alice.user_id}/media/quarantine", {}, expect=200)
    assert pair.signed_request(pair.b, pair.a, "GET", path).code == 404
    admin.delete(f"{ADMIN}/media/a.test/{mid}", expect=200)
    assert pair.signed_request(pair.b, pair.a, "GET", path).code == 404


def test_quarantined_media_has_no_thumbnails_over_federation(
    pair: FederationPair,
) -> None:
    alice = pair.a.user("alice")
    admin = pair.a.user("admin", admin=True)
    mid = upload(alice, photo(64, 64), "image/jpeg")["content_uri"].rsplit("/", 1)[1]
    path = f"{FED_MEDIA}/thumbnail/{mid}?width=32&height=32&method=crop"
    assert pair.signed_request(pair.b, pair.a, "GET", path).code == 200
    admin.post(f"{ADMIN}/media/quarantine/a.test/{mid}", {}, expect=200)
    resp = pair.signed_request(pair.b, pair.a, "GET", path)
    assert resp.code == 404 and resp.json["errcode"] == "M_NOT_FOUND"
