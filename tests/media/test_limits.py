"""Upload quotas and the upload rate limit over HTTP (docs/media.md, "Limits")."""

from __future__ import annotations

from collections.abc import Callable

from tests.media.helpers import CLIENT_MEDIA, MEDIA, media_id, stored_files, upload
from tests.support import User
from tests.support.server import TestServer

CREATE = "/_matrix/media/v1/create"


def _put(user: User, uri: str, data: bytes, expect: int) -> dict:
    return user.request(
        "PUT",
        f"{MEDIA}/upload/test/{media_id(uri)}",
        data,
        headers={"Content-Type": "text/plain"},
        expect=expect,
    ).json


def test_stored_bytes_quota(make_server: Callable[..., TestServer]) -> None:
    server = make_server(
        {
            "media": {"max_stored_bytes_per_user": 100},
            "admin": {"admin_contact": "mailto:admin@test"},
        }
    )
    alice, bob = server.user("alice"), server.user("bob")
    first = upload(alice, b"a" * 60)["content_uri"]

    refused = upload(alice, b"b" * 41, expect=403)
    assert refused["errcode"] == "M_RESOURCE_LIMIT_EXCEEDED"
    assert refused["admin_contact"] == "mailto:admin@test"
    assert [p.read_bytes() for p in stored_files(server)] == [b"a" * 60]

    # Up to the quota exactly is fine; another user has a quota of their own.
    upload(alice, b"c" * 40)
    upload(bob, b"d" * 100)
    assert upload(alice, b"e", expect=403)["errcode"] == "M_RESOURCE_LIMIT_EXCEEDED"
    assert len(stored_files(server)) == 3
    alice.get(f"{CLIENT_MEDIA}/download/test/{media_id(first)}", expect=200)


def test_quota_applies_to_async_uploads(make_server: Callable[..., TestServer]) -> None:
    server = make_server({"media": {"max_stored_bytes_per_user": 100}})
    alice = server.user("alice")
    upload(alice, b"a" * 90)
    uri = alice.post(CREATE, {}, expect=200).json["content_uri"]

    assert _put(alice, uri, b"b" * 11, 403)["errcode"] == "M_RESOURCE_LIMIT_EXCEEDED"
    assert len(stored_files(server)) == 1
    # Nothing was claimed: the media ID still takes an upload that fits.
    resp = alice.get(f"{CLIENT_MEDIA}/download/test/{media_id(uri)}", expect=504)
    assert resp.json["errcode"] == "M_NOT_YET_UPLOADED"
    _put(alice, uri, b"b" * 10, 200)
    resp = alice.get(f"{CLIENT_MEDIA}/download/test/{media_id(uri)}", expect=200)
    assert resp.body == b"b" * 10


def test_upload_limits_per_period(make_server: Callable[..., TestServer]) -> None:
    server = make_server(
        {
            "media": {
                "media_upload_limits": [
                    {"time_period": "1h", "max_size": 100},
                    {"time_period": "1d", "max_size": 150},
                ]
            }
        }
    )
    alice = server.user("alice")
    upload(alice, b"a" * 100)
    assert upload(alice, b"b", expect=403)["errcode"] == "M_RESOURCE_LIMIT_EXCEEDED"

    server.advance(3601)  # the hour is over, the day is not
    upload(alice, b"c" * 50)
    resp = upload(alice, b"d", expect=403)
    assert resp["errcode"] == "M_RESOURCE_LIMIT_EXCEEDED"
    assert "150" in resp["error"]
    assert len(stored_files(server)) == 2

    server.advance(24 * 3600)
    upload(alice, b"e" * 100)
    assert len(stored_files(server)) == 3


def test_upload_rate_limit(make_server: Callable[..., TestServer]) -> None:
    server = make_server(
        {
            "rate_limiting": {
                "enabled": True,
                "media_create": {"per_second": 0.1, "burst_count": 3},
            }
        }
    )
    alice, admin = server.user("alice"), server.user("admin", admin=True)
    upload(alice, b"one")
    upload(alice, b"two")
    alice.post(CREATE, {}, expect=200)

    for resp in (
        alice.post(CREATE, {}, expect=429).json,
        upload(alice, b"three", expect=429),
    ):
        assert resp["errcode"] == "M_LIMIT_EXCEEDED"
        assert 0 < resp["retry_after_ms"] <= 10_001
    assert len(stored_files(server)) == 2
    # Server admins are exempt, as from every per-user limit.
    for _ in range(5):
        upload(admin, b"admin")

    server.advance(10)
    upload(alice, b"three")
    assert len(stored_files(server)) == 8
