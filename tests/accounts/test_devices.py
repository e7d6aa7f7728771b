"""GET/PUT/DELETE /devices and POST /delete_devices."""

from __future__ import annotations

from tests.api.helpers import CLIENT, login_token, password_auth, uia_request, whoami
from tests.support.server import TestServer

DEVICES = f"{CLIENT}/devices"


def setup_alice(server: TestServer) -> tuple[str, str, str]:
    """alice with two devices; returns (user_id, token, other device's token)."""
    user_id, token = server.register("alice")
    return user_id, token, login_token(server, "alice")


def device_ids(server: TestServer, token: str) -> list[str]:
    resp = server.request("GET", DEVICES, token=token)
    assert resp.code == 200, resp.json
    return [d["device_id"] for d in resp.json["devices"]]


def test_list_and_get(server: TestServer) -> None:
    _, token, other = setup_alice(server)
    mine = whoami(server, token).json["device_id"]
    theirs = whoami(server, other).json["device_id"]
    assert sorted(device_ids(server, token)) == sorted([mine, theirs])
    resp = server.request("GET", f"{DEVICES}/{theirs}", token=token)
    assert resp.code == 200
    assert resp.json["device_id"] == theirs
    assert resp.json["last_seen_ip"] == "127.0.0.1"
    assert isinstance(resp.json["last_seen_ts"], int)


def test_devices_need_auth(server: TestServer) -> None:
    resp = server.request("GET", DEVICES)
    assert (resp.code, resp.json["errcode"]) == (401, "M_MISSING_TOKEN")


def test_unknown_device(server: TestServer) -> None:
    _, token, _ = setup_alice(server)
    for method, body in (("GET", None), ("PUT", {"display_name": "x"}), ("PUT", {})):
        resp = server.request(method, f"{DEVICES}/NOSUCHDEVICE", body, token=token)
        assert resp.code == 404, (method, body)
        assert resp.json["errcode"] == "M_NOT_FOUND"


def test_other_users_devices_are_invisible(server: TestServer) -> None:
    _, token, _ = setup_alice(server)
    _, bob = server.register("bob")
    bob_device = whoami(server, bob).json["device_id"]
    assert bob_device not in device_ids(server, token)
    assert server.request("GET", f"{DEVICES}/{bob_device}", token=token).code == 404
    resp = server.request(
        "PUT", f"{DEVICES}/{bob_device}", {"display_name": "x"}, token=token
    )
    assert resp.code == 404


def test_rename(server: TestServer) -> None:
    _, token, _ = setup_alice(server)
    device = whoami(server, token).json["device_id"]
    resp = server.request(
        "PUT", f"{DEVICES}/{device}", {"display_name": "My phone"}, token=token
    )
    assert resp.code == 200
    assert resp.json == {}
    got = server.request("GET", f"{DEVICES}/{device}", token=token).json
    assert got["display_name"] == "My phone"
    # An empty body changes nothing.
    assert server.request("PUT", f"{DEVICES}/{device}", {}, token=token).code == 200
    got = server.request("GET", f"{DEVICES}/{device}", token=token).json
    assert got["display_name"] == "My phone"


def test_rename_bad_input(server: TestServer) -> None:
    _, token, _ = setup_alice(server)
    device = whoami(server, token).json["device_id"]
    # A wrong type is M_BAD_JSON; a name over the limit is a value out of
    # range, M_INVALID_PARAM (spec "Common error codes").
    for body, errcode in (
        ({"display_name": 5}, "M_BAD_JSON"),
        ({"display_name": "x" * 101}, "M_INVALID_PARAM"),
    ):
        resp = server.request("PUT", f"{DEVICES}/{device}", body, token=token)
        assert (resp.code, resp.json["errcode"]) == (400, errcode)
        assert "display_name" in resp.json["error"]
    resp = server.request("PUT", f"{DEVICES}/{device}", b"nope", token=token)
    assert resp.json["errcode"] == "M_NOT_JSON"


def test_delete_device_needs_ui_auth(server: TestServer) -> None:
    user_id, token, other = setup_alice(server)
    target = whoami(server, other).json["device_id"]
    path = f"{DEVICES}/{target}"

    first = server.request("DELETE", path, token=token)
    assert first.code == 401
    assert first.json["flows"] == [{"stages": ["m.login.password"]}]
    session = first.json["session"]
    assert whoami(server, other).code == 200

    wrong = server.request(
        "DELETE",
        path,
        {"auth": {**password_auth(user_id, "wrongpassword"), "session": session}},
        token=token,
    )
    assert wrong.code == 401
    assert wrong.json["errcode"] == "M_FORBIDDEN"
    assert wrong.json["session"] == session
    assert whoami(server, other).code == 200

    right = server.request(
        "DELETE",
        path,
        {"auth": {**password_auth(user_id), "session": session}},
        token=token,
    )
    assert right.code == 200, right.json
    gone = whoami(server, other)
    assert (gone.code, gone.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    assert target not in device_ids(server, token)
    assert server.request("GET", path, token=token).code == 404


def test_delete_with_someone_elses_password(server: TestServer) -> None:
    _, token, other = setup_alice(server)
    server.register("bob")
    target = whoami(server, other).json["device_id"]
    resp = uia_request(
        server, "DELETE", f"{DEVICES}/{target}", {}, token, password_auth("bob")
    )
    # Right password, wrong user: 403 (as Synapse), not another 401 round.
    assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")
    assert whoami(server, other).code == 200
    wrong = uia_request(
        server,
        "DELETE",
        f"{DEVICES}/{target}",
        {},
        token,
        password_auth("bob", "not-bobs-password"),
    )
    assert (wrong.code, wrong.json["errcode"]) == (401, "M_FORBIDDEN")
    assert whoami(server, other).code == 200


def test_401_after_an_attempt_lists_completed_stages(server: TestServer) -> None:
    user_id, token, other = setup_alice(server)
    path = f"{DEVICES}/{whoami(server, other).json['device_id']}"
    first = server.request("DELETE", path, token=token)
    assert "completed" not in first.json
    session = first.json["session"]
    auth = {**password_auth(user_id, "wrongpassword"), "session": session}
    wrong = server.request("DELETE", path, {"auth": auth}, token=token)
    assert wrong.code == 401
    assert wrong.json["completed"] == []


def test_uia_session_is_bound_to_its_request(server: TestServer) -> None:
    user_id, token, other = setup_alice(server)
    target = whoami(server, other).json["device_id"]
    session = server.request("DELETE", f"{DEVICES}/{target}", token=token).json[
        "session"
    ]
    resp = server.request(
        "POST",
        f"{CLIENT}/delete_devices",
        {"devices": [target], "auth": {**password_auth(user_id), "session": session}},
        token=token,
    )
    assert resp.code == 403
    assert whoami(server, other).code == 200


def test_delete_devices(server: TestServer) -> None:
    user_id, token, second = setup_alice(server)
    third = login_token(server, "alice")
    targets = [whoami(server, t).json["device_id"] for t in (second, third)]
    body = {"devices": [*targets, "NOSUCHDEVICE"]}
    resp = uia_request(
        server, "POST", f"{CLIENT}/delete_devices", body, token, password_auth(user_id)
    )
    assert resp.code == 200, resp.json
    assert device_ids(server, token) == [whoami(server, token).json["device_id"]]
    for dead in (second, third):
        assert whoami(server, dead).code == 401


def test_delete_devices_bad_input(server: TestServer) -> None:
    _, token, _ = setup_alice(server)
    # An absent required field is M_MISSING_PARAM (spec "Common error codes"),
    # a wrong type M_BAD_JSON.
    for body, errcode in (
        ({}, "M_MISSING_PARAM"),
        ({"devices": "ABC"}, "M_BAD_JSON"),
        ({"devices": [1]}, "M_BAD_JSON"),
    ):
        resp = server.request("POST", f"{CLIENT}/delete_devices", body, token=token)
        assert (resp.code, resp.json["errcode"]) == (400, errcode), body
