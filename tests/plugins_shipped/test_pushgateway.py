"""The push gateway plugin (plugins/pushgateway) in process: the server's
``chatly_push`` hook and the plugin's ``/_matrix/push/v1/notify`` route
deliver to local stand-ins of the push services (push_services.py), which
check each request as the real service documents it: WebPush decrypted with
the subscription's private key and its VAPID JWT verified; FCM's JWT-bearer
assertion, bearer token and v1 message; APNs over HTTP/2 and TLS with its
ES256 provider token, headers and payload.

The homeserver runs on its fake reactor; the plugin's outbound traffic
(the guarded HTTP client and the APNs HTTP/2 connection) runs on Twisted's
global reactor, iterated here until the answer is in."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer
from twisted.internet import reactor as global_reactor

from homeserver.config import parse_config
from homeserver.plugins import PushDelivery
from homeserver.plugins.outbound import plugin_http_client
from tests.plugins_shipped.conftest import plugin_overrides
from tests.plugins_shipped.push_services import (
    ApnsService,
    Got,
    HttpService,
    Subscription,
    apns_key,
    check_apns_alert,
    check_apns_request,
    check_assertion,
    check_fcm_message,
    pem_private,
    serve_http,
    service_account,
    vapid_claims,
)
from tests.support import server as server_kit
from tests.support.server import PendingRequest, TestServer

SAFETY_NET_S = 60.0  # a broken test's way out, never a timing assertion
WEB, ANDROID, IOS = "org.example.web", "org.example.android", "org.example.ios"
NOTIFY = "/_chatly/plugins/pushgateway/_matrix/push/v1/notify"
MESSAGE = {
    "event_id": "$ev1",
    "room_id": "!room:test",
    "type": "m.room.message",
    "sender": "@bob:test",
    "sender_display_name": "Bob",
    "room_name": "Lunch",
    "prio": "high",
    "content": {"msgtype": "m.text", "body": "Pizza?", "formatted_body": "<b>P</b>"},
    "counts": {"unread": 3, "missed_calls": 0},
}


def run_until(done: Callable[[], bool]) -> None:
    """Iterate the global reactor until ``done()``."""
    deadline = time.monotonic() + SAFETY_NET_S
    while not done():
        assert time.monotonic() < deadline, "the push never finished"
        global_reactor.iterate(0.01)  # type: ignore[attr-defined]


@pytest.fixture
def service() -> Iterator[HttpService]:
    yield from serve_http()


@pytest.fixture
def apns() -> Iterator[ApnsService]:
    fake = ApnsService(global_reactor)
    yield fake
    fake.stop()


class Keys:
    """The credentials of the three apps, made for the test."""

    def __init__(self, service: HttpService, apns: ApnsService, tmp: Path) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self.vapid = ec.generate_private_key(ec.SECP256R1())
        self.account, self.account_key = service_account(service.base + "/token")
        self.apns_pem, self.apns_key = apns_key()
        self.ca_file = tmp / "apns-ca.pem"
        self.ca_file.write_text(apns.cert_pem)
        self.apns_host = apns.host

    def apps(self) -> dict[str, Any]:
        return {
            WEB: {
                "webpush": {
                    "vapid_private_key": pem_private(self.vapid),
                    "vapid_contact": "mailto:push@example.org",
                    "ttl": 600,
                }
            },
            ANDROID: {
                "fcm": {
                    "service_account": json.dumps(self.account),
                    "api_url": self.account["token_uri"].rsplit("/", 1)[0],
                }
            },
            IOS: {
                "apns": {
                    "key": self.apns_pem,
                    "key_id": "ABC123DEFG",
                    "team_id": "TEAM123456",
                    "topic": "org.example.ios",
                    "host": self.apns_host,
                    "ca_file": str(self.ca_file),
                }
            },
        }


@pytest.fixture
def keys(service: HttpService, apns: ApnsService, tmp_path: Path) -> Keys:
    return Keys(service, apns, tmp_path)


class Harness:
    """A server with the push gateway plugin loaded (loopback allowed)."""

    def __init__(self, make_server: Callable[..., TestServer], keys: Keys) -> None:
        overrides = plugin_overrides(
            "pushgateway", "PushGateway", {"apps": keys.apps()}
        )
        overrides["plugins"]["ip_range_whitelist"] = ["127.0.0.1/32"]
        section = parse_config(server_kit.test_config_dict(overrides)).plugins
        client = plugin_http_client(
            global_reactor, section.ip_range_blacklist, section.ip_range_whitelist, 10
        )
        self.server = make_server(overrides, plugin_http=client)

    def push(
        self,
        app_id: str,
        pushkey: str,
        data: dict[str, Any],
        notification: Any,
        kind: str = "http",
    ) -> bool | None:
        """The server's ``chatly_push`` hook call, as its pushers make it."""
        delivery = PushDelivery(
            user_id="@alice:test",
            app_id=app_id,
            pushkey=pushkey,
            kind=kind,
            data=data,
            notification=notification,
        )
        results: list[Any] = []
        hooks = self.server.hs.plugins.hooks
        defer.ensureDeferred(hooks.first("chatly_push", delivery=delivery)).addBoth(
            results.append
        )
        run_until(lambda: bool(results))
        assert results[0] is None or isinstance(results[0], bool), results
        return results[0]  # type: ignore[no-any-return]

    def notify(self, body: bytes) -> Any:
        """POST the plugin's notify route; iterate until it answers."""
        head = (
            f"POST {NOTIFY} HTTP/1.1\r\nHost: localhost\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        pending: PendingRequest = self.server.start_raw_request(head.encode() + body)
        run_until(lambda: pending.done)
        return pending.response()


@pytest.fixture
def harness(make_server: Callable[..., TestServer], keys: Keys) -> Harness:
    return Harness(make_server, keys)


def _answer(code: int, body: Any = b"") -> Callable[[Got], tuple[int, Any]]:
    return lambda got: (code, body)


# ---- WebPush ---------------------------------------------------------------------


def test_webpush_is_encrypted_and_vapid_signed(
    harness: Harness, keys: Keys, service: HttpService
) -> None:
    sub = Subscription.make(service.base + "/push/sub-1")
    service.handlers["/push/sub-1"] = _answer(201)
    data = {
        "url": "https://gateway.example/_matrix/push/v1/notify",
        "endpoint": sub.endpoint,
        "auth": _b64(sub.auth),
        "default_payload": {"account": "alice"},
    }
    # Sygnal's (and Element Web's) shape: the pushkey is the p256dh key.
    assert harness.push(WEB, sub.p256dh, data, MESSAGE) is True

    [got] = service.got
    assert got.headers["content-encoding"] == "aes128gcm"
    assert got.headers["ttl"] == "600" and got.headers["urgency"] == "normal"
    claims, k = vapid_claims(got.headers["authorization"], service.base)
    assert claims["sub"] == "mailto:push@example.org"
    assert k == _public_b64(keys.vapid)
    payload = sub.decrypt(got.body)
    assert payload["event_id"] == "$ev1" and payload["room_name"] == "Lunch"
    assert payload["content"] == {"msgtype": "m.text", "body": "Pizza?"}
    assert payload["unread"] == 3 and payload["account"] == "alice"
    assert not Subscription.make(sub.endpoint).auth == sub.auth


def test_webpush_gone_subscription_is_rejected(
    harness: Harness, service: HttpService
) -> None:
    sub = Subscription.make(service.base + "/push/gone")
    service.handlers["/push/gone"] = _answer(410)
    # UnifiedPush's shape: the pushkey is the endpoint.
    data = {"p256dh": sub.p256dh, "auth": _b64(sub.auth)}
    assert harness.push(WEB, sub.endpoint, data, MESSAGE) is False
    assert len(service.got) == 1
    assert sub.decrypt(service.got[0].body)["event_id"] == "$ev1"


def test_webpush_endpoint_on_a_denied_address_is_never_contacted(
    harness: Harness,
) -> None:
    """The endpoint comes from the user's pusher: one on an address the
    outbound rules deny (127.0.0.2: loopback, and only 127.0.0.1 is allowed
    here) is never connected to; it is a failure, not a delivery."""
    for inside in serve_http("127.0.0.2"):
        sub = Subscription.make(inside.base + "/admin")
        inside.handlers["/admin"] = _answer(201)
        data = {"endpoint": sub.endpoint, "auth": _b64(sub.auth)}
        assert harness.push(WEB, sub.p256dh, data, MESSAGE) is None
        assert inside.got == []


def test_other_app_ids_are_left_to_the_server(harness: Harness) -> None:
    assert harness.push("im.other.app", "key", {"url": "x"}, MESSAGE) is None
    assert harness.push(WEB, "a@example.org", {}, MESSAGE, kind="email") is None


# ---- FCM -----------------------------------------------------------------------------


def _fcm(service: HttpService, keys: Keys, statuses: dict[str, Any]) -> None:
    def token(got: Got) -> tuple[int, Any]:
        check_assertion(got, keys.account, keys.account_key)
        return 200, {"access_token": "ya29.token-1", "expires_in": 3599}

    def send(got: Got) -> tuple[int, Any]:
        assert got.headers["authorization"] == "Bearer ya29.token-1"
        message = json.loads(got.body)["message"]
        check_fcm_message(message)
        return statuses.get(message["token"], (200, {"name": "projects/x/m/1"}))

    service.handlers["/token"] = token
    service.handlers["/v1/projects/chatly-test/messages:send"] = send


def test_fcm_v1_with_service_account(
    harness: Harness, keys: Keys, service: HttpService
) -> None:
    unregistered = {
        "error": {
            "code": 404,
            "status": "NOT_FOUND",
            "details": [
                {
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": "UNREGISTERED",
                }
            ],
        }
    }
    _fcm(service, keys, {"old-token": (404, unregistered)})
    data = {"url": "https://x/_matrix/push/v1/notify", "format": "event_id_only"}
    low = {
        "event_id": "$ev2",
        "room_id": "!r:test",
        "prio": "low",
        "counts": {"unread": 1},
    }
    assert harness.push(ANDROID, "fcm-token-1", data, MESSAGE) is True
    assert harness.push(ANDROID, "fcm-token-1", data, low) is True
    assert harness.push(ANDROID, "old-token", data, MESSAGE) is False

    paths = [g.path for g in service.got]
    assert paths.count("/token") == 1  # the access token is cached
    sends = [json.loads(g.body)["message"] for g in service.got if g.path != "/token"]
    first, second = sends[0], sends[1]
    assert first["token"] == "fcm-token-1"
    assert first["android"] == {"priority": "high"}
    assert first["apns"]["headers"]["apns-priority"] == "10"
    assert first["data"]["event_id"] == "$ev1"
    assert first["data"]["content_body"] == "Pizza?"
    assert first["data"]["unread"] == "3" and first["data"]["prio"] == "high"
    assert "url" not in first["data"] and "format" not in first["data"]
    assert second["android"] == {"priority": "normal"}
    assert second["data"]["unread"] == "1" and "content_body" not in second["data"]


# ---- APNs ----------------------------------------------------------------------------


def test_apns_over_http2_with_provider_token(
    harness: Harness, keys: Keys, apns: ApnsService
) -> None:
    def answer(got: Got) -> tuple[int, Any]:
        if got.path.endswith("/dead-token"):
            return 410, {"reason": "Unregistered", "timestamp": 1}
        if got.path.endswith("/bad-token"):
            return 400, {"reason": "BadDeviceToken"}
        return 200, b""

    apns.answer = answer
    tweaks = {"devices": [{"pushkey": "a1b2", "tweaks": {"sound": "default"}}]}
    assert harness.push(IOS, "a1b2", {}, {**MESSAGE, **tweaks}) is True
    counts_only = {"counts": {"unread": 0}, "prio": "low"}
    assert harness.push(IOS, "a1b2", {}, counts_only) is True
    assert harness.push(IOS, "dead-token", {}, MESSAGE) is False
    assert harness.push(IOS, "bad-token", {}, MESSAGE) is False

    alert, background = apns.got[0], apns.got[1]
    for got in apns.got:
        check_apns_request(got, keys.apns_key, "ABC123DEFG", "TEAM123456", IOS)
    assert alert.path == "/3/device/a1b2"
    shown = {"title": "Lunch", "subtitle": "Bob", "body": "Pizza?"}
    payload = check_apns_alert(alert, shown, badge=3)
    assert payload["room_id"] == "!room:test" and payload["event_id"] == "$ev1"
    assert background.headers["apns-push-type"] == "background"
    assert background.headers["apns-priority"] == "5"
    assert json.loads(background.body) == {"aps": {"badge": 0, "content-available": 1}}


def test_apns_event_id_only_uses_the_default_payload(
    harness: Harness, apns: ApnsService
) -> None:
    default = {"aps": {"mutable-content": 1, "alert": {"loc-key": "Notification"}}}
    notification = {"event_id": "$ev3", "room_id": "!r:test", "counts": {"unread": 2}}
    assert harness.push(IOS, "f00d", {"default_payload": default}, notification)
    [got] = apns.got
    assert got.headers["apns-push-type"] == "alert"
    assert json.loads(got.body) == {
        "aps": {"mutable-content": 1, "alert": {"loc-key": "Notification"}, "badge": 2},
        "room_id": "!r:test",
        "event_id": "$ev3",
        "unread_count": 2,
    }


# ---- the notify route -------------------------------------------------------------------


def test_notify_route_reports_rejected_pushkeys(
    harness: Harness, keys: Keys, service: HttpService, apns: ApnsService
) -> None:
    _fcm(service, keys, {"old-token": (404, {"error": {"status": "NOT_FOUND"}})})
    live = Subscription.make(service.base + "/push/live")
    service.handlers["/push/live"] = _answer(201)
    devices = [
        {"app_id": ANDROID, "pushkey": "fcm-ok", "data": {}},
        {"app_id": ANDROID, "pushkey": "old-token", "data": {}},
        {
            "app_id": WEB,
            "pushkey": live.p256dh,
            "data": {"endpoint": live.endpoint, "auth": _b64(live.auth)},
        },
        {"app_id": IOS, "pushkey": "a1b2", "tweaks": {"highlight": True}},
        {"app_id": "im.unknown.app", "pushkey": "whatever"},
    ]
    body = json.dumps({"notification": {**MESSAGE, "devices": devices}}).encode()
    response = harness.notify(body)
    assert response.code == 200, response.body
    assert sorted(response.json["rejected"]) == ["old-token", "whatever"]
    received = [
        json.loads(g.body)["message"]["token"] for g in service.got if "send" in g.path
    ]
    assert sorted(received) == ["fcm-ok", "old-token"]
    [web] = [g for g in service.got if g.path == "/push/live"]
    assert live.decrypt(web.body)["content"]["body"] == "Pizza?"
    assert [g.path for g in apns.got] == ["/3/device/a1b2"]


def test_notify_route_refuses_bad_bodies(harness: Harness) -> None:
    response = harness.notify(b"{not json")
    assert response.code == 400 and response.json["errcode"] == "M_NOT_JSON"
    response = harness.notify(json.dumps({"notification": {"devices": 3}}).encode())
    assert response.code == 400 and response.json["errcode"] == "M_BAD_JSON"


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public_b64(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64(raw)


# ---- another back end ----------------------------------------------------------------------


def test_a_custom_back_end_serves_its_app_id(
    make_server: Callable[..., TestServer],
) -> None:
    from tests.plugins_shipped.custom_pushkin import EchoPushkin

    EchoPushkin.delivered.clear()
    backend = "tests.plugins_shipped.custom_pushkin:EchoPushkin"
    custom = {"backend": backend, "settings": {"refuse_prefix": "x-"}}
    apps = {"org.example.own": {"custom": custom}}
    server = make_server(plugin_overrides("pushgateway", "PushGateway", {"apps": apps}))
    devices = [
        {"app_id": "org.example.own", "pushkey": "ok-1"},
        {"app_id": "org.example.own", "pushkey": "x-gone"},
    ]
    body = {"notification": {**MESSAGE, "devices": devices}}
    response = server.request("POST", NOTIFY, body)
    assert response.code == 200 and response.json == {"rejected": ["x-gone"]}
    assert EchoPushkin.delivered == [("ok-1", "$ev1")]

    bad = {"custom": {"backend": backend, "settings": {"refuse_prefx": "x-"}}}
    with pytest.raises(Exception, match="refuse_prefx"):
        make_server(
            plugin_overrides("pushgateway", "PushGateway", {"apps": {"a": bad}})
        )
