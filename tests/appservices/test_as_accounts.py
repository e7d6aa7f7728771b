"""Application services creating, logging in and managing their users
(spec v1.19 AS API "Server admin style permissions", "Device management"),
and exclusive namespaces closed to everyone else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.appservices.client_kit import AS_TOKEN, as_server, registration
from tests.support.server import TestServer

REGISTER = "/_matrix/client/v3/register"
LOGIN = "/_matrix/client/v3/login"
AS_LOGIN = "m.login.application_service"


def as_register(server: TestServer, username: str, **extra: object) -> object:
    return server.request(
        "POST",
        REGISTER,
        {"type": AS_LOGIN, "username": username, **extra},
        token=AS_TOKEN,
    )


def test_register_in_namespace_without_uia(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    # Registration is closed to people, still open to the AS.
    server = as_server(
        make_server,
        tmp_path,
        overrides={"registration": {"enable_registration": False}},
    )
    resp = as_register(server, "irc_alice")
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == "@irc_alice:test"
    token = resp.json["access_token"]
    who = server.request("GET", "/_matrix/client/v3/account/whoami", token=token)
    assert who.json["user_id"] == "@irc_alice:test"
    inhibited = as_register(server, "irc_bob", inhibit_login=True)
    assert inhibited.code == 200
    assert "access_token" not in inhibited.json
    again = as_register(server, "irc_bob", inhibit_login=True)
    assert again.json["errcode"] == "M_USER_IN_USE"


def test_register_outside_namespace_is_exclusive_error(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    resp = as_register(server, "alice")
    assert resp.code == 400
    assert resp.json["errcode"] == "M_EXCLUSIVE"


def test_register_with_a_bad_or_missing_as_token(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    body = {"type": AS_LOGIN, "username": "irc_alice"}
    bad = server.request("POST", REGISTER, body, token="nope")
    assert (bad.code, bad.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    missing = server.request("POST", REGISTER, body)
    assert missing.code in (401, 400)


def test_people_cannot_register_in_an_exclusive_namespace(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    resp = server.request(
        "POST",
        REGISTER,
        {
            "username": "irc_mallory",
            "password": "password123",
            "auth": {"type": "m.login.dummy"},
        },
    )
    assert resp.code == 400
    assert resp.json["errcode"] == "M_EXCLUSIVE"
    avail = server.request("GET", f"{REGISTER}/available?username=irc_mallory")
    assert avail.json["errcode"] == "M_EXCLUSIVE"
    fine = server.request("GET", f"{REGISTER}/available?username=mallory")
    assert fine.json == {"available": True}


def test_non_exclusive_namespace_stays_open(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path, registration(exclusive=False))
    avail = server.request("GET", f"{REGISTER}/available?username=irc_mallory")
    assert avail.json == {"available": True}


def test_login_advertised_and_works_in_namespace(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    flows = server.request("GET", LOGIN).json["flows"]
    assert {"type": AS_LOGIN} in flows
    as_register(server, "irc_alice", inhibit_login=True)
    body = {"type": AS_LOGIN, "identifier": {"type": "m.id.user", "user": "irc_alice"}}
    resp = server.request("POST", LOGIN, body, token=AS_TOKEN)
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == "@irc_alice:test"
    server.register("bob")
    outside = {"type": AS_LOGIN, "identifier": {"type": "m.id.user", "user": "bob"}}
    refused = server.request("POST", LOGIN, outside, token=AS_TOKEN)
    assert (refused.code, refused.json["errcode"]) == (403, "M_EXCLUSIVE")
    no_token = server.request("POST", LOGIN, body)
    assert (no_token.code, no_token.json["errcode"]) == (401, "M_MISSING_TOKEN")


def test_devices_without_uia(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    as_register(server, "irc_alice", inhibit_login=True)
    q = "user_id=@irc_alice:test"
    created = server.request(
        "PUT",
        f"/_matrix/client/v3/devices/BRIDGEDEV?{q}",
        {"display_name": "Bridge"},
        token=AS_TOKEN,
    )
    assert created.code == 200, created.json
    listed = server.request("GET", f"/_matrix/client/v3/devices?{q}", token=AS_TOKEN)
    assert [(d["device_id"], d["display_name"]) for d in listed.json["devices"]] == [
        ("BRIDGEDEV", "Bridge")
    ]
    renamed = server.request(
        "PUT",
        f"/_matrix/client/v3/devices/BRIDGEDEV?{q}",
        {"display_name": "Renamed"},
        token=AS_TOKEN,
    )
    assert renamed.code == 200
    server.request("PUT", f"/_matrix/client/v3/devices/D2?{q}", {}, token=AS_TOKEN)
    deleted = server.request(
        "DELETE", f"/_matrix/client/v3/devices/BRIDGEDEV?{q}", token=AS_TOKEN
    )
    assert deleted.code == 200, deleted.json
    bulk = server.request(
        "POST",
        f"/_matrix/client/v3/delete_devices?{q}",
        {"devices": ["D2"]},
        token=AS_TOKEN,
    )
    assert bulk.code == 200, bulk.json
    listed = server.request("GET", f"/_matrix/client/v3/devices?{q}", token=AS_TOKEN)
    assert listed.json["devices"] == []


def test_people_still_need_uia_and_cannot_create_devices(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    bob = server.user("bob")
    made = server.request("PUT", "/_matrix/client/v3/devices/NEW", {}, token=bob.token)
    assert made.code == 404
    gone = server.request(
        "DELETE", f"/_matrix/client/v3/devices/{bob.device_id}", token=bob.token
    )
    assert gone.code == 401 and "flows" in gone.json


def test_another_as_cannot_register_in_an_exclusive_namespace(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    # "logger" watches everyone (non-exclusive); "irc" owns @irc_* exclusively.
    logger = registration(
        id="logger",
        as_token="logger-token",
        hs_token="logger-hs",
        sender_localpart="logger_bot",
        users="@.*",
        aliases=None,
        exclusive=False,
    )
    server = as_server(make_server, tmp_path, registration(), logger)
    body = {"type": AS_LOGIN, "username": "irc_eve", "inhibit_login": True}
    taken = server.request("POST", REGISTER, body, token="logger-token")
    assert (taken.code, taken.json["errcode"]) == (400, "M_EXCLUSIVE")
    own = server.request(
        "POST", REGISTER, {**body, "username": "watched"}, token="logger-token"
    )
    assert own.code == 200, own.json
