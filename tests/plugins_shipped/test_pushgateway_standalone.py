"""The stand-alone push gateway (``python -m chatly_pushgateway --config``)
as another homeserver uses it: a real process answering
``POST /_matrix/push/v1/notify`` over real HTTP, delivering WebPush, FCM and
APNs to local stand-ins of the services (push_services.py) and reporting the
rejected pushkeys."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

from tests.plugins_shipped.conftest import PLUGINS_DIR
from tests.plugins_shipped.push_services import (
    ApnsService,
    Got,
    HttpService,
    Subscription,
    apns_key,
    b64url,
    check_apns_alert,
    check_apns_request,
    check_assertion,
    check_fcm_message,
    pem_private,
    serve_http,
    service_account,
    vapid_claims,
)
from tests.plugins_shipped.test_pushgateway import apns, run_until

REPO = Path(__file__).resolve().parents[2]
WEB, ANDROID, IOS = "org.example.web", "org.example.android", "org.example.ios"

__all__ = ["apns"]


@pytest.fixture
def service() -> Iterator[HttpService]:
    yield from serve_http()


def notify_body(devices: list[dict[str, Any]], **fields: Any) -> bytes:
    """A homeserver's ``/notify`` body: a message from another server to
    ``devices`` (``fields``: more of the notification)."""
    notification = {
        "event_id": "$e",
        "room_id": "!r:other.example",
        "type": "m.room.message",
        "sender": "@bob:other.example",
        "content": {"msgtype": "m.text", "body": "hello from afar"},
        "devices": devices,
        **fields,
    }
    return json.dumps({"notification": notification}).encode()


class Gateway:
    """The gateway process, its address and its log."""

    def __init__(self, config: dict[str, Any], tmp: Path) -> None:
        path = tmp / "gateway.yaml"
        path.write_text(yaml.safe_dump(config))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO), str(PLUGINS_DIR / "pushgateway" / "src")]
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chatly_pushgateway", "--config", str(path)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            found = re.search(r"listening on (http://[\d.]+:\d+)", line)
            if found:
                self.base = found.group(1)
                break
        else:
            raise AssertionError("the gateway did not start:\n" + "".join(self.log))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)

    def post(self, path: str, body: bytes) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path,
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def test_standalone_gateway_serves_notify(tmp_path: Path, service: HttpService) -> None:
    vapid = ec.generate_private_key(ec.SECP256R1())
    account, account_key = service_account(service.base + "/token")
    (tmp_path / "fcm.json").write_text(json.dumps(account))

    def token(got: Got) -> tuple[int, Any]:
        check_assertion(got, account, account_key)
        return 200, {"access_token": "ya29.standalone", "expires_in": 3599}

    def send(got: Got) -> tuple[int, Any]:
        assert got.headers["authorization"] == "Bearer ya29.standalone"
        check_fcm_message(json.loads(got.body)["message"])
        return 200, {"name": "projects/chatly-test/messages/1"}

    service.handlers["/token"] = token
    service.handlers["/v1/projects/chatly-test/messages:send"] = send
    live = Subscription.make(service.base + "/push/live")
    gone = Subscription.make(service.base + "/push/gone")
    service.handlers["/push/live"] = lambda got: (201, b"")
    service.handlers["/push/gone"] = lambda got: (410, b"")
    config = {
        "listen": {"bind_address": "127.0.0.1", "port": 0},
        "ip_range_whitelist": ["127.0.0.1/32"],
        "apps": {
            WEB: {
                "webpush": {
                    "vapid_private_key": pem_private(vapid),
                    "vapid_contact": "mailto:ops@example.org",
                }
            },
            ANDROID: {
                "fcm": {"service_account_path": "fcm.json", "api_url": service.base}
            },
        },
    }
    gateway = Gateway(config, tmp_path)
    try:
        devices: list[dict[str, Any]] = [
            # UnifiedPush's shape: the pushkey is the endpoint.
            {
                "app_id": WEB,
                "pushkey": live.endpoint,
                "data": {"p256dh": live.p256dh, "auth": b64url(live.auth)},
            },
            {
                "app_id": WEB,
                "pushkey": gone.endpoint,
                "data": {"p256dh": gone.p256dh, "auth": b64url(gone.auth)},
            },
            {"app_id": ANDROID, "pushkey": "fcm-token", "data": {}},
            {"app_id": "im.unknown", "pushkey": "nobody"},
        ]
        body = notify_body(devices, counts={"unread": 1})
        code, answer = gateway.post("/_matrix/push/v1/notify", body)
        assert code == 200, gateway.log
        assert sorted(answer["rejected"]) == sorted([gone.endpoint, "nobody"])

        [web] = [g for g in service.got if g.path == "/push/live"]
        assert live.decrypt(web.body)["content"]["body"] == "hello from afar"
        claims, _ = vapid_claims(web.headers["authorization"], service.base)
        assert claims["sub"] == "mailto:ops@example.org"
        [fcm] = [g for g in service.got if g.path.endswith(":send")]
        assert json.loads(fcm.body)["message"]["data"]["content_body"] == (
            "hello from afar"
        )

        code, answer = gateway.post("/_matrix/push/v1/notify", b"[]")
        assert code == 400 and answer["errcode"] == "M_BAD_JSON"
        code, answer = gateway.post("/_matrix/push/v1/elsewhere", body)
        assert code == 404 and answer["errcode"] == "M_UNRECOGNIZED"
    finally:
        gateway.stop()


def test_standalone_gateway_serves_apns(tmp_path: Path, apns: ApnsService) -> None:
    """APNs from the stand-alone process: HTTP/2 over TLS with an ES256
    provider token; Apple's ``Unregistered`` comes back as rejected."""

    def respond(got: Got) -> tuple[int, Any]:
        if got.path.endswith("/dead"):
            return 410, {"reason": "Unregistered", "timestamp": 1}
        return 200, b""

    apns.answer = respond
    key_pem, key = apns_key()
    (tmp_path / "AuthKey.p8").write_text(key_pem)
    (tmp_path / "apns-ca.pem").write_text(apns.cert_pem)
    config = {
        "listen": {"bind_address": "127.0.0.1", "port": 0},
        "apps": {
            IOS: {
                "apns": {
                    "key_path": "AuthKey.p8",
                    "key_id": "ABC123DEFG",
                    "team_id": "TEAM123456",
                    "topic": "org.example.ios",
                    "host": apns.host,
                    "ca_file": "apns-ca.pem",
                }
            }
        },
    }
    devices: list[dict[str, Any]] = [
        {"app_id": IOS, "pushkey": "beef", "tweaks": {"sound": "default"}},
        {"app_id": IOS, "pushkey": "dead"},
    ]
    body = notify_body(
        devices,
        counts={"unread": 2},
        sender_display_name="Bob",
        room_name="Lunch",
        prio="high",
    )
    gateway = Gateway(config, tmp_path)
    try:
        # The stand-in APNs runs on this process's reactor: turn it while the
        # request is out.
        answers: list[tuple[int, Any]] = []
        poster = threading.Thread(
            target=lambda: answers.append(gateway.post("/_matrix/push/v1/notify", body))
        )
        poster.start()
        run_until(lambda: not poster.is_alive())
        [(code, answer)] = answers
        assert code == 200, gateway.log
        assert answer["rejected"] == ["dead"]
    finally:
        gateway.stop()

    assert sorted(g.path for g in apns.got) == ["/3/device/beef", "/3/device/dead"]
    for got in apns.got:
        check_apns_request(got, key, "ABC123DEFG", "TEAM123456", IOS)
    [alert] = [g for g in apns.got if g.path.endswith("/beef")]
    shown = {"title": "Lunch", "subtitle": "Bob", "body": "hello from afar"}
    check_apns_alert(alert, shown, badge=2)


def test_standalone_gateway_refuses_a_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump({"apps": {WEB: {"webpush": {"vapid_contac": "x"}}}}))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), str(PLUGINS_DIR / "pushgateway" / "src")]
    )
    done = subprocess.run(
        [sys.executable, "-m", "chatly_pushgateway", "--config", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "apps.org.example.web.webpush.vapid_contac: unknown key" in done.stderr
    assert "did you mean 'vapid_contact'" in done.stderr


def test_the_distribution_declares_its_entry_points(tmp_path: Path) -> None:
    """pip builds plugins/pushgateway on its own; its metadata names the
    plugin (``chatly.plugins``) and the gateway's console script."""
    import importlib.metadata
    import shutil

    source = tmp_path / "pushgateway"
    shutil.copytree(
        PLUGINS_DIR / "pushgateway",
        source,
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
        + ["--disable-pip-version-check", "--target", str(site), str(source)],
        check=True,
    )
    [dist] = importlib.metadata.distributions(path=[str(site)])
    assert dist.metadata["Name"] == "chatly-pushgateway"
    points = {(e.group, e.name): e.value for e in dist.entry_points}
    assert points[("chatly.plugins", "pushgateway")] == "chatly_pushgateway:PushGateway"
    assert points[("console_scripts", "chatly-pushgateway")] == (
        "chatly_pushgateway.standalone:main"
    )
    requires = " ".join(dist.requires or [])
    for needed in ("http-ece", "py-vapid", "h2", "pyjwt"):
        assert needed in requires
