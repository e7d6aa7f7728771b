"""Two servers on one bucket (prefixes a/ and b/, mode s3_only): media fetched
over federation, its cache and remote thumbnails all live in S3, none on disk."""

from __future__ import annotations

from collections.abc import Callable

from tests.federation.pair import FederationPair
from tests.media.helpers import upload
from tests.media.images import opened, photo
from tests.support.s3 import Bucket

CLIENT = "/_matrix/client/v1/media"


def test_remote_media_is_cached_in_the_bucket(
    make_pair: Callable[..., FederationPair], s3_bucket: Bucket
) -> None:
    pair = make_pair(
        overrides_a={
            "media": {"storage": s3_bucket.storage_config(mode="s3_only", prefix="a/")}
        },
        overrides_b={
            "media": {"storage": s3_bucket.storage_config(mode="s3_only", prefix="b/")}
        },
    )
    data = photo(640, 480)
    uri = upload(pair.a.user("alice"), data, "image/jpeg", "p.jpg")["content_uri"]
    mid = uri.rsplit("/", 1)[1]
    bob = pair.b.user("bob")

    assert bob.get(f"{CLIENT}/download/a.test/{mid}", expect=200).body == data
    thumb = bob.get(
        f"{CLIENT}/thumbnail/a.test/{mid}?width=96&height=96&method=crop", expect=200
    )
    assert opened(thumb.body).size == (96, 96)

    b_keys = [k for k in s3_bucket.keys() if k.startswith("b/")]
    (cached,) = [k for k in b_keys if k.startswith("b/remote_content/a.test/")]
    assert s3_bucket.get(cached) == data
    (remote_thumb,) = [k for k in b_keys if k.startswith("b/remote_thumbnails/")]
    assert remote_thumb.endswith("/96-96-image-jpeg-crop")
    assert s3_bucket.get(remote_thumb) == thumb.body
    # a's own upload and thumbnails are under a/ only.
    assert f"a/local_content/{mid[0:2]}/{mid[2:4]}/{mid[4:]}" in s3_bucket.keys()
    assert not [k for k in b_keys if "local_content" in k]

    # Served from the bucket once a.test is gone.
    pair.set_reachable("a.test", False)
    assert bob.get(f"{CLIENT}/download/a.test/{mid}", expect=200).body == data
    for server in (pair.a, pair.b):
        assert not (server.hs.data_dir / "media_store").exists()
