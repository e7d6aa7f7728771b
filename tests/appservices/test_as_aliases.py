"""Alias namespaces: an application service manages the aliases of its
namespace; nobody else creates aliases in an exclusive one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from tests.appservices.client_kit import AS_TOKEN, as_server, registration
from tests.support.server import TestServer


def alias_path(alias: str) -> str:
    return f"/_matrix/client/v3/directory/room/{quote(alias)}"


def test_exclusive_alias_namespace(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    bob = server.user("bob")
    room = server.request(
        "POST",
        "/_matrix/client/v3/createRoom",
        {"preset": "public_chat"},
        token=bob.token,
    ).json["room_id"]
    taken = server.request(
        "PUT", alias_path("#irc_chan:test"), {"room_id": room}, token=bob.token
    )
    assert (taken.code, taken.json["errcode"]) == (400, "M_EXCLUSIVE")
    via_create = server.request(
        "POST",
        "/_matrix/client/v3/createRoom",
        {"room_alias_name": "irc_other"},
        token=bob.token,
    )
    assert via_create.json["errcode"] == "M_EXCLUSIVE"
    ok = server.request(
        "PUT", alias_path("#bobs:test"), {"room_id": room}, token=bob.token
    )
    assert ok.code == 200
    # The AS (not in the room) manages its namespace, only its namespace.
    mine = server.request(
        "PUT", alias_path("#irc_chan:test"), {"room_id": room}, token=AS_TOKEN
    )
    assert mine.code == 200, mine.json
    outside = server.request(
        "PUT", alias_path("#other:test"), {"room_id": room}, token=AS_TOKEN
    )
    assert outside.json["errcode"] == "M_EXCLUSIVE"
    not_bobs = server.request("DELETE", alias_path("#irc_chan:test"), token=bob.token)
    assert not_bobs.json["errcode"] == "M_EXCLUSIVE"
    gone = server.request("DELETE", alias_path("#irc_chan:test"), token=AS_TOKEN)
    assert gone.code == 200
    assert server.request("GET", alias_path("#irc_chan:test")).code == 404


def test_non_exclusive_alias_namespace_is_shared(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path, registration(exclusive=False))
    bob = server.user("bob")
    room = server.request(
        "POST", "/_matrix/client/v3/createRoom", {}, token=bob.token
    ).json["room_id"]
    resp = server.request(
        "PUT", alias_path("#irc_chan:test"), {"room_id": room}, token=bob.token
    )
    assert resp.code == 200
