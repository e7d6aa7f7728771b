"""The in-process federation of tests/federation/pair.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from homeserver.federation.errors import HttpResponseError, RequestSendFailed
from tests.federation.pair import Federation, FederationPair

VERSION = "/_matrix/federation/v1/version"


def test_transport_reaches_the_other_server(pair: FederationPair) -> None:
    a = pair.a
    body = a.get_success(a.hs.federation.transport.get_json("b.test", VERSION))
    assert body["server"]["name"] == "Chatly"
    assert ("a.test", "b.test", "GET", VERSION) in pair.requests


def test_error_answers_raise_http_response_error(pair: FederationPair) -> None:
    a = pair.a
    with pytest.raises(HttpResponseError) as caught:
        a.get_success(
            a.hs.federation.transport.get_json("b.test", "/_matrix/federation/v1/nope")
        )
    assert caught.value.code == 404
    assert caught.value.errcode == "M_UNRECOGNIZED"


def test_unknown_and_unreachable_servers(pair: FederationPair) -> None:
    transport = pair.a.hs.federation.transport
    with pytest.raises(RequestSendFailed):
        pair.a.get_success(transport.get_json("c.test", VERSION))
    pair.set_reachable("b.test", False)
    with pytest.raises(RequestSendFailed):
        pair.a.get_success(transport.get_json("b.test", VERSION))
    pair.set_reachable("b.test", True)
    assert pair.a.get_success(transport.get_json("b.test", VERSION))


def test_query_strings_are_sent(
    make_federation: Callable[[], Federation],
) -> None:
    fed = make_federation()
    a = fed.add_server("a.test")
    fed.add_server("b.test")
    body = a.get_success(
        a.hs.federation.transport.get_json(
            "b.test",
            "/_matrix/key/v2/query/a.test",
            {"minimum_valid_until_ts": "5"},
        )
    )
    # b answered as a notary for a: nested, it fetched a's keys from a.
    assert [r["server_name"] for r in body["server_keys"]] == ["a.test"]
    assert ("b.test", "a.test", "GET", "/_matrix/key/v2/server") in fed.requests
    assert (
        "a.test",
        "b.test",
        "GET",
        "/_matrix/key/v2/query/a.test?minimum_valid_until_ts=5",
    ) in fed.requests
