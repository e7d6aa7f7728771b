"""POST /search: full text, ordering, keys, filters, visibility, redaction."""

from __future__ import annotations

import base64

import pytest

from tests.reading.helpers import say
from tests.search.helpers import indexed, result_bodies, room_events, search
from tests.support import Room
from tests.support.server import TestServer


@pytest.fixture
def room(server: TestServer) -> Room:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(
        preset="public_chat", name="Gardening club", topic="Tomatoes and roses"
    )
    bob.join(room_id)
    ids = [
        say(alice, room_id, "the quick brown fox"),
        say(bob, room_id, "a lazy dog sleeps"),
        say(alice, room_id, "foxes are quick, quick, quick"),
        say(bob, room_id, "hello world"),
    ]
    return Room(room_id, alice, bob, events=ids)


def test_finds_messages_by_word_and_prefix(server: TestServer, room: Room) -> None:
    resp = search(room.bob, "quick")
    body = room_events(resp)
    assert sorted(result_bodies(resp)) == [
        "foxes are quick, quick, quick",
        "the quick brown fox",
    ]
    assert body["count"] == 2
    assert "quick" in body["highlights"]
    assert all(isinstance(r["rank"], float) for r in body["results"])
    # A word's start finds it; stemming finds other forms.
    assert result_bodies(search(room.bob, "hel")) == ["hello world"]
    assert result_bodies(search(room.bob, "sleeping")) == ["a lazy dog sleeps"]
    # Every word must match; "or" matches either.
    assert result_bodies(search(room.bob, "quick brown")) == ["the quick brown fox"]
    assert sorted(result_bodies(search(room.bob, "lazy or hello"))) == [
        "a lazy dog sleeps",
        "hello world",
    ]
    assert result_bodies(search(room.bob, "quick -brown")) == [
        "foxes are quick, quick, quick"
    ]
    assert result_bodies(search(room.bob, '"brown fox"')) == ["the quick brown fox"]
    assert result_bodies(search(room.bob, '"fox brown"')) == []
    # Nothing to look for, or punctuation only: no results, no error.
    for term in ("", "!!! ???", '"', "-quick"):
        assert room_events(search(room.bob, term)) == {
            "results": [],
            "count": 0,
            "highlights": [],
        }


def test_order_by_rank_and_recent(server: TestServer, room: Room) -> None:
    ranked = result_bodies(search(room.alice, "quick fox", order_by="rank"))
    assert ranked[0] == "foxes are quick, quick, quick"
    recent = search(room.alice, "quick", order_by="recent")
    assert result_bodies(recent) == [
        "foxes are quick, quick, quick",
        "the quick brown fox",
    ]
    # r0 serves it too.
    assert result_bodies(search(room.alice, "hello", version="r0")) == ["hello world"]


def test_keys_name_and_topic(server: TestServer, room: Room) -> None:
    names = room_events(search(room.bob, "gardening"))["results"]
    assert [r["result"]["type"] for r in names] == ["m.room.name"]
    topics = room_events(search(room.bob, "tomatoes", keys=["content.topic"]))
    assert [r["result"]["type"] for r in topics["results"]] == ["m.room.topic"]
    assert (
        room_events(search(room.bob, "gardening", keys=["content.body"]))["results"]
        == []
    )


def test_filter(server: TestServer, room: Room) -> None:
    by_bob = search(
        room.alice, "quick or lazy or hello", filter={"senders": [room.bob.user_id]}
    )
    assert sorted(result_bodies(by_bob)) == ["a lazy dog sleeps", "hello world"]
    not_bob = search(
        room.alice, "quick or lazy", filter={"not_senders": [room.bob.user_id]}
    )
    assert len(result_bodies(not_bob)) == 2
    limited = search(room.alice, "quick", filter={"limit": 1})
    assert len(room_events(limited)["results"]) == 1
    other = room.alice.create_room(name="Other")
    say(room.alice, other, "quick in another room")
    only_other = search(room.alice, "quick", filter={"rooms": [other]})
    assert result_bodies(only_other) == ["quick in another room"]
    not_other = search(room.alice, "quick", filter={"not_rooms": [other]})
    assert len(result_bodies(not_other)) == 2
    types = search(room.alice, "gardening or quick", filter={"types": ["m.room.name"]})
    assert [r["result"]["type"] for r in room_events(types)["results"]] == [
        "m.room.name"
    ]


def test_only_rooms_the_user_is_or_was_in(server: TestServer, room: Room) -> None:
    carol = server.user("carol")
    # A public room carol never joined is not searched.
    assert room_events(search(carol, "quick"))["results"] == []
    carol.join(room.id)
    # Joined later: shared history is visible.
    assert len(result_bodies(search(carol, "quick"))) == 2
    carol.leave(room.id)
    say(room.alice, room.id, "quick message after carol left")
    after = result_bodies(search(carol, "quick"))
    assert "quick message after carol left" not in after
    assert len(after) == 2
    carol.post(f"/rooms/{room.id}/forget", {}, expect=200)
    assert result_bodies(search(carol, "quick")) == []


def test_history_visibility_joined(server: TestServer) -> None:
    alice = server.user("alice")
    dave = server.user("dave")
    room_id = alice.create_room(preset="public_chat")
    alice.put_state(
        room_id, "m.room.history_visibility", {"history_visibility": "joined"}
    )
    say(alice, room_id, "secret before dave")
    dave.join(room_id)
    say(alice, room_id, "secret after dave")
    assert result_bodies(search(dave, "secret")) == ["secret after dave"]
    assert len(result_bodies(search(alice, "secret"))) == 2


def test_redacted_events_drop_out(server: TestServer, room: Room) -> None:
    target = room.events[3]
    assert indexed(server, target)
    room.bob.put(f"/rooms/{room.id}/redact/{target}/txn1", {}, expect=200)
    for user in (room.alice, room.bob):
        body = room_events(search(user, "hello"))
        assert body["results"] == [] and body["count"] == 0
    assert not indexed(server, target)


def test_encrypted_events_are_not_indexed(server: TestServer, room: Room) -> None:
    resp = room.alice.send_event(
        room.id,
        {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "quick", "body": "quick"},
        "m.room.encrypted",
        expect=200,
    )
    assert not indexed(server, resp.json["event_id"])
    assert len(result_bodies(search(room.alice, "quick"))) == 2


def test_bad_requests(server: TestServer, room: Room) -> None:
    user = room.alice
    path = "/search"
    resp = user.post(path, {"search_categories": {"rooms": {}}}, expect=400)
    assert resp.json["errcode"] == "M_UNKNOWN"
    resp = user.post(path, {}, expect=400)
    assert resp.json["errcode"] == "M_MISSING_PARAM"
    resp = search(user, "x", expect=400, order_by="oldest")
    assert resp.json["errcode"] == "M_INVALID_PARAM"
    resp = search(user, "x", expect=400, keys=["content.sender"])
    assert resp.json["errcode"] == "M_INVALID_PARAM"
    resp = search(user, "x", expect=400, filter={"limit": "ten"})
    assert resp.json["errcode"] == "M_BAD_JSON"
    resp = search(user, "x", expect=400, groupings={"group_by": [{"key": "type"}]})
    assert resp.json["errcode"] == "M_INVALID_PARAM"
    resp = user.post(
        path, {"search_categories": {"room_events": {"search_term": 5}}}, expect=400
    )
    assert resp.json["errcode"] == "M_BAD_JSON"
    negative_offset = base64.urlsafe_b64encode(b'["rank", -5, 0, null]').decode()
    for token in ("nonsense", "e30", "WyJyYW5rIiwgIngiLCBudWxsXQ", negative_offset):
        resp = search(user, "quick", expect=400, next_batch=token)
        assert resp.json["errcode"] == "M_INVALID_PARAM"
    assert (
        server.request(
            "POST", "/_matrix/client/v3/search", {"search_categories": {}}
        ).code
        == 401
    )


def test_search_disabled(make_server) -> None:  # type: ignore[no-untyped-def]
    server = make_server({"server": {"enable_search": False}})
    alice = server.user("alice")
    room_id = alice.create_room()
    event_id = say(alice, room_id, "quick")
    resp = search(alice, "quick", expect=400)
    assert resp.json == {
        "errcode": "M_UNKNOWN",
        "error": "Search is disabled on this homeserver",
    }
    # Nothing is indexed meanwhile, as in Synapse.
    assert not indexed(server, event_id)


def test_filter_rooms_covers_predecessors(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    old = alice.create_room(preset="public_chat")
    say(alice, old, "ancient words")
    new = alice.post(f"/rooms/{old}/upgrade", {"new_version": "10"}, expect=200).json[
        "replacement_room"
    ]
    say(alice, new, "modern words")
    found = search(alice, "words", order_by="recent", filter={"rooms": [new]})
    assert result_bodies(found) == ["modern words", "ancient words"]
    # Only among the rooms the user may search: bob was never in the old one.
    bob.join(new)
    assert result_bodies(search(bob, "words", filter={"rooms": [new]})) == [
        "modern words"
    ]
    # not_rooms still wins.
    excluded = search(alice, "words", filter={"rooms": [new], "not_rooms": [old]})
    assert result_bodies(excluded) == ["modern words"]


def test_terms_with_punctuation(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    say(alice, room_id, "python 3.14 needs an e-mail address")
    say(alice, room_id, "the mail is 3 days late, 14 left")
    assert result_bodies(search(alice, "3.14")) == [
        "python 3.14 needs an e-mail address"
    ]
    assert result_bodies(search(alice, "e-mail")) == [
        "python 3.14 needs an e-mail address"
    ]
    # Odd input is never an error.
    for term in ("_", "a:b", "*", "'", "\\", "&|!", "NEAR", "AND", "or or", '"x'):
        search(alice, term)
