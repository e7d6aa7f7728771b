"""An application service's rate limits (``rate_limited``), its keys
(cross-signing without UIA, spec v1.17) and acting without a device."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.appservices.client_kit import AS_TOKEN, as_server, registration
from tests.e2ee.keys import CrossSigning
from tests.support.server import TestServer

V3 = "/_matrix/client/v3"
LIMITED = {
    "rate_limiting": {
        "enabled": True,
        "message": {"per_second": 0.01, "burst_count": 2},
    }
}


def send_many(server: TestServer, count: int) -> list[int]:
    room = server.request("POST", f"{V3}/createRoom", {}, token=AS_TOKEN).json[
        "room_id"
    ]
    return [
        server.request(
            "PUT",
            f"{V3}/rooms/{room}/send/m.room.message/t{i}",
            {"msgtype": "m.text", "body": str(i)},
            token=AS_TOKEN,
        ).code
        for i in range(count)
    ]


@pytest.mark.parametrize(("rate_limited", "limited"), [(False, False), (True, True)])
def test_rate_limited_flag(
    make_server: Callable[..., TestServer],
    tmp_path: Path,
    rate_limited: bool,
    limited: bool,
) -> None:
    server = as_server(
        make_server,
        tmp_path,
        registration(rate_limited=rate_limited),
        overrides=LIMITED,
    )
    codes = send_many(server, 5)
    assert (429 in codes) is limited, codes


def test_keys_need_a_device_and_cross_signing_needs_no_uia(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    user = "@irc_kim:test"
    server.request(
        "POST",
        f"{V3}/register",
        {
            "type": "m.login.application_service",
            "username": "irc_kim",
            "inhibit_login": True,
        },
        token=AS_TOKEN,
    )
    q = f"user_id={user}"
    no_device = server.request(
        "POST", f"{V3}/keys/upload?{q}", {"one_time_keys": {}}, token=AS_TOKEN
    )
    assert (no_device.code, no_device.json["errcode"]) == (400, "M_MISSING_PARAM")
    server.request("PUT", f"{V3}/devices/KIMDEV?{q}", {}, token=AS_TOKEN)
    with_device = server.request(
        "POST", f"{V3}/keys/upload?{q}&device_id=KIMDEV", {}, token=AS_TOKEN
    )
    assert with_device.code == 200, with_device.json

    def upload(body: dict[str, Any]) -> Any:
        return server.request(
            "POST", f"{V3}/keys/device_signing/upload?{q}", body, token=AS_TOKEN
        )

    assert upload(CrossSigning(user).upload_body()).code == 200
    # Replacing existing keys: no UIA for an application service.
    replaced = upload(CrossSigning(user).upload_body())
    assert replaced.code == 200, replaced.json


def test_logout_with_the_as_token_revokes_nothing(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    assert server.request("POST", f"{V3}/logout", {}, token=AS_TOKEN).code == 200
    assert server.request("GET", f"{V3}/account/whoami", token=AS_TOKEN).code == 200
