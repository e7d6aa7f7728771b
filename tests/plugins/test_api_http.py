"""Plugin HTTP routes under /_chatly/plugins/{name}/, through real HTTP."""

from __future__ import annotations

import pytest

from homeserver.plugins.api import (
    PluginAPI,
    PluginError,
    PluginRequest,
    PluginResponse,
)
from tests.plugins.api_kit import facade
from tests.support.server import TestServer

BASE = "/_chatly/plugins/demo"


def _routes(api: PluginAPI) -> None:
    async def hello(request: PluginRequest) -> object:
        return {
            "hello": request.path_params["name"],
            "path": request.path,
            "shout": request.query_param("shout"),
        }

    async def echo(request: PluginRequest) -> object:
        return 201, {"got": request.json(), "method": request.method}

    async def text(request: PluginRequest) -> PluginResponse:
        return PluginResponse(202, b"plain", "text/plain", {"X-Plugin": "demo"})

    async def teapot(request: PluginRequest) -> object:
        raise PluginError(418, "I am a teapot", "ORG_EXAMPLE_TEAPOT")

    async def broken(request: PluginRequest) -> object:
        raise RuntimeError("plugin bug")

    async def whoami(request: PluginRequest) -> object:
        assert request.user is not None
        return {"user_id": request.user.user_id, "device_id": request.user.device_id}

    async def optional(request: PluginRequest) -> object:
        try:
            user = await api.authenticate(request)
        except PluginError as exc:
            return {"anonymous": exc.errcode}
        return {"user_id": user.user_id}

    api.register_route("GET", "/hello/{name}", hello)
    api.register_route("POST", "/echo", echo)
    api.register_route("PUT", "/echo", echo)
    api.register_route("GET", "/text", text)
    api.register_route("GET", "/teapot", teapot)
    api.register_route("DELETE", "/broken", broken)
    api.register_route("GET", "/me", whoami, require_auth=True)
    api.register_route("GET", "/maybe", optional)
    api.register_route("GET", "/json", lambda r: _json(api))


async def _json(api: PluginAPI) -> PluginResponse:
    return api.json_response({"ok": True}, 203, {"X-Extra": "1"})


@pytest.fixture
def routed(server: TestServer) -> TestServer:
    _routes(facade(server))
    return server


def test_a_route_answers_with_its_path_parameters(routed: TestServer) -> None:
    resp = routed.request("GET", f"{BASE}/hello/w%C3%B6rld%2Fx?shout=yes")
    assert resp.code == 200
    assert resp.json == {
        "hello": "wörld/x",
        "path": "/hello/w%C3%B6rld%2Fx",
        "shout": "yes",
    }
    assert routed.request("HEAD", f"{BASE}/hello/x").code == 200


def test_json_bodies_status_and_raw_responses(routed: TestServer) -> None:
    resp = routed.request("POST", f"{BASE}/echo", {"a": [1]})
    assert (resp.code, resp.json) == (201, {"got": {"a": [1]}, "method": "POST"})
    resp = routed.request("PUT", f"{BASE}/echo", b"{not json")
    assert (resp.code, resp.json["errcode"]) == (400, "M_NOT_JSON")
    resp = routed.request("GET", f"{BASE}/text")
    assert (resp.code, resp.body) == (202, b"plain")
    assert resp.header("content-type") == "text/plain"
    assert resp.header("x-plugin") == "demo"
    resp = routed.request("GET", f"{BASE}/json")
    assert (resp.code, resp.json, resp.header("x-extra")) == (203, {"ok": True}, "1")


def test_errors_are_matrix_errors(routed: TestServer) -> None:
    resp = routed.request("GET", f"{BASE}/teapot")
    assert resp.code == 418
    assert resp.json == {"errcode": "ORG_EXAMPLE_TEAPOT", "error": "I am a teapot"}
    resp = routed.request("DELETE", f"{BASE}/broken")
    assert resp.code == 500
    assert resp.json["errcode"] == "M_UNKNOWN"
    assert "plugin bug" not in resp.json["error"]


def test_unknown_routes_and_methods(routed: TestServer) -> None:
    for path in (f"{BASE}/nope", f"{BASE}/hello", "/_chatly/plugins/other/hello/x"):
        resp = routed.request("GET", path)
        assert resp.code == 404, path
        assert resp.json["errcode"] == "M_UNRECOGNIZED"
    resp = routed.request("DELETE", f"{BASE}/echo")
    assert (resp.code, resp.json["errcode"]) == (405, "M_UNRECOGNIZED")
    assert routed.request("GET", "/_chatly/plugins/demo").code == 404


def test_routes_with_auth(routed: TestServer) -> None:
    alice = routed.user("alice")
    resp = routed.request("GET", f"{BASE}/me")
    assert (resp.code, resp.json["errcode"]) == (401, "M_MISSING_TOKEN")
    resp = routed.request("GET", f"{BASE}/me", token="not-a-token")
    assert (resp.code, resp.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    resp = routed.request("GET", f"{BASE}/me", token=alice.token)
    assert resp.json == {"user_id": alice.user_id, "device_id": alice.device_id}
    resp = routed.request("GET", f"{BASE}/me?access_token={alice.token}")
    assert resp.json["user_id"] == alice.user_id


def test_the_auth_helper(routed: TestServer) -> None:
    alice = routed.user("alice")
    assert routed.request("GET", f"{BASE}/maybe").json == {
        "anonymous": "M_MISSING_TOKEN"
    }
    resp = routed.request("GET", f"{BASE}/maybe", token=alice.token)
    assert resp.json == {"user_id": alice.user_id}


def test_bad_registrations_are_refused(server: TestServer) -> None:
    api = facade(server)

    async def handler(request: PluginRequest) -> object:
        return {}

    with pytest.raises(ValueError, match="method"):
        api.register_route("PATCH", "/x", handler)
    with pytest.raises(ValueError, match="must start with"):
        api.register_route("GET", "x", handler)


def test_routes_are_dropped_when_the_plugin_closes(routed: TestServer) -> None:
    assert routed.request("GET", f"{BASE}/hello/x").code == 200
    routed.hs.plugin_apis["demo"].close()
    assert routed.request("GET", f"{BASE}/hello/x").code == 404
