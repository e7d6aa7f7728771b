"""An application service as a client: its as_token and identity assertion
(``user_id``, and ``device_id`` from spec v1.17 / MSC4326)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.appservices.client_kit import AS_TOKEN, SENDER, as_server
from tests.support.server import TestServer

WHOAMI = "/_matrix/client/v3/account/whoami"
REGISTER = "/_matrix/client/v3/register"


def register_puppet(server: TestServer, localpart: str) -> str:
    resp = server.request(
        "POST",
        REGISTER,
        {
            "type": "m.login.application_service",
            "username": localpart,
            "inhibit_login": True,
        },
        token=AS_TOKEN,
    )
    assert resp.code == 200, resp.json
    return str(resp.json["user_id"])


def test_as_token_acts_as_the_sender_created_on_demand(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    resp = server.request("GET", WHOAMI, token=AS_TOKEN)
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == SENDER
    assert "device_id" not in resp.json
    profile = server.request("GET", f"/_matrix/client/v3/profile/{SENDER}")
    assert profile.code == 200


def test_masquerade_inside_the_namespace(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    puppet = register_puppet(server, "irc_alice")
    resp = server.request("GET", f"{WHOAMI}?user_id={puppet}", token=AS_TOKEN)
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == puppet


def test_masquerade_outside_the_namespace_is_refused(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    bob, _ = server.register("bob")
    resp = server.request("GET", f"{WHOAMI}?user_id={bob}", token=AS_TOKEN)
    assert resp.code == 403
    assert resp.json["errcode"] == "M_EXCLUSIVE"
    remote = server.request("GET", f"{WHOAMI}?user_id=@irc_x:elsewhere", token=AS_TOKEN)
    assert remote.code == 403


def test_masquerade_as_an_unregistered_puppet_is_refused(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    resp = server.request("GET", f"{WHOAMI}?user_id=@irc_ghost:test", token=AS_TOKEN)
    assert resp.code == 403
    assert resp.json["errcode"] == "M_FORBIDDEN"


def test_user_id_is_ignored_for_normal_users(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    bob, token = server.register("bob")
    resp = server.request("GET", f"{WHOAMI}?user_id=@irc_x:test", token=token)
    assert resp.json["user_id"] == bob


def test_device_id_masquerading(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    puppet = register_puppet(server, "irc_alice")
    created = server.request(
        "PUT",
        f"/_matrix/client/v3/devices/PUPDEV?user_id={puppet}",
        {},
        token=AS_TOKEN,
    )
    assert created.code == 200, created.json
    resp = server.request(
        "GET", f"{WHOAMI}?user_id={puppet}&device_id=PUPDEV", token=AS_TOKEN
    )
    assert resp.code == 200, resp.json
    assert (resp.json["user_id"], resp.json["device_id"]) == (puppet, "PUPDEV")
    unknown = server.request(
        "GET", f"{WHOAMI}?user_id={puppet}&device_id=NOPE", token=AS_TOKEN
    )
    assert unknown.code == 400
    assert unknown.json["errcode"] == "M_UNKNOWN_DEVICE"
    # Without user_id, the device must be the sender's.
    not_senders = server.request("GET", f"{WHOAMI}?device_id=PUPDEV", token=AS_TOKEN)
    assert not_senders.json["errcode"] == "M_UNKNOWN_DEVICE"


def test_unknown_token_is_still_401(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    resp = server.request("GET", WHOAMI, token="not-an-as-token")
    assert resp.code == 401
    assert resp.json["errcode"] == "M_UNKNOWN_TOKEN"


def test_timestamp_massaging(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    """AS API "Timestamp massaging": ``ts`` on send and state, for an AS only."""
    server = as_server(make_server, tmp_path)
    bob, token = server.register("bob")
    room = server.request(
        "POST",
        "/_matrix/client/v3/createRoom",
        {"preset": "public_chat"},
        token=AS_TOKEN,
    ).json["room_id"]
    base = f"/_matrix/client/v3/rooms/{room}"
    sent = server.request(
        "PUT",
        f"{base}/send/m.room.message/t1?ts=1234567890",
        {"msgtype": "m.text", "body": "old news"},
        token=AS_TOKEN,
    )
    assert sent.code == 200, sent.json
    state = server.request(
        "PUT",
        f"{base}/state/m.room.topic?ts=1000",
        {"topic": "then"},
        token=AS_TOKEN,
    )
    assert state.code == 200, state.json
    for event_id, ts in (
        (sent.json["event_id"], 1234567890),
        (state.json["event_id"], 1000),
    ):
        got = server.request("GET", f"{base}/event/{event_id}", token=AS_TOKEN)
        assert got.json["origin_server_ts"] == ts
    bad = server.request(
        "PUT",
        f"{base}/send/m.room.message/t2?ts=-5",
        {"msgtype": "m.text", "body": "x"},
        token=AS_TOKEN,
    )
    assert (bad.code, bad.json["errcode"]) == (400, "M_INVALID_PARAM")
    # People's ts is ignored.
    server.request("POST", f"/_matrix/client/v3/join/{room}", {}, token=token)
    mine = server.request(
        "PUT",
        f"{base}/send/m.room.message/t3?ts=1000",
        {"msgtype": "m.text", "body": "now"},
        token=token,
    )
    got = server.request("GET", f"{base}/event/{mine.json['event_id']}", token=token)
    assert got.json["origin_server_ts"] != 1000
    assert bob
