"""The remote event pipeline: joins, accepted, rejected, redacted, soft-failed
and gap-filled events (driven through the service with hand-signed PDUs)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from signedjson.key import generate_signing_key

from homeserver.events.model import EventTypes
from homeserver.federation.ingest.verify import PduDropped
from tests.federation.receiving_helpers import (
    FED,
    join_remote_room,
    receiving,
    use_remote,
)
from tests.federation.remote_room import REMOTE, RemoteRoom, tamper
from tests.support.server import TEST_SIGNING_KEY, TestServer

ALICE = f"@alice:{REMOTE}"
CAROL = f"@carol:{REMOTE}"


@pytest.fixture
def room(server: TestServer) -> RemoteRoom:
    remote_room = RemoteRoom({"test": TEST_SIGNING_KEY})
    use_remote(server, remote_room)
    return remote_room


def _receive(server: TestServer, pdu: dict) -> None:  # type: ignore[type-arg]
    server.get_success(receiving(server).on_receive_pdu(REMOTE, pdu))


def _stored(server: TestServer, event_id: str):  # type: ignore[no-untyped-def]
    return server.get_success(server.hs.core.events.get_event(event_id))


def test_remote_join_makes_the_room_current(
    server: TestServer, room: RemoteRoom
) -> None:
    bob = join_remote_room(server, room)
    hs = server.hs
    join_id = room.extremities[0]
    state = server.get_success(hs.core.room_state.get_current_state_ids(room.room_id))
    assert state[(EventTypes.MEMBER, bob.user_id)] == join_id
    assert state[(EventTypes.MEMBER, ALICE)] == room.state[(EventTypes.MEMBER, ALICE)]
    assert server.get_success(hs.core.events.get_forward_extremities(room.room_id)) == [
        join_id
    ]
    backward = server.get_success(
        hs.federation.ingest.store.get_backward_extremities(room.room_id)
    )
    assert backward == room.events[join_id].prev_event_ids
    create = _stored(server, room.create.event_id)
    assert create.outlier and create.rejected_reason is None
    assert not _stored(server, join_id).outlier
    timeline = bob.timeline(room.room_id)
    assert [e["event_id"] for e in timeline] == [join_id]


def test_valid_remote_message_reaches_sync(
    server: TestServer, room: RemoteRoom
) -> None:
    bob = join_remote_room(server, room)
    message = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "hi"})
    _receive(server, room.pdu(message))
    timeline = bob.timeline(room.room_id)
    assert timeline[-1]["event_id"] == message.event_id
    assert timeline[-1]["content"]["body"] == "hi"
    assert server.get_success(
        server.hs.core.events.get_forward_extremities(room.room_id)
    ) == [message.event_id]


def test_bad_signature_is_dropped(server: TestServer, room: RemoteRoom) -> None:
    join_remote_room(server, room)
    message = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "x"})
    forged = dict(message.pdu)
    forged["signatures"] = {
        REMOTE: {"ed25519:r1": "A" * 86},
    }
    with pytest.raises(PduDropped, match="Signature"):
        _receive(server, forged)
    # Signed with some other key than the remote's.
    room.keys[REMOTE] = generate_signing_key("r1")
    impostor = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "y"})
    with pytest.raises(PduDropped):
        _receive(server, room.pdu(impostor))
    assert _stored(server, message.event_id) is None
    assert _stored(server, impostor.event_id) is None


def test_bad_content_hash_is_redacted(server: TestServer, room: RemoteRoom) -> None:
    bob = join_remote_room(server, room)
    message = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "ok"})
    altered = tamper(message.pdu, content={"msgtype": "m.text", "body": "evil"})
    _receive(server, altered)
    stored = _stored(server, message.event_id)
    assert stored is not None and stored.rejected_reason is None
    assert stored.content == {}
    timeline = bob.timeline(room.room_id)
    assert timeline[-1]["event_id"] == message.event_id
    assert timeline[-1]["content"] == {}


def test_event_failing_auth_is_rejected(server: TestServer, room: RemoteRoom) -> None:
    bob = join_remote_room(server, room)
    # carol never joined: her message fails auth against its auth events.
    intruder = room.send(
        "m.room.message", CAROL, {"msgtype": "m.text", "body": "let me in"}
    )
    _receive(server, room.pdu(intruder))
    stored = _stored(server, intruder.event_id)
    assert stored is not None and stored.rejected_reason is not None
    ids = [e["event_id"] for e in bob.timeline(room.room_id)]
    assert intruder.event_id not in ids
    assert intruder.event_id not in server.get_success(
        server.hs.core.events.get_forward_extremities(room.room_id)
    )


def test_event_allowed_by_its_auth_events_but_not_the_state_is_rejected(
    server: TestServer, room: RemoteRoom
) -> None:
    join_remote_room(server, room)
    carol_join = room.send(EventTypes.MEMBER, CAROL, {"membership": "join"}, CAROL)
    ban = room.send(
        EventTypes.MEMBER,
        ALICE,
        {"membership": "ban"},
        CAROL,
        prevs=[carol_join.event_id],
    )
    _receive(server, room.pdu(carol_join))
    _receive(server, room.pdu(ban))
    # carol's message cites her join as an auth event, but follows her ban.
    message = room.send(
        "m.room.message",
        CAROL,
        {"msgtype": "m.text", "body": "still here"},
        state_before=room.state_after[carol_join.event_id],
    )
    _receive(server, room.pdu(message))
    stored = _stored(server, message.event_id)
    assert stored.rejected_reason is not None


def test_soft_fail_against_current_state(server: TestServer, room: RemoteRoom) -> None:
    bob = join_remote_room(server, room)
    carol_join = room.send(EventTypes.MEMBER, CAROL, {"membership": "join"}, CAROL)
    _receive(server, room.pdu(carol_join))
    # carol sends from her join while alice bans her on another branch.
    ban = room.send(
        EventTypes.MEMBER,
        ALICE,
        {"membership": "ban"},
        CAROL,
        prevs=[carol_join.event_id],
    )
    _receive(server, room.pdu(ban))
    evading = room.send(
        "m.room.message",
        CAROL,
        {"msgtype": "m.text", "body": "evading"},
        prevs=[carol_join.event_id],
    )
    _receive(server, room.pdu(evading))
    stored = _stored(server, evading.event_id)
    assert stored.rejected_reason is None and stored.soft_failed
    ids = [e["event_id"] for e in bob.timeline(room.room_id)]
    assert evading.event_id not in ids and ban.event_id in ids
    hs = server.hs
    assert server.get_success(hs.core.events.get_forward_extremities(room.room_id)) == [
        ban.event_id
    ]
    state = server.get_success(hs.core.room_state.get_current_state_ids(room.room_id))
    assert state[(EventTypes.MEMBER, CAROL)] == ban.event_id


def test_missing_prev_events_are_fetched(server: TestServer, room: RemoteRoom) -> None:
    bob = join_remote_room(server, room)
    first = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "1"})
    second = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "2"})
    third = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "3"})
    _receive(server, room.pdu(third))
    ids = [e["event_id"] for e in bob.timeline(room.room_id)]
    assert ids[-3:] == [first.event_id, second.event_id, third.event_id]


def test_gap_is_filled_from_state_ids(server: TestServer, room: RemoteRoom) -> None:
    remote = use_remote(server, room)
    bob = join_remote_room(server, room)
    topic = room.send(EventTypes.TOPIC, ALICE, {"topic": "hidden"}, "")
    middle = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "m"})
    last = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "end"})
    # The origin will not give us the events in between: state must be used.
    remote.withheld = {topic.event_id, middle.event_id}
    _receive(server, room.pdu(last))
    stored = _stored(server, last.event_id)
    assert stored is not None and not stored.outlier
    assert any(
        path.startswith("/_matrix/federation/v1/state_ids/")
        for _, path in remote.requests
    )
    state = server.get_success(
        server.hs.core.room_state.get_current_state_ids(room.room_id)
    )
    assert state[(EventTypes.TOPIC, "")] == topic.event_id
    ids = [e["event_id"] for e in bob.timeline(room.room_id)]
    assert ids[-1] == last.event_id
    assert middle.event_id not in ids


def test_fork_is_resolved(server: TestServer, room: RemoteRoom) -> None:
    join_remote_room(server, room)
    base = room.extremities[0]
    name = room.send(EventTypes.NAME, ALICE, {"name": "left"}, "", prevs=[base])
    topic = room.send(EventTypes.TOPIC, ALICE, {"topic": "right"}, "", prevs=[base])
    _receive(server, room.pdu(name))
    _receive(server, room.pdu(topic))
    hs = server.hs
    assert set(
        server.get_success(hs.core.events.get_forward_extremities(room.room_id))
    ) == {
        name.event_id,
        topic.event_id,
    }
    state = server.get_success(hs.core.room_state.get_current_state_ids(room.room_id))
    assert state[(EventTypes.NAME, "")] == name.event_id
    assert state[(EventTypes.TOPIC, "")] == topic.event_id


def test_remote_redactions(server: TestServer) -> None:
    evil_key = generate_signing_key("e1")
    room = RemoteRoom({"test": TEST_SIGNING_KEY, "evil.test": evil_key})
    use_remote(server, room)
    bob = join_remote_room(server, room)
    mallory = "@mallory:evil.test"
    joined = room.send(EventTypes.MEMBER, mallory, {"membership": "join"}, mallory)
    mine = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "mine"})
    theirs = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "keep"})
    bad = room.send(EventTypes.REDACTION, mallory, {}, redacts=theirs.event_id)
    good = room.send(EventTypes.REDACTION, ALICE, {}, redacts=mine.event_id)
    for event in (joined, mine, theirs, bad, good):
        _receive(server, room.pdu(event))
    assert _stored(server, bad.event_id).rejected_reason is None
    timeline = {e["event_id"]: e for e in bob.timeline(room.room_id)}
    assert timeline[theirs.event_id]["content"]["body"] == "keep"
    assert timeline[mine.event_id]["content"] == {}


def test_missing_auth_events_are_fetched_and_stored_as_outliers(
    server: TestServer,
) -> None:
    room = RemoteRoom({"test": TEST_SIGNING_KEY})
    remote = use_remote(server, room)
    old_levels = room.state[(EventTypes.POWER_LEVELS, "")]
    room.send(
        EventTypes.POWER_LEVELS,
        ALICE,
        {"users": {ALICE: 100}, "users_default": 0, "events_default": 0, "ban": 60},
        "",
    )
    before = room.state
    join = room.send(
        EventTypes.MEMBER, "@bob:test", {"membership": "join"}, "@bob:test"
    )
    server.register("bob")
    # No auth chain given: the old power levels (an auth event of the new
    # ones, not in the state) must be fetched from the origin.
    server.get_success(
        receiving(server).process_remote_join(
            REMOTE,
            room.version,
            join,
            [room.pdu(room.events[eid]) for eid in before.values()],
            [],
        )
    )
    fetched = _stored(server, old_levels)
    assert fetched is not None and fetched.outlier and fetched.rejected_reason is None
    assert (
        "GET",
        f"/_matrix/federation/v1/event/{quote(old_levels, safe='')}",
    ) in remote.requests
    assert not _stored(server, join.event_id).outlier


def test_outlier_arriving_in_the_dag_is_de_outliered(
    server: TestServer, room: RemoteRoom
) -> None:
    remote = use_remote(server, room)
    join_remote_room(server, room)
    topic = room.send(EventTypes.TOPIC, ALICE, {"topic": "t"}, "")
    last = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "end"})
    remote.withheld = {topic.event_id}
    _receive(server, room.pdu(last))
    outlier = _stored(server, topic.event_id)
    assert outlier.outlier
    _receive(server, room.pdu(topic))
    stored = _stored(server, topic.event_id)
    assert not stored.outlier and stored.rejected_reason is None
    assert stored.stream_ordering > _stored(server, last.event_id).stream_ordering
    groups = server.get_success(
        server.hs.core.state.get_state_groups_for_events([topic.event_id])
    )
    assert topic.event_id in groups


@pytest.mark.parametrize("version", ["1", "3", "6", "11", "12"])
def test_other_room_versions(server: TestServer, version: str) -> None:
    room = RemoteRoom({"test": TEST_SIGNING_KEY}, version=version)
    use_remote(server, room)
    bob = join_remote_room(server, room)
    first = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "a"})
    second = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "b"})
    _receive(server, room.pdu(second))
    ids = [e["event_id"] for e in bob.timeline(room.room_id)]
    assert ids[-2:] == [first.event_id, second.event_id]


def test_big_gap_takes_the_state_in_one_request(
    server: TestServer, room: RemoteRoom
) -> None:
    remote = use_remote(server, room)
    join_remote_room(server, room)
    joins = [
        room.send(
            EventTypes.MEMBER,
            f"@u{i}:{REMOTE}",
            {"membership": "join"},
            f"@u{i}:{REMOTE}",
        )
        for i in range(15)
    ]
    last = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "end"})
    remote.withheld = {j.event_id for j in joins}
    _receive(server, room.pdu(last))
    assert sum(1 for _, p in remote.requests if p.startswith(f"{FED}/state/")) == 1
    # Only the missing prev itself is fetched on its own.
    singles = [p for _, p in remote.requests if p.startswith(f"{FED}/event/")]
    assert singles == [f"{FED}/event/{quote(joins[-1].event_id, safe='')}"]
    members = server.get_success(server.hs.core.room_state.get_members(room.room_id))
    assert all(members[f"@u{i}:{REMOTE}"][0] == "join" for i in range(15))
    assert _stored(server, last.event_id).rejected_reason is None


def test_long_gap_is_walked_back_page_by_page(
    server: TestServer, room: RemoteRoom
) -> None:
    remote = use_remote(server, room)
    join_remote_room(server, room)
    missed = [
        room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": str(i)})
        for i in range(35)
    ]
    _receive(server, room.pdu(missed[-1]))
    pages = [p for _, p in remote.requests if "/get_missing_events/" in p]
    assert len(pages) == 4
    assert not any("/state_ids/" in p for _, p in remote.requests)
    for event in missed:
        stored = _stored(server, event.event_id)
        assert stored is not None and not stored.outlier
    orderings = [_stored(server, e.event_id).stream_ordering for e in missed]
    assert orderings == sorted(orderings)


def test_remote_event_wakes_a_waiting_sync(
    server: TestServer, room: RemoteRoom
) -> None:
    bob = join_remote_room(server, room)
    since = server.request("GET", "/_matrix/client/v3/sync", token=bob.token).json[
        "next_batch"
    ]
    pending = server.start_request(
        "GET", f"/_matrix/client/v3/sync?since={since}&timeout=30000", bob.token
    )
    assert not pending.done
    message = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "wake"})
    _receive(server, room.pdu(message))
    server.advance(0)
    assert pending.done
    events = pending.response().json["rooms"]["join"][room.room_id]["timeline"][
        "events"
    ]
    assert [e["event_id"] for e in events] == [message.event_id]


def test_rejoin_leaves_only_the_join_as_extremity(
    server: TestServer, room: RemoteRoom
) -> None:
    bob = join_remote_room(server, room)
    resp = bob.post(f"/_matrix/client/v3/rooms/{room.room_id}/leave", {})
    assert resp.code == 200, resp.json
    room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "meanwhile"})
    before = room.state
    rejoin = room.send(
        EventTypes.MEMBER, bob.user_id, {"membership": "join"}, bob.user_id
    )
    server.get_success(
        receiving(server).process_remote_join(
            REMOTE,
            room.version,
            rejoin,
            [room.pdu(room.events[e]) for e in before.values()],
            [room.pdu(e) for e in room.auth_chain([rejoin.event_id])],
        )
    )
    hs = server.hs
    assert server.get_success(hs.core.events.get_forward_extremities(room.room_id)) == [
        rejoin.event_id
    ]
    membership = server.get_success(
        hs.core.room_state.get_membership(room.room_id, bob.user_id)
    )
    assert membership == ("join", rejoin.event_id)


def test_a_redaction_never_applies_to_an_event_of_another_room(
    server: TestServer, room: RemoteRoom
) -> None:
    """alice has the power to redact in her room; she names an event of
    another room. It is stored but redacts nothing, and the real redaction
    that comes later is the one ``redacted_because`` names."""
    bob = join_remote_room(server, room)
    other_room = bob.create_room()
    secret = bob.send(other_room, "not yours to redact")
    cross = room.send(EventTypes.REDACTION, ALICE, {}, redacts=secret)
    _receive(server, room.pdu(cross))
    assert _stored(server, cross.event_id).rejected_reason is None
    assert (
        bob.event(other_room, secret, expect=200).json["content"]["body"]
        == "not yours to redact"
    )
    assert _stored(server, secret).redacted_by is None

    own = bob.put(
        f"/rooms/{quote(other_room)}/redact/{quote(secret)}/redact-own", {}, expect=200
    ).json["event_id"]
    served = bob.event(other_room, secret, expect=200).json
    assert served["content"] == {}
    assert served["unsigned"]["redacted_because"]["event_id"] == own
