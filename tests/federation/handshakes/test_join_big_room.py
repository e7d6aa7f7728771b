"""Joining a big remote room: the state and auth chain of the send_join answer
are stored in a few batched transactions, with each origin's keys fetched once,
and the batch writes exactly the rows one-by-one persisting would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from twisted.internet import defer

from homeserver.events.model import Event, EventTypes
from homeserver.federation.ingest.auth_checks import sort_by_auth
from homeserver.storage.stores.event_persistence import EventContext
from homeserver.storage.stores.outlier_persistence import OUTLIER_CHUNK
from tests.federation.big_room import TxnCounter, counted_join, make_big_room
from tests.federation.pair import Federation, FederationPair
from tests.federation.receiving_helpers import join_remote_room, receiving, use_remote
from tests.federation.remote_room import REMOTE, RemoteRoom, StaticKeyRing
from tests.support.server import TEST_SIGNING_KEY, TestServer

MEMBERS = 2000
CLIENT = "/_matrix/client/v3"


def test_join_a_room_with_2000_members(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    _, bob_token = b.register("bob")
    alice, alice_token = a.register("alice")
    room_id = make_big_room(b, bob_token, MEMBERS)

    figures = counted_join(pair, a, alice_token, room_id, "b.test")

    # Everyone is there, as a.test now sees the room.
    resp = a.request(
        "GET",
        f"{CLIENT}/rooms/{quote(room_id, safe='')}/joined_members",
        token=alice_token,
    )
    assert resp.code == 200, resp.json
    joined = resp.json["joined"]
    assert len(joined) == MEMBERS + 2
    assert alice in joined and "@m1999:b.test" in joined
    # The room's state and auth chain went in as outliers, a chunk per
    # transaction: not a transaction per event.
    state_events = MEMBERS + 6  # create, bob, power levels, join rules, ...
    assert figures.by_name["persist_outliers"] <= state_events // OUTLIER_CHUNK + 1
    assert figures.by_name["persist_event"] <= 2
    assert figures.transactions < 80, figures.by_name.most_common(10)
    # b.test's keys were fetched at most once for the 2,000 signatures.
    assert figures.key_requests <= 1
    rows = a.get_success(
        a.db.run_interaction(
            "count",
            lambda txn: txn.query_one(
                "SELECT COUNT(*) FROM events WHERE room_id = ? AND outlier = ?",
                (room_id, True),
            ),
        )
    )
    assert rows is not None and rows[0] >= MEMBERS
    # The room works afterwards: bob sees alice's message.
    resp = a.request(
        "PUT",
        f"{CLIENT}/rooms/{quote(room_id, safe='')}/send/m.room.message/t1",
        {"msgtype": "m.text", "body": "hello big room"},
        alice_token,
    )
    assert resp.code == 200, resp.json
    pair.pump(1)
    event = b.get_success(b.hs.core.events.get_event(resp.json["event_id"]))
    assert event is not None and not event.outlier


def _big_remote_room(members: int) -> RemoteRoom:
    room = RemoteRoom({"test": TEST_SIGNING_KEY})  # local users may join too
    for i in range(members):
        user = f"@u{i}:{REMOTE}"
        room.send(EventTypes.MEMBER, user, {"membership": "join"}, user)
    # A member event whose sender may not set it: rejected as an outlier.
    room.send(
        EventTypes.MEMBER,
        f"@u0:{REMOTE}",
        {"membership": "ban"},
        f"@u1:{REMOTE}",
        extend=False,
    )
    return room


TABLES = {
    "events": "SELECT event_id, room_id, type, state_key, sender, depth, json,"
    " outlier, rejected_reason, soft_failed, redacted_by FROM events",
    "event_edges": "SELECT event_id, prev_event_id FROM event_edges",
    "event_auth": "SELECT event_id, auth_id FROM event_auth",
    "event_auth_chains": "SELECT event_id, chain_id FROM event_auth_chains",
    "room_memberships": "SELECT event_id, room_id, user_id, sender, membership,"
    " depth FROM room_memberships",
    "rooms": "SELECT room_id, room_version FROM rooms",
}


def _dump(server: TestServer, room_id: str) -> dict[str, list[tuple[Any, ...]]]:
    def txn_fn(txn: Any) -> dict[str, list[tuple[Any, ...]]]:
        return {name: sorted(txn.query(sql), key=repr) for name, sql in TABLES.items()}

    return server.get_success(server.db.run_interaction("dump", txn_fn))


def test_batched_outliers_match_one_by_one(
    make_server: Callable[..., TestServer],
) -> None:
    room = _big_remote_room(30)
    events = sort_by_auth(room.events.values())
    one_by_one, batched = make_server(), make_server()

    for server in (one_by_one, batched):
        use_remote(server, room)
    decided = batched.get_success(
        receiving(batched).auth.persist_outliers(
            [Event(dict(e.pdu), e.room_version, e.event_id) for e in events]
        )
    )
    for event in events:
        copy = Event(dict(event.pdu), event.room_version, event.event_id)
        copy.outlier = True
        copy.rejected_reason = decided[event.event_id].rejected_reason
        one_by_one.get_success(
            one_by_one.hs.core.persister.persist_event(
                copy, EventContext(state_before={})
            )
        )

    rejected = [e for e in decided.values() if e.rejected_reason is not None]
    assert [e.content.get("membership") for e in rejected] == ["ban"]
    assert _dump(batched, room.room_id) == _dump(one_by_one, room.room_id)


def test_batched_outliers_span_chunks_and_skip_stored(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server()
    use_remote(server, room := _big_remote_room(OUTLIER_CHUNK + 20))
    events = sort_by_auth(room.events.values())
    auth = receiving(server).auth
    # Some are stored already (e.g. by an earlier, interrupted join).
    server.get_success(auth.persist_outliers(events[:10]))

    with TxnCounter(server.db) as counter:
        stored = server.get_success(
            auth.persist_outliers(
                Event(dict(e.pdu), e.room_version, e.event_id) for e in events
            )
        )

    assert set(stored) == {e.event_id for e in events}
    assert counter.transactions["persist_outliers"] == 2
    chains = server.get_success(
        server.hs.core.events.get_auth_chains([events[-2].event_id])
    )
    expected = {e.event_id for e in room.auth_chain([events[-2].event_id])}
    assert chains[events[-2].event_id] == expected


def test_checking_a_big_state_lets_the_reactor_run(server: TestServer) -> None:
    # Thousands of signature and auth checks must not hold the reactor (and
    # every other request) for seconds: the join gives it a turn now and then.
    room = _big_remote_room(450)
    use_remote(server, room)  # keys known: nothing here waits on the network
    user_id, _ = server.register("joiner")
    before = room.state
    join = room.send(EventTypes.MEMBER, user_id, {"membership": "join"}, user_id)
    chain = room.auth_chain([*before.values(), join.event_id])
    state = [dict(room.events[eid].pdu) for eid in before.values()]
    pending = defer.ensureDeferred(
        receiving(server).process_remote_join(
            REMOTE, room.version, join, state, [dict(e.pdu) for e in chain]
        )
    )
    # One reactor turn at a time (advance() would run every turn due at once).
    reactor = server.reactor
    turns = 0
    while not pending.called and reactor.calls and turns < 1000:
        call = min(reactor.calls, key=lambda c: c.getTime())
        reactor.calls.remove(call)
        call.called = 1
        call.func(*call.args, **call.kw)
        turns += 1
    server.get_success(pending)
    # State (452 events) and chain are checked, then authorised, 100 a turn.
    assert turns >= 8
    member = server.get_success(
        server.hs.core.room_state.get_current_state_event_id(
            room.room_id, EventTypes.MEMBER, f"@u449:{REMOTE}"
        )
    )
    assert member is not None


def test_each_servers_keys_are_fetched_once(
    make_federation: Callable[[], Federation],
) -> None:
    # Members from three servers: a.test needs b, c and d's keys for the
    # state it is sent, and asks each server once, whatever the number of
    # events each signed.
    fed = make_federation()
    a, b, c, d = (fed.add_server(f"{n}.test") for n in "abcd")
    _, bob_token = b.register("bob")
    room_id = make_big_room(b, bob_token, 150)
    for guest in (c, d):
        for i in range(3):
            _, token = guest.register(f"guest{i}")
            path = f"{CLIENT}/join/{quote(room_id, safe='')}?via=b.test"
            resp = guest.request("POST", path, {}, token=token)
            assert resp.code == 200, resp.json
    _, alice_token = a.register("alice")

    figures = counted_join(fed, a, alice_token, room_id, "b.test")

    assert figures.key_requests == 3
    fetched = sorted(
        dest
        for origin, dest, _, uri in fed.requests
        if origin == "a.test" and uri.startswith("/_matrix/key/")
    )
    assert fetched == ["b.test", "c.test", "d.test"]
    resp = a.request(
        "GET",
        f"{CLIENT}/rooms/{quote(room_id, safe='')}/joined_members",
        token=alice_token,
    )
    assert resp.code == 200 and len(resp.json["joined"]) == 150 + 1 + 6 + 1


class _CountingKeyRing(StaticKeyRing):
    """The test key ring, counting signature checks."""

    checks = 0

    async def verify_json_for_server(
        self, server_name: str, json_object: Any, valid_at_ms: int | None
    ) -> None:
        self.checks += 1
        await super().verify_json_for_server(server_name, json_object, valid_at_ms)


def test_a_second_join_does_not_check_known_events_again(server: TestServer) -> None:
    room = _big_remote_room(300)
    use_remote(server, room)
    keyring = _CountingKeyRing({**room.keys, "test": TEST_SIGNING_KEY})
    receiving(server).verifier.keyring = keyring
    join_remote_room(server, room, "bob")
    first = keyring.checks
    assert first >= 300

    join_remote_room(server, room, "carol")
    assert keyring.checks - first <= 2  # bob's join at most: the rest is known
    members = server.get_success(
        server.hs.core.room_state.get_current_state_ids(room.room_id)
    )
    assert sum(1 for key in members if key[0] == EventTypes.MEMBER) == 300 + 3
