"""/messages backfills history from before our join from another server."""

from __future__ import annotations

from tests.federation.joined_pair import join_from, send_message
from tests.federation.pair import FederationPair


def test_messages_backfills_history_from_before_the_join(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    room_id = alice.create_room(preset="public_chat", name="history")
    early = [send_message(alice, room_id, f"early {i}") for i in range(5)]
    bob, join = join_from(pair, a, b, room_id, "bob")
    sync = bob.get("/_matrix/client/v3/sync")
    since = sync.json["next_batch"]
    position = b.hs.core.persister.stream_ids.current_position()

    resp = bob.get(f"/_matrix/client/v3/rooms/{room_id}/messages?dir=b&limit=20")
    assert resp.code == 200, resp.json
    ids = [e["event_id"] for e in resp.json["chunk"]]
    assert ids[0] == join.event_id
    assert ids[1:6] == list(reversed(early))
    types = [e["type"] for e in resp.json["chunk"]]
    assert types[-1] == "m.room.create"
    assert [e["content"].get("body") for e in resp.json["chunk"][1:3]] == [
        "early 4",
        "early 3",
    ]
    # Historic events are not new: the stream did not move, /sync is quiet.
    assert b.hs.core.persister.stream_ids.current_position() == position
    stored = b.get_success(b.hs.core.events.get_event(early[0]))
    assert stored.stream_ordering < 0 and not stored.outlier
    again = bob.get(f"/_matrix/client/v3/sync?since={since}&timeout=0")
    assert again.code == 200
    assert room_id not in again.json.get("rooms", {}).get("join", {})
    # The gap is gone: nothing is left to backfill.
    store = b.hs.federation.ingest.store
    assert b.get_success(store.get_backward_extremities(room_id)) == []


def test_messages_pages_through_backfilled_history(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    room_id = alice.create_room(preset="public_chat")
    early = [send_message(alice, room_id, f"m{i}") for i in range(12)]
    bob, _ = join_from(pair, a, b, room_id, "bob")
    seen: list[str] = []
    token = None
    for _ in range(10):
        query = "dir=b&limit=4" + (f"&from={token}" if token else "")
        resp = bob.get(f"/_matrix/client/v3/rooms/{room_id}/messages?{query}")
        assert resp.code == 200, resp.json
        seen += [e["event_id"] for e in resp.json["chunk"]]
        token = resp.json.get("end")
        if token is None:
            break
    messages = [eid for eid in seen if eid in early]
    assert messages == list(reversed(early))
