"""Federation queries between two in-process servers: profiles, aliases and
the published room directory, asked by clients of one server and answered by
the other."""

from __future__ import annotations

from tests.federation.pair import FederationPair, q
from tests.support import CLIENT

FED = "/_matrix/federation/v1"


def test_remote_profile(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    _, alice_token = a.register("alice")
    bob, bob_token = b.register("bob")
    resp = b.request(
        "PUT",
        f"{CLIENT}/profile/{q(bob)}/displayname",
        {"displayname": "Bob B."},
        token=bob_token,
    )
    assert resp.code == 200, resp.json

    resp = a.request("GET", f"{CLIENT}/profile/{q(bob)}", token=alice_token)
    assert resp.code == 200, resp.json
    assert resp.json["displayname"] == "Bob B."
    resp = a.request("GET", f"{CLIENT}/profile/{q(bob)}/displayname")
    assert (resp.code, resp.json) == (200, {"displayname": "Bob B."})
    # Unset: 200 {} through both servers, as Synapse answers.
    resp = a.request("GET", f"{CLIENT}/profile/{q(bob)}/avatar_url")
    assert (resp.code, resp.json) == (200, {})
    resp = a.request("GET", f"{CLIENT}/profile/{q('@ghost:b.test')}")
    assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND")
    pair.set_reachable("b.test", False)
    resp = a.request("GET", f"{CLIENT}/profile/{q(bob)}")
    assert resp.code == 502, resp.json


def test_profile_query_served(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    bob, _ = b.register("bob")
    resp = pair.signed_request(a, b, "GET", f"{FED}/query/profile?user_id={q(bob)}")
    assert (resp.code, resp.json) == (200, {"displayname": "bob"})
    resp = pair.signed_request(
        a, b, "GET", f"{FED}/query/profile?user_id={q(bob)}&field=displayname"
    )
    assert (resp.code, resp.json) == (200, {"displayname": "bob"})
    resp = pair.signed_request(
        a, b, "GET", f"{FED}/query/profile?user_id={q(bob)}&field=avatar_url"
    )
    assert (resp.code, resp.json) == (200, {})
    resp = pair.signed_request(
        a, b, "GET", f"{FED}/query/profile?user_id={q(bob)}&field=nope"
    )
    assert resp.code == 400
    resp = pair.signed_request(
        a, b, "GET", f"{FED}/query/profile?user_id={q('@x:a.test')}"
    )
    assert resp.code == 400
    resp = pair.signed_request(a, b, "GET", f"{FED}/query/profile")
    assert (resp.code, resp.json["errcode"]) == (400, "M_MISSING_PARAM")
    assert b.request("GET", f"{FED}/query/profile?user_id={q(bob)}").code == 401


def test_directory_query(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    bob = b.user("bob")
    room_id = bob.create_room(room_alias_name="den")
    resp = pair.signed_request(
        a, b, "GET", f"{FED}/query/directory?room_alias={q('#den:b.test')}"
    )
    assert (resp.code, resp.json) == (200, {"room_id": room_id, "servers": ["b.test"]})
    resp = pair.signed_request(
        a, b, "GET", f"{FED}/query/directory?room_alias={q('#none:b.test')}"
    )
    assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND")
    resp = a.request("GET", f"{CLIENT}/directory/room/{q('#den:b.test')}")
    assert (resp.code, resp.json["room_id"]) == (200, room_id)


def test_public_rooms_both_ways(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    rooms = [
        bob.create_room(preset="public_chat", visibility="public", name=n)
        for n in ("Apples", "Bananas", "Cherries")
    ]
    bob.create_room(preset="private_chat", name="Hidden")

    # Served: GET with paging, POST with a search.
    resp = pair.signed_request(a, b, "GET", f"{FED}/publicRooms?limit=2")
    assert resp.code == 200, resp.json
    assert len(resp.json["chunk"]) == 2
    assert resp.json["total_room_count_estimate"] == 3
    rest = pair.signed_request(
        a, b, "GET", f"{FED}/publicRooms?since={q(resp.json['next_batch'])}"
    )
    seen = {r["room_id"] for r in resp.json["chunk"] + rest.json["chunk"]}
    assert seen == set(rooms)
    found = pair.signed_request(
        a, b, "POST", f"{FED}/publicRooms", {"filter": {"generic_search_term": "nan"}}
    )
    assert found.code == 200, found.json
    assert [r["name"] for r in found.json["chunk"]] == ["Bananas"]
    assert b.request("GET", f"{FED}/publicRooms").code == 401

    # Asked for by a client of A.
    resp = alice.get(f"{CLIENT}/publicRooms?server=b.test&limit=10")
    assert resp.code == 200, resp.json
    assert {r["room_id"] for r in resp.json["chunk"]} == set(rooms)
    resp = alice.post(
        f"{CLIENT}/publicRooms?server=b.test",
        {"filter": {"generic_search_term": "cherr"}},
    )
    assert resp.code == 200, resp.json
    assert [r["name"] for r in resp.json["chunk"]] == ["Cherries"]
    pair.set_reachable("b.test", False)
    resp = alice.get(f"{CLIENT}/publicRooms?server=b.test")
    assert (resp.code, resp.json["errcode"]) == (502, "M_UNKNOWN")
