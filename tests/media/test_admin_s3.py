"""Deleting media through the admin API with the S3 back ends (a real
moto_server): the object goes from the bucket, and the local copy too."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.media.admin_helpers import ADMIN, new_media, served
from tests.media.test_s3_http import key_of, s3_server
from tests.support.s3 import Bucket
from tests.support.server import TestServer


@pytest.mark.parametrize("mode", ["cache", "s3_only"])
def test_admin_delete_removes_the_object(
    make_server: Callable[..., TestServer], s3_bucket: Bucket, mode: str
) -> None:
    server = s3_server(make_server, s3_bucket, mode=mode, prefix="m/")
    alice = server.user("alice")
    admin = server.user("admin", admin=True)
    mid = new_media(alice, b"to delete")
    keep = new_media(alice, b"to keep")
    local = server.hs.data_dir / "media_store" / key_of("", mid)
    assert local.exists() == (mode == "cache")

    resp = admin.delete(f"{ADMIN}/media/test/{mid}", expect=200)
    assert resp.json == {"deleted_media": [mid], "total": 1}
    assert s3_bucket.keys() == [key_of("m/", keep)]
    assert not local.exists()
    assert not served(server, alice, mid)
    assert served(server, alice, keep)

    resp = admin.delete(f"{ADMIN}/users/{alice.user_id}/media", expect=200)
    assert resp.json == {"deleted_media": [keep], "total": 1}
    assert s3_bucket.keys() == []
