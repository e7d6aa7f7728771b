"""GET /admin/whois/{userId} (spec: client-server API, "Server
administration"): devices -> sessions -> connections, for a server admin or
the user themselves."""

from __future__ import annotations

from tests.support import q
from tests.support.server import TestServer


def test_whois_of_oneself_lists_devices_and_connections(server: TestServer) -> None:
    alice = server.user("alice")
    agent = {"User-Agent": "chatly-test/1.0"}
    server.advance(61)  # a device is noted as seen at most once a minute
    alice.request("GET", "/account/whoami", headers=agent, expect=200)
    resp = alice.request(
        "GET", f"/admin/whois/{q(alice.user_id)}", headers=agent, expect=200
    )
    body = resp.json
    assert body["user_id"] == alice.user_id
    assert list(body["devices"]) == [alice.device_id]
    sessions = body["devices"][alice.device_id]["sessions"]
    assert len(sessions) == 1
    (connection,) = sessions[0]["connections"]
    assert connection["ip"] == "127.0.0.1"
    assert isinstance(connection["last_seen"], int)
    # The User-Agent of the request that noted the device as seen.
    assert connection["user_agent"] == "chatly-test/1.0"


def test_whois_needs_an_admin_for_another_user(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    resp = bob.get(f"/admin/whois/{q(alice.user_id)}", expect=403)
    assert resp.json["errcode"] == "M_FORBIDDEN"
    admin = server.user("root", admin=True)
    body = admin.get(f"/admin/whois/{q(alice.user_id)}", expect=200).json
    assert body["user_id"] == alice.user_id
    assert alice.device_id in body["devices"]
    # r0 too, as Synapse serves it.
    resp = admin.request("GET", f"/_matrix/client/r0/admin/whois/{q(bob.user_id)}")
    assert resp.code == 200 and bob.device_id in resp.json["devices"]


def test_whois_bad_input(server: TestServer) -> None:
    admin = server.user("root", admin=True)
    assert admin.get("/admin/whois/not-a-user").code == 400
    unknown = admin.get(f"/admin/whois/{q('@nobody:test')}", expect=200).json
    assert unknown == {"user_id": "@nobody:test", "devices": {}}
    assert server.request("GET", "/_matrix/client/v3/admin/whois/@a:test").code == 401
