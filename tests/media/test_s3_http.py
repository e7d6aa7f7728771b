"""Uploads and downloads over HTTP with the S3 back ends (a real moto_server)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import twisted.web.http

from tests.media.helpers import CLIENT_MEDIA, MEDIA, media_id, upload
from tests.media.images import opened, photo
from tests.support.s3 import Bucket
from tests.support.server import TestServer


def s3_server(
    make_server: Callable[..., TestServer], on: Bucket, **s3: Any
) -> TestServer:
    return make_server({"media": {"storage": on.storage_config(**s3)}})


def files_under(root: Path) -> set[Path]:
    """Every file and directory under ``root`` but the test database's files."""
    return {p for p in root.rglob("*") if ".db" not in p.name}


def key_of(prefix: str, mid: str) -> str:
    return f"{prefix}local_content/{mid[0:2]}/{mid[2:4]}/{mid[4:]}"


def test_s3_only_stores_in_the_bucket_and_nothing_on_disk(
    make_server: Callable[..., TestServer], s3_bucket: Bucket
) -> None:
    server = s3_server(
        make_server,
        s3_bucket,
        mode="s3_only",
        prefix="chatly/",
        storage_class="REDUCED_REDUNDANCY",
    )
    data_dir = server.hs.data_dir
    before = files_under(data_dir)
    alice = server.user("alice")

    mid = media_id(upload(alice, b"hello s3", "text/plain", "hi.txt")["content_uri"])
    key = key_of("chatly/", mid)
    assert s3_bucket.keys() == [key]
    assert s3_bucket.get(key) == b"hello s3"
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=key)
    assert head["StorageClass"] == "REDUCED_REDUNDANCY"

    got = alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200)
    assert got.body == b"hello s3"
    assert got.header("content-disposition") == 'inline; filename="hi.txt"'
    legacy = server.request("GET", f"{MEDIA}/download/test/{mid}")
    assert legacy.code == 200 and legacy.body == b"hello s3"
    ranged = alice.request(
        "GET",
        f"{CLIENT_MEDIA}/download/test/{mid}",
        headers={"Range": "bytes=6-"},
        expect=206,
    )
    assert ranged.body == b"s3"

    # An asynchronous upload goes the same way.
    created = alice.post("/_matrix/media/v1/create", {}, expect=200).json
    mid2 = media_id(created["content_uri"])
    alice.request(
        "PUT",
        f"{MEDIA}/upload/test/{mid2}",
        b"\x89PNG later",
        headers={"Content-Type": "image/png"},
        expect=200,
    )
    assert s3_bucket.get(key_of("chatly/", mid2)) == b"\x89PNG later"
    got = alice.get(f"{CLIENT_MEDIA}/download/test/{mid2}", expect=200)
    assert got.body == b"\x89PNG later"

    assert not (data_dir / "media_store").exists()
    assert files_under(data_dir) == before


def test_cache_mode_writes_both_and_refills_a_deleted_local_file(
    make_server: Callable[..., TestServer], s3_bucket: Bucket
) -> None:
    server = s3_server(make_server, s3_bucket, mode="cache")
    alice = server.user("alice")
    mid = media_id(upload(alice, b"cached bytes")["content_uri"])
    local = server.hs.data_dir / "media_store" / key_of("", mid)
    assert local.read_bytes() == b"cached bytes"
    assert s3_bucket.get(key_of("", mid)) == b"cached bytes"

    local.unlink()
    got = alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200)
    assert got.body == b"cached bytes"
    assert local.read_bytes() == b"cached bytes"

    # Reads try the local copy first: no S3 round trip while it is there.
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=key_of("", mid))
    assert alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200).body == (
        b"cached bytes"
    )


def test_an_unreachable_bucket_fails_the_upload_cleanly(
    make_server: Callable[..., TestServer], s3_bucket: Bucket
) -> None:
    server = s3_server(make_server, s3_bucket, bucket="no-such-bucket", mode="cache")
    alice = server.user("alice")
    resp = upload(alice, b"lost", expect=500)
    assert resp["errcode"] == "M_UNKNOWN"
    root = server.hs.data_dir / "media_store"
    assert not [p for p in root.rglob("*") if p.is_file()]
    assert s3_bucket.keys() == []


def test_thumbnails_go_to_the_bucket_too(
    make_server: Callable[..., TestServer], s3_bucket: Bucket
) -> None:
    server = s3_server(make_server, s3_bucket, mode="s3_only", prefix="m/")
    alice = server.user("alice")
    mid = media_id(upload(alice, photo(1000, 500), "image/jpeg")["content_uri"])
    shard = f"{mid[0:2]}/{mid[2:4]}/{mid[4:]}"
    thumbs = [k for k in s3_bucket.keys() if k.startswith("m/local_thumbnails/")]
    assert len(thumbs) == 5
    assert f"m/local_thumbnails/{shard}/32-32-image-jpeg-crop" in thumbs
    assert s3_bucket.keys() == sorted([f"m/local_content/{shard}", *thumbs])

    got = alice.get(
        f"{CLIENT_MEDIA}/thumbnail/test/{mid}", width=96, height=96, method="crop"
    )
    assert got.code == 200 and opened(got.body).size == (96, 96)
    stored = s3_bucket.get(f"m/local_thumbnails/{shard}/96-96-image-jpeg-crop")
    assert got.body == stored

    # A thumbnail missing from the bucket is made again, into the bucket.
    key = f"m/local_thumbnails/{shard}/320-240-image-jpeg-scale"
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=key)
    got = alice.get(f"{CLIENT_MEDIA}/thumbnail/test/{mid}", width=320, height=240)
    assert opened(got.body).size == (320, 160)
    assert s3_bucket.get(key) == got.body
    assert not (server.hs.data_dir / "media_store").exists()


def test_s3_only_never_spools_an_upload_to_a_temporary_file(
    make_server: Callable[..., TestServer],
    s3_bucket: Bucket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Twisted keeps request bodies over 100 kB in an (unlinked) temporary
    # file; watch for one being made.
    spooled: list[object] = []
    make_temporary_file = tempfile.TemporaryFile

    def recording(*args: Any, **kwargs: Any) -> Any:
        spooled.append(args)
        return make_temporary_file(*args, **kwargs)

    monkeypatch.setattr(twisted.web.http.tempfile, "TemporaryFile", recording)
    big = bytes(range(256)) * 1200  # 300 kB

    cached = s3_server(make_server, s3_bucket, mode="cache")
    upload(cached.user("alice"), big)
    assert spooled  # the probe works: Twisted's default spools it

    spooled.clear()
    server = s3_server(make_server, s3_bucket, mode="s3_only")
    alice = server.user("alice")
    mid = media_id(upload(alice, big)["content_uri"])
    assert alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200).body == big
    assert spooled == []


def s3_count(server: TestServer, operation: str, outcome: str) -> float:
    metrics = server.request("GET", "/metrics").body.decode()
    line = (
        "homeserver_media_s3_requests_total"
        f'{{operation="{operation}",outcome="{outcome}"}} '
    )
    found = [row for row in metrics.splitlines() if row.startswith(line)]
    return float(found[0][len(line) :]) if found else 0.0


def test_s3_requests_are_counted_in_the_metrics(
    make_server: Callable[..., TestServer], s3_bucket: Bucket
) -> None:
    server = make_server(
        {
            "metrics": {"enabled": True},
            "media": {"storage": s3_bucket.storage_config(mode="s3_only")},
        }
    )
    alice = server.user("alice")
    before = {
        (op, outcome): s3_count(server, op, outcome)
        for op, outcome in [("put", "ok"), ("get", "ok"), ("get", "missing")]
    }
    mid = media_id(upload(alice, b"counted")["content_uri"])
    alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200)
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=key_of("", mid))
    alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=404)
    assert s3_count(server, "put", "ok") == before[("put", "ok")] + 1
    assert s3_count(server, "get", "ok") == before[("get", "ok")] + 1
    assert s3_count(server, "get", "missing") == before[("get", "missing")] + 1
    metrics = server.request("GET", "/metrics").body
    assert b'homeserver_media_s3_request_seconds_count{operation="put"}' in metrics
