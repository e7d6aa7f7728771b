"""The spam and content filter (plugins/contentfilter), end to end: real
users send through the client API of a server that loads it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.plugins_shipped.conftest import plugin_overrides
from tests.support import User, bodies
from tests.support.server import TestServer

POLICY = "chatly.content_filter"
SETTINGS = {
    "words": ["spam", "cheap pills"],
    "patterns": [r"buy\s+now"],
    "max_links": 1,
}


def _filter_server(
    make_server: Callable[..., TestServer], **settings: Any
) -> TestServer:
    return make_server(
        plugin_overrides("contentfilter", "ContentFilter", {**SETTINGS, **settings})
    )


@pytest.fixture
def filter_server(make_server: Callable[..., TestServer]) -> TestServer:
    return _filter_server(make_server)


def _refused(user: User, room: str, text: str, code: int = 403) -> dict[str, Any]:
    resp = user.send_event(room, {"msgtype": "m.text", "body": text})
    assert resp.code == code, (text, resp.json)
    return dict(resp.json)


def test_clean_messages_pass(filter_server: TestServer) -> None:
    alice = filter_server.user("alice")
    room = alice.create_room()
    alice.send(room, "spammy and spamming are not the word itself")
    alice.send(room, "see https://example.org/a")
    assert "see https://example.org/a" in bodies(alice.timeline(room))


def test_words_patterns_and_links_are_refused_with_the_reason(
    filter_server: TestServer,
) -> None:
    alice = filter_server.user("alice")
    room = alice.create_room()
    assert _refused(alice, room, "total SPAM here") == {
        "errcode": "M_FORBIDDEN",
        "error": "Message contains a blocked word: 'SPAM'",
    }
    assert (
        "blocked word: 'cheap pills'" in _refused(alice, room, "cheap pills!")["error"]
    )
    refusal = _refused(alice, room, "Buy   now, friends")
    assert refusal["errcode"] == "M_FORBIDDEN"
    assert "blocked pattern" in refusal["error"]
    links = _refused(alice, room, "https://a.example www.b.example")
    assert links["error"] == "Message has 2 links; at most 1 allowed here"
    # In HTML too, and in state events' text.
    html = {
        "msgtype": "m.text",
        "body": "ok",
        "format": "org.matrix.custom.html",
        "formatted_body": "<b>spam</b>",
    }
    assert alice.send_event(room, html).code == 403
    assert alice.put_state(room, "m.room.topic", {"topic": "spam topic"}).code == 403
    timeline = bodies(alice.timeline(room))
    assert not any("spam" in body.lower() for body in timeline if body != "ok")


def test_rate_limit_per_user_per_room(make_server: Callable[..., TestServer]) -> None:
    server = _filter_server(make_server, rate_limit={"messages": 3, "per_seconds": 10})
    alice = server.user("alice")
    bob = server.user("bob")
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    for n in range(3):
        alice.send(room, f"message {n}")
    refusal = _refused(alice, room, "one too many", code=429)
    assert refusal["errcode"] == "M_LIMIT_EXCEEDED"
    assert "at most 3 per 10 seconds" in refusal["error"]
    # Others, and other rooms, are not affected.
    bob.send(room, "bob is fine")
    alice.send(alice.create_room(), "elsewhere is fine")
    server.advance(10)
    alice.send(room, "later is fine")


def test_room_policy_extends_and_overrides_the_server_lists(
    filter_server: TestServer,
) -> None:
    alice = filter_server.user("alice")
    room = alice.create_room()
    other = alice.create_room()
    alice.put_state(room, POLICY, {"words": ["pineapple"], "max_links": 0}, expect=200)
    assert "pineapple" in _refused(alice, room, "pineapple pizza")["error"]
    assert "spam" in _refused(alice, room, "spam")["error"]  # still the server's
    assert _refused(alice, room, "https://x.example")["error"].endswith(
        "at most 0 allowed here"
    )
    alice.send(other, "pineapple pizza and https://x.example")

    # replace_lists: the room's words instead of the server's.
    alice.put_state(
        room, POLICY, {"words": ["pineapple"], "replace_lists": True}, expect=200
    )
    alice.send(room, "spam is allowed in here")
    _refused(alice, room, "pineapple")
    # enabled false: no filtering at all in this room.
    alice.put_state(room, POLICY, {"enabled": False}, expect=200)
    alice.send(room, "pineapple spam https://a.example https://b.example")
    # Removing the policy (empty content) brings back the server's rules.
    alice.put_state(room, POLICY, {}, expect=200)
    _refused(alice, room, "spam")
    alice.send(room, "pineapple")


def test_room_policy_needs_the_power_level_and_valid_content(
    filter_server: TestServer,
) -> None:
    alice = filter_server.user("alice")
    bob = filter_server.user("bob")
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    # Room state: bob (power level 0) may not set it.
    resp = bob.put_state(room, POLICY, {"enabled": False})
    assert resp.code == 403 and resp.json["errcode"] == "M_FORBIDDEN"
    _refused(bob, room, "spam")
    for content, error in [
        ({"words": "pineapple"}, "words must be a list"),
        ({"max_links": -1}, "max_links must be"),
        ({"rate_limit": {"messages": "many"}}, "rate_limit.messages"),
        ({"patterns": ["x+"]}, "patterns are not allowed"),
    ]:
        resp = alice.put_state(room, POLICY, content)
        assert resp.code == 400, content
        assert resp.json["errcode"] == "M_BAD_JSON"
        assert error in resp.json["error"]


def test_room_patterns_when_the_server_allows_them(
    make_server: Callable[..., TestServer],
) -> None:
    server = _filter_server(make_server, room_patterns=True)
    alice = server.user("alice")
    room = alice.create_room()
    resp = alice.put_state(room, POLICY, {"patterns": ["(unclosed"]})
    assert resp.code == 400 and "is not a regex" in resp.json["error"]
    alice.put_state(room, POLICY, {"patterns": [r"\bfoo\d+"]}, expect=200)
    _refused(alice, room, "FOO42")
    alice.send(room, "foo")


def test_exempt_users_are_not_filtered(make_server: Callable[..., TestServer]) -> None:
    server = _filter_server(make_server, exempt_users=["@mod:test"])
    mod = server.user("mod")
    room = mod.create_room()
    mod.send(room, "spam spam spam")
