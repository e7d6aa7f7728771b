"""Third-party lookups answered by the bridging application services
(client-server API v1.19, "Third-party Networks")."""

from __future__ import annotations

from collections.abc import Callable

from tests.appservices.kit import AsHarness
from tests.support.server import TestServer

TP = "/_matrix/client/v3/thirdparty"
IRC = {
    "user_fields": ["network", "nickname"],
    "location_fields": ["network", "channel"],
    "icon": "mxc://example.org/irc",
    "field_types": {},
    "instances": [
        {"network_id": "libera", "desc": "Libera", "fields": {"network": "libera"}}
    ],
}
LOCATION = {"alias": "#irc_libera_#chat:test", "protocol": "irc", "fields": {}}
USER = {"userid": "@irc_nick:test", "protocol": "irc", "fields": {}}


def test_protocols_and_lookups(make_server: Callable[..., TestServer]) -> None:
    h = AsHarness(make_server, protocols=("irc",))
    h.fake.thirdparty = {
        "protocol/irc": IRC,
        "location/irc": [LOCATION, {"bad": "entry"}],
        "user/irc": [USER],
        "location": [LOCATION],
        "user": [USER],
    }
    token = h.server.user("alice").token
    protocols = h.request("GET", f"{TP}/protocols", token=token)
    assert protocols.code == 200
    instance = protocols.json["irc"]["instances"][0]
    assert instance["instance_id"] == "bridge|libera"
    assert protocols.json["irc"]["user_fields"] == ["network", "nickname"]
    assert (
        h.request("GET", f"{TP}/protocol/irc", token=token).json["icon"] == IRC["icon"]
    )
    missing = h.request("GET", f"{TP}/protocol/xmpp", token=token)
    assert (missing.code, missing.json["errcode"]) == (404, "M_NOT_FOUND")

    found = h.request("GET", f"{TP}/location/irc?channel=%23chat", token=token)
    assert found.json == [LOCATION]  # the invalid entry is left out
    asked = h.fake.received[-1]
    assert asked.query == "channel=%23chat"
    assert asked.authorization == "Bearer hs-secret"
    assert h.request("GET", f"{TP}/user/irc", token=token).json == [USER]
    by_alias = h.request(
        "GET", f"{TP}/location?alias=%23irc_libera_%23chat:test", token=token
    )
    assert by_alias.json == [LOCATION]
    assert h.request("GET", f"{TP}/user?userid=@irc_nick:test", token=token).json == [
        USER
    ]
    no_param = h.request("GET", f"{TP}/user", token=token)
    assert (no_param.code, no_param.json["errcode"]) == (400, "M_MISSING_PARAM")
    assert h.request("GET", f"{TP}/location/xmpp", token=token).json == []
    assert h.request("GET", f"{TP}/protocols").code == 401
    h.close()


def test_an_as_that_fails_is_left_out(make_server: Callable[..., TestServer]) -> None:
    h = AsHarness(make_server, protocols=("irc",))
    token = h.server.user("alice").token
    h.listener.stop()
    assert h.request("GET", f"{TP}/protocols", token=token).json == {}
    assert h.request("GET", f"{TP}/user/irc", token=token).json == []
    h.close()
