"""Asking an application service about users and aliases of its namespaces
we do not know (application-service API v1.19, "Querying")."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from tests.appservices.kit import AsHarness
from tests.support.server import TestServer

V3 = "/_matrix/client/v3"


def _queries(h: AsHarness) -> list[str]:
    return [
        r.path
        for r in h.fake.received
        if r.path.startswith(("/_matrix/app/v1/users/", "/_matrix/app/v1/rooms/"))
    ]


def test_unknown_user_of_the_namespace_is_asked_for(
    make_server: Callable[..., TestServer],
) -> None:
    h = AsHarness(make_server, users=(r"@irc_.*:test",))
    server = h.server
    alice = server.user("alice")

    def create(kind: str, user_id: str) -> None:
        if user_id == "@irc_new:test":
            server.get_success(
                server.hs.accounts.accounts.register("irc_new", "pw-12345678")
            )
            h.fake.users.add(user_id)

    h.fake.on_query = create
    found = h.request("GET", f"{V3}/profile/@irc_new:test", token=alice.token)
    assert found.code == 200, found.body
    assert _queries(h) == ["/_matrix/app/v1/users/%40irc_new%3Atest"]
    assert h.fake.received[-1].authorization == "Bearer hs-secret"
    # Known now: not asked again.
    assert (
        h.request("GET", f"{V3}/profile/@irc_new:test", token=alice.token).code == 200
    )
    assert len(_queries(h)) == 1

    missing = h.request("GET", f"{V3}/profile/@irc_ghost:test", token=alice.token)
    assert (missing.code, missing.json["errcode"]) == (404, "M_NOT_FOUND")
    outside = h.request("GET", f"{V3}/profile/@nobody:test", token=alice.token)
    assert outside.code == 404
    assert len(_queries(h)) == 2  # the ghost was asked for, nobody was not

    room = alice.create_room()
    invite = h.request(
        "POST",
        f"{V3}/rooms/{room}/invite",
        {"user_id": "@irc_inv:test"},
        token=alice.token,
    )
    assert invite.code == 200
    assert _queries(h)[-1] == "/_matrix/app/v1/users/%40irc_inv%3Atest"
    h.close()


def test_users_of_a_shared_namespace_are_not_asked_for(
    make_server: Callable[..., TestServer],
) -> None:
    h = AsHarness(make_server, users=(r"@irc_.*:test",), exclusive=False)
    alice = h.server.user("alice")
    assert h.request("GET", f"{V3}/profile/@irc_x:test", token=alice.token).code == 404
    assert _queries(h) == []
    h.close()


def test_unknown_alias_of_the_namespace_is_asked_for(
    make_server: Callable[..., TestServer],
) -> None:
    h = AsHarness(make_server, aliases=(r"#irc_.*:test",))
    server = h.server
    bot = server.user("bridgebot")
    alice = server.user("alice")

    def create(kind: str, alias: str) -> None:
        if alias == "#irc_chan:test":
            room = bot.create_room(preset="public_chat")
            # The alias namespace is the AS's (exclusive): it sets the alias.
            made = server.request(
                "PUT",
                f"{V3}/directory/room/{quote(alias)}",
                {"room_id": room},
                token=h.registration.as_token,
            )
            assert made.code == 200, made.json
            h.fake.aliases.add(alias)

    h.fake.on_query = create
    path = f"{V3}/directory/room/{quote('#irc_chan:test')}"
    found = h.request("GET", path, token=alice.token)
    assert found.code == 200, found.body
    assert found.json["room_id"].startswith("!")
    assert _queries(h) == ["/_matrix/app/v1/rooms/%23irc_chan%3Atest"]
    # Joining by an unknown alias asks too.
    joined = h.request(
        "POST", f"{V3}/join/{quote('#irc_chan:test')}", {}, token=alice.token
    )
    assert joined.code == 200
    missing = h.request(
        "GET", f"{V3}/directory/room/{quote('#irc_none:test')}", token=alice.token
    )
    assert (missing.code, missing.json["errcode"]) == (404, "M_NOT_FOUND")
    outside = h.request(
        "GET", f"{V3}/directory/room/{quote('#other:test')}", token=alice.token
    )
    assert outside.code == 404
    assert _queries(h) == [
        "/_matrix/app/v1/rooms/%23irc_chan%3Atest",
        "/_matrix/app/v1/rooms/%23irc_none%3Atest",
    ]
    h.close()
