"""``POST /_matrix/client/v1/appservice/{appserviceId}/ping`` (client-server
API v1.19, "Application service ping")."""

from __future__ import annotations

from collections.abc import Callable

from tests.appservices.fake_as import AppServiceListener, FakeAppService
from tests.appservices.kit import AsHarness
from tests.support.server import TestServer

PING = "/_matrix/client/v1/appservice/bridge/ping"


def test_ping_reaches_the_as(make_server: Callable[..., TestServer]) -> None:
    h = AsHarness(make_server)
    answer = h.request("POST", PING, {"transaction_id": "abc"}, token="as-secret")
    assert answer.code == 200, answer.body
    assert isinstance(answer.json["duration_ms"], int)
    assert h.listener.connections >= 1
    ping = h.fake.received[-1]
    assert (ping.method, ping.path) == ("POST", "/_matrix/app/v1/ping")
    assert ping.body == {"transaction_id": "abc"}
    assert ping.authorization == "Bearer hs-secret"
    # Without a body too.
    assert h.request("POST", PING, None, token="as-secret").code == 200
    h.close()


def test_only_the_as_itself_may_ping(make_server: Callable[..., TestServer]) -> None:
    h = AsHarness(make_server)
    user = h.server.user("alice")
    assert h.request("POST", PING, {}).json["errcode"] == "M_MISSING_TOKEN"
    refused = h.request("POST", PING, {}, token=user.token)
    assert (refused.code, refused.json["errcode"]) == (403, "M_FORBIDDEN")
    unknown = h.request("POST", PING, {}, token="no-such-token")
    assert (unknown.code, unknown.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    other = h.request(
        "POST", "/_matrix/client/v1/appservice/other/ping", {}, token="as-secret"
    )
    assert (other.code, other.json["errcode"]) == (403, "M_FORBIDDEN")
    bad = h.request("POST", PING, {"transaction_id": 5}, token="as-secret")
    assert (bad.code, bad.json["errcode"]) == (400, "M_INVALID_PARAM")
    assert h.fake.received == []
    h.close()


def test_ping_of_an_as_that_is_down_or_failing(
    make_server: Callable[..., TestServer],
) -> None:
    h = AsHarness(make_server)
    h.fake.status = 500
    bad = h.request("POST", PING, {}, token="as-secret")
    assert (bad.code, bad.json["errcode"]) == (502, "M_BAD_STATUS")
    assert bad.json["status"] == 500
    assert '"M_UNKNOWN"' in bad.json["body"]
    h.listener.stop()
    down = h.request("POST", PING, {}, token="as-secret")
    assert (down.code, down.json["errcode"]) == (502, "M_CONNECTION_FAILED")
    h.close()


def test_ping_of_an_as_that_does_not_answer(
    make_server: Callable[..., TestServer],
) -> None:
    h = AsHarness(make_server, {"appservice": {"request_timeout": "1s"}})
    h.fake.hang_pings = True
    slow = h.request("POST", PING, {}, token="as-secret")
    assert (slow.code, slow.json["errcode"]) == (504, "M_CONNECTION_TIMEOUT")
    h.close()


def test_ping_of_an_as_without_url(make_server: Callable[..., TestServer]) -> None:
    h = AsHarness(make_server, url=None)
    answer = h.request("POST", PING, {}, token="as-secret")
    assert (answer.code, answer.json["errcode"]) == (400, "M_URL_NOT_SET")
    h.close()


def test_an_as_at_a_denied_address_is_never_connected_to(
    make_server: Callable[..., TestServer],
) -> None:
    """With loopback taken off appservice.ip_range_whitelist, the fake AS on
    127.0.0.1 is denied: neither transactions nor pings reach it."""
    h = AsHarness(
        make_server,
        {"appservice": {"ip_range_whitelist": []}},
        users=(r"@irc_.*:test",),
    )
    alice = h.server.user("alice")
    irc = h.server.user("irc_erin")
    room = alice.create_room()
    alice.invite(room, irc.user_id)
    outbound = h.server.hs.appservice_outbound
    h.pump(
        lambda: (
            h.server.get_success(outbound.admin.get_queue("bridge"))["failure_ts"]
            is not None
        )
    )
    answer = h.request("POST", PING, {}, token="as-secret")
    assert (answer.code, answer.json["errcode"]) == (502, "M_CONNECTION_FAILED")
    assert h.fake.received == []
    assert h.listener.connections == 0
    h.close()


def test_redirects_of_an_as_are_not_followed(
    make_server: Callable[..., TestServer],
) -> None:
    h = AsHarness(make_server)
    elsewhere = AppServiceListener(h.reactor, FakeAppService())
    h.fake.redirect_pings_to = f"{elsewhere.url}/_matrix/app/v1/ping"
    answer = h.request("POST", PING, {}, token="as-secret")
    assert (answer.code, answer.json["errcode"]) == (502, "M_BAD_STATUS")
    assert answer.json["status"] == 302
    assert elsewhere.connections == 0
    elsewhere.stop()
    h.close()
