"""GET /pushers and POST /pushers/set (spec v1.19 "Push Notifications"):
validation, replacing, append, deletion, and pushers going away with the
device that set them and with the account."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import PASSWORD, password_auth, uia_request
from tests.support.client import User
from tests.support.server import TestServer

URL = "https://push.example.com/_matrix/push/v1/notify"


def pusher(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "http",
        "app_id": "com.example.app.ios",
        "pushkey": "APA91bHPRgkF3JUikC4ENAHEeMrd41Zxv3hVZjC9KtT8OvPVGJ-hQMRKRrZuJAEcl7B338qju59zJMjw2DELjzEvxwYv7hH5Ynpc1ODQ0aT4U4OFEeco8ohsN5PjL1iC2dNtk2BAokeMCg2ZXKqpc8FXKmhX94kIxQ",
        "app_display_name": "Example App",
        "device_display_name": "Alice's phone",
        "profile_tag": "xxyyzz",
        "lang": "en",
        "data": {"url": URL, "format": "event_id_only"},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def listed(user: User) -> list[dict[str, Any]]:
    resp = user.get("/pushers", expect=200)
    return list(resp.json["pushers"])


def test_set_and_list_a_pusher(server: TestServer) -> None:
    alice = server.user("alice")
    assert listed(alice) == []
    alice.post("/pushers/set", pusher(), expect=200)
    assert listed(alice) == [
        {
            "kind": "http",
            "app_id": "com.example.app.ios",
            "pushkey": pusher()["pushkey"],
            "app_display_name": "Example App",
            "device_display_name": "Alice's phone",
            "profile_tag": "xxyyzz",
            "lang": "en",
            "data": {"url": URL, "format": "event_id_only"},
        }
    ]
    # The legacy r0 prefix serves both.
    resp = server.request("GET", "/_matrix/client/r0/pushers", token=alice.token)
    assert resp.code == 200 and len(resp.json["pushers"]) == 1
    resp = server.request(
        "POST",
        "/_matrix/client/r0/pushers/set",
        pusher(kind=None),
        token=alice.token,
    )
    assert resp.code == 200
    assert listed(alice) == []


def test_setting_the_same_pusher_again_replaces_it(server: TestServer) -> None:
    alice = server.user("alice")
    alice.post("/pushers/set", pusher(), expect=200)
    alice.post(
        "/pushers/set",
        pusher(lang="fr", data={"url": URL.replace("push.", "push2.")}),
        expect=200,
    )
    found = listed(alice)
    assert len(found) == 1
    assert found[0]["lang"] == "fr"
    assert found[0]["data"] == {"url": URL.replace("push.", "push2.")}
    # Another pushkey of the same app is another pusher.
    alice.post("/pushers/set", pusher(pushkey="second"), expect=200)
    assert sorted(p["pushkey"] for p in listed(alice)) == sorted(
        [pusher()["pushkey"], "second"]
    )


@pytest.mark.parametrize(
    ("change", "errcode", "names"),
    [
        ({"kind": ...}, "M_MISSING_PARAM", "kind"),
        ({"app_id": ...}, "M_MISSING_PARAM", "app_id"),
        ({"pushkey": ...}, "M_MISSING_PARAM", "pushkey"),
        ({"app_display_name": ...}, "M_MISSING_PARAM", "app_display_name"),
        ({"device_display_name": ...}, "M_MISSING_PARAM", "device_display_name"),
        ({"lang": ...}, "M_MISSING_PARAM", "lang"),
        ({"data": ...}, "M_MISSING_PARAM", "data"),
        ({"data": {}}, "M_MISSING_PARAM", "data.url"),
        ({"data": {"url": 5}}, "M_INVALID_PARAM", "data.url"),
        ({"data": {"url": "/_matrix/push/v1/notify"}}, "M_INVALID_PARAM", "data.url"),
        (
            {"data": {"url": "ftp://push.example.com/_matrix/push/v1/notify"}},
            "M_INVALID_PARAM",
            "data.url",
        ),
        (
            {"data": {"url": "https://push.example.com/_matrix/push/v1/other"}},
            "M_INVALID_PARAM",
            "data.url",
        ),
        ({"kind": "carrier-pigeon"}, "M_INVALID_PARAM", "kind"),
        ({"kind": "email", "pushkey": "a@example.com"}, "M_INVALID_PARAM", "email"),
        ({"pushkey": "k" * 513}, "M_INVALID_PARAM", "pushkey"),
        ({"app_id": "a" * 65}, "M_INVALID_PARAM", "app_id"),
        ({"data": "not an object"}, "M_BAD_JSON", "data"),
        ({"append": "yes"}, "M_BAD_JSON", "append"),
        ({"kind": 5}, "M_BAD_JSON", "kind"),
    ],
)
def test_a_bad_pusher_is_refused_and_stores_nothing(
    server: TestServer, change: dict[str, Any], errcode: str, names: str
) -> None:
    alice = server.user("alice")
    resp = alice.post("/pushers/set", pusher(**change), expect=400)
    assert resp.json["errcode"] == errcode
    assert names in resp.json["error"]
    assert listed(alice) == []


def test_a_pushkey_of_512_bytes_is_accepted(server: TestServer) -> None:
    alice = server.user("alice")
    alice.post("/pushers/set", pusher(pushkey="k" * 512), expect=200)
    assert [p["pushkey"] for p in listed(alice)] == ["k" * 512]


def test_without_append_other_users_pushers_of_the_pushkey_go(
    server: TestServer,
) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    alice.post("/pushers/set", pusher(), expect=200)
    bob.post("/pushers/set", pusher(append=True), expect=200)
    assert len(listed(alice)) == 1 and len(listed(bob)) == 1
    # Bob signs in on Alice's phone: her pusher of that pushkey goes.
    bob.post("/pushers/set", pusher(append=False), expect=200)
    assert listed(alice) == []
    assert len(listed(bob)) == 1


def test_deleting_a_pusher(server: TestServer) -> None:
    alice = server.user("alice")
    alice.post("/pushers/set", pusher(), expect=200)
    alice.post("/pushers/set", pusher(pushkey="other"), expect=200)
    # Only app_id and pushkey matter with kind null.
    alice.post(
        "/pushers/set",
        {"kind": None, "app_id": "com.example.app.ios", "pushkey": "other"},
        expect=200,
    )
    assert [p["pushkey"] for p in listed(alice)] == [pusher()["pushkey"]]
    # Deleting what is not there is fine; deleting needs app_id and pushkey.
    alice.post("/pushers/set", pusher(kind=None, pushkey="gone"), expect=200)
    resp = alice.post("/pushers/set", {"kind": None, "pushkey": "x"}, expect=400)
    assert resp.json["errcode"] == "M_MISSING_PARAM"
    # Another user cannot delete Alice's pusher.
    bob = server.user("bob")
    bob.post("/pushers/set", pusher(kind=None), expect=200)
    assert len(listed(alice)) == 1


def test_logging_out_removes_the_pushers_of_that_device(server: TestServer) -> None:
    phone = server.user("alice")
    laptop = server.login("alice")
    phone.post("/pushers/set", pusher(pushkey="phone"), expect=200)
    laptop.post("/pushers/set", pusher(pushkey="laptop"), expect=200)
    phone.post("/logout", {}, expect=200)
    assert [p["pushkey"] for p in listed(laptop)] == ["laptop"]
    # Deleting a device through the device API does the same.
    tablet = server.login("alice")
    tablet.post("/pushers/set", pusher(pushkey="tablet"), expect=200)
    assert tablet.device_id is not None
    resp = uia_request(
        server,
        "DELETE",
        f"/_matrix/client/v3/devices/{tablet.device_id}",
        {},
        laptop.token,
        password_auth(laptop.user_id, PASSWORD),
    )
    assert resp.code == 200, resp.json
    assert [p["pushkey"] for p in listed(laptop)] == ["laptop"]
    # A pusher survives a restart of its runner... and logout/all ends all.
    laptop.post("/logout/all", {}, expect=200)
    fresh = server.login("alice")
    assert listed(fresh) == []


def test_deactivation_removes_every_pusher(server: TestServer) -> None:
    alice = server.user("alice")
    alice.post("/pushers/set", pusher(pushkey="one"), expect=200)
    other = server.login("alice")
    other.post("/pushers/set", pusher(pushkey="two"), expect=200)
    resp = uia_request(
        server,
        "POST",
        "/_matrix/client/v3/account/deactivate",
        {},
        alice.token,
        password_auth(alice.user_id, PASSWORD),
    )
    assert resp.code == 200, resp.json
    store = server.hs.pushers.store
    assert server.get_success(store.get_pushers_by_user(alice.user_id)) == []
    assert alice.user_id not in server.hs.pushers.pool.runners
