"""Application services' published room directories (AS API v1.19,
"Published room directories") and /publicRooms over them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.appservices.client_kit import AS_TOKEN, as_server
from tests.support.server import TestServer

V3 = "/_matrix/client/v3"


def list_path(network: str, room_id: str) -> str:
    return f"{V3}/directory/list/appservice/{network}/{room_id}"


def room_ids(resp: object) -> set[str]:
    assert resp.code == 200, resp.json  # type: ignore[attr-defined]
    return {r["room_id"] for r in resp.json["chunk"]}  # type: ignore[attr-defined]


def test_appservice_room_list(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = as_server(make_server, tmp_path)
    alice = server.user("alice")
    public = server.request(
        "POST", f"{V3}/createRoom", {"visibility": "public"}, token=alice.token
    ).json["room_id"]
    bridged = server.request(
        "POST",
        f"{V3}/createRoom",
        {"name": "#chan on irc", "preset": "public_chat"},
        token=alice.token,
    ).json["room_id"]
    put = server.request(
        "PUT", list_path("freenode", bridged), {"visibility": "public"}, token=AS_TOKEN
    )
    assert (put.code, put.json) == (200, {})
    # Normal users may not edit the list.
    refused = server.request(
        "PUT",
        list_path("freenode", public),
        {"visibility": "public"},
        token=alice.token,
    )
    assert (refused.code, refused.json["errcode"]) == (403, "M_FORBIDDEN")
    unknown = server.request(
        "PUT",
        list_path("freenode", "!nope:test"),
        {"visibility": "public"},
        token=AS_TOKEN,
    )
    assert unknown.code == 404
    bad = server.request(
        "PUT", list_path("freenode", bridged), {"visibility": "secret"}, token=AS_TOKEN
    )
    assert bad.code == 400

    rooms = f"{V3}/publicRooms"
    assert room_ids(server.request("GET", rooms, token=alice.token)) == {public}
    network = {"third_party_instance_id": "irc|freenode"}
    assert room_ids(server.request("POST", rooms, network, token=alice.token)) == {
        bridged
    }
    entry = server.request("POST", rooms, network, token=alice.token).json["chunk"][0]
    assert entry["name"] == "#chan on irc" and entry["num_joined_members"] == 1
    assert room_ids(
        server.request(
            "GET", f"{rooms}?third_party_instance_id=irc%7Cfreenode", token=alice.token
        )
    ) == {bridged}
    other = {"third_party_instance_id": "irc|efnet"}
    assert room_ids(server.request("POST", rooms, other, token=alice.token)) == set()
    everything = {"include_all_networks": True}
    assert room_ids(server.request("POST", rooms, everything, token=alice.token)) == {
        public,
        bridged,
    }
    both = server.request("POST", rooms, {**everything, **network}, token=alice.token)
    assert (both.code, both.json["errcode"]) == (400, "M_INVALID_PARAM")
    # Private takes it off the list again.
    server.request(
        "PUT",
        list_path("freenode", bridged),
        {"visibility": "private"},
        token=AS_TOKEN,
    )
    assert room_ids(server.request("POST", rooms, network, token=alice.token)) == set()
