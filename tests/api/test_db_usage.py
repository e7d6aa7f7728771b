"""Database work per request (util/db_usage.py): /metrics and the debug line.

Real HTTP requests against an in-process server; the counts are checked against
what the database driver itself saw (SQLite's trace callback, a counting
psycopg2 cursor) and against the per-transaction-name histogram.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from homeserver.streams.registry import EVENTS
from tests.support.metrics import Samples, db_line, delta, parse_samples
from tests.support.server import TestServer

SEND = 'kind="http",name="PUT SendEventEndpoint"'


def _metrics(server: TestServer) -> Samples:
    resp = server.request("GET", "/metrics")
    assert resp.code == 200
    return parse_samples(resp.body.decode())


def _db_lines(caplog: Any) -> list[tuple[int, int, int]]:
    found = [db_line(record.getMessage()) for record in caplog.records]
    return [line for line in found if line is not None]


@contextmanager
def _driver_statements(server: TestServer) -> Iterator[Callable[[], int]]:
    """Count the statements the driver runs (round trips on PostgreSQL),
    BEGIN and COMMIT included."""
    conn = server.db.connections.get()
    seen: list[str] = []
    if server.db.engine.single_threaded:  # SQLite: per statement (and row)
        # Lines starting "--" are SQLite's own sub-statements (FTS5 shadow
        # tables, triggers), not statements sent by the server.
        def trace(sql: str) -> None:
            if not sql.startswith("--"):
                seen.append(sql)

        conn.set_trace_callback(trace)
        try:
            yield lambda: len(seen)
        finally:
            conn.set_trace_callback(None)
        return
    import psycopg2.extensions

    class CountingCursor(psycopg2.extensions.cursor):  # type: ignore[misc]
        def execute(self, sql: Any, args: Any = None) -> Any:
            seen.append(sql)
            return super().execute(sql, args)

        def executemany(self, sql: Any, rows: Any) -> Any:
            rows = list(rows)
            seen.extend([sql] * len(rows))
            return super().executemany(sql, rows)

    old = conn.cursor_factory
    conn.cursor_factory = CountingCursor
    try:
        yield lambda: len(seen)
    finally:
        conn.cursor_factory = old


def test_send_counted_in_metrics_and_log(make_server: Any, caplog: Any) -> None:
    server = make_server({"metrics": {"enabled": True}})
    alice = server.user("alice")
    room_id = alice.create_room()
    alice.send(room_id, "warm the caches")
    before = _metrics(server)
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="homeserver.api.http.site")
    with _driver_statements(server) as driver:
        alice.send(room_id, "hello")
        seen = driver()
    after = _metrics(server)

    txns = delta(before, after, "homeserver_db_txns_total", SEND)
    statements = delta(before, after, "homeserver_db_statements_total", SEND)
    rows = delta(before, after, "homeserver_db_rows_total", SEND)
    assert delta(before, after, "homeserver_db_units_total", SEND) == 1
    assert txns >= 1 and statements >= txns and rows >= 0
    assert delta(before, after, "homeserver_db_seconds_total", SEND) > 0
    # The send's line, then the /metrics request's (no database work).
    assert _db_lines(caplog) == [(txns, statements, rows), (0, 0, 0)]
    # Every transaction is counted once, in some unit: the send, or a job it
    # started (the fake reactor runs them inline), or none.
    all_txns = delta(before, after, "homeserver_db_txns_total")
    assert all_txns == delta(before, after, "homeserver_db_txn_seconds_count")
    # Every call into the driver is a round trip counted (on PostgreSQL the
    # BEGIN and queued writes ride with a statement or the COMMIT).
    assert seen == delta(before, after, "homeserver_db_round_trips_total")


def test_request_without_database_work(make_server: Any, caplog: Any) -> None:
    server = make_server({"metrics": {"enabled": True}})
    before = _metrics(server)
    caplog.set_level(logging.DEBUG, logger="homeserver.api.http.site")
    assert server.request("GET", "/_matrix/client/versions").code == 200
    after = _metrics(server)
    labels = 'kind="http",name="GET VersionsEndpoint"'
    assert delta(before, after, "homeserver_db_units_total", labels) == 1
    assert delta(before, after, "homeserver_db_txns_total", labels) == 0
    assert _db_lines(caplog)[0] == (0, 0, 0)


def test_unrouted_request_counted_as_unknown(make_server: Any) -> None:
    server = make_server({"metrics": {"enabled": True}})
    before = _metrics(server)
    assert server.request("GET", "/_matrix/client/v3/no/such/thing").code == 404
    after = _metrics(server)
    labels = 'kind="http",name="GET unknown"'
    assert delta(before, after, "homeserver_db_units_total", labels) == 1


def _send_and_count_stream_reads(server: TestServer, alice: Any, room_id: str) -> float:
    """Send a message, let both senders follow it, and assert they reached
    the stream's end; how often the new events were read from the database."""
    key = ("homeserver_db_txn_seconds_count", 'name="get_events_for_federation"')
    before = _metrics(server).get(key, 0.0)
    alice.send(room_id, "hello")
    server.advance(0)
    position = server.hs.core.streams.ids(EVENTS).current_position()
    assert server.hs.appservice_outbound.sender.position == position
    assert server.hs.federation.sender.position == position
    return _metrics(server).get(key, 0.0) - before


def test_both_senders_share_one_read_of_a_send(make_server: Any) -> None:
    """The application-service and federation senders each follow a send to
    the stream's position, and the new events are read from the database
    once for both (storage/stores/new_events.py)."""
    server = make_server({"metrics": {"enabled": True}})
    alice = server.user("alice")
    room_id = alice.create_room()
    assert _send_and_count_stream_reads(server, alice, room_id) == 1
    assert _send_and_count_stream_reads(server, alice, room_id) == 1


def test_a_sender_behind_reads_its_own_range(make_server: Any) -> None:
    """A sender at another position (catching up after a restart) reads its
    range from the database itself, and still reaches the stream's end."""
    server = make_server({"metrics": {"enabled": True}})
    alice = server.user("alice")
    room_id = alice.create_room()
    server.advance(0)
    appservice = server.hs.appservice_outbound.sender
    behind = appservice.position
    assert _send_and_count_stream_reads(server, alice, room_id) == 1
    appservice.position = behind  # as if restarted from an older stored position
    assert _send_and_count_stream_reads(server, alice, room_id) == 2


def test_warm_access_token_costs_no_transaction(make_server: Any) -> None:
    """The access-token cache: a token's first request looks it up (one
    transaction), later ones do not; a logout makes the next one look again."""
    server = make_server({"metrics": {"enabled": True}})
    alice = server.user("alice")
    whoami = 'kind="http",name="GET WhoamiEndpoint"'
    lookup = 'name="get_access_token"'

    def whoami_delta() -> tuple[float, float]:
        before = _metrics(server)
        assert alice.request("GET", "/_matrix/client/v3/account/whoami").code == 200
        after = _metrics(server)
        return (
            delta(before, after, "homeserver_db_txns_total", whoami),
            delta(before, after, "homeserver_db_txn_seconds_count", lookup),
        )

    assert whoami_delta() == (1, 1)  # cold: the lookup
    assert whoami_delta() == (0, 0)  # warm: none at all
    other = server.login("alice")
    assert other.request("POST", "/_matrix/client/v3/logout", {}).code == 200
    # A token was deleted: the cache was emptied, alice's token is read again.
    assert whoami_delta() == (1, 1)
    assert whoami_delta() == (0, 0)


def _txn_names(samples: Samples) -> dict[str, float]:
    """Transactions run so far, by name (the duration histogram's count)."""
    found: dict[str, float] = {}
    for (metric, labels), value in samples.items():
        if metric == "homeserver_db_txn_seconds_count":
            found[labels.split('"')[1]] = value
    return found


def test_message_send_is_one_read_and_one_transaction(make_server: Any) -> None:
    """A message into a warm room (bob's notification included) reads only
    its transaction ID (no transaction around it: one round trip on
    PostgreSQL) and writes everything in one transaction whose writes ride
    with its COMMIT: the tips, the prev event, its state group and the auth
    events come from memory."""
    server = make_server({"metrics": {"enabled": True}})
    alice, bob = server.user("alice"), server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    alice.send(room_id, "warm the caches")
    for n in range(3):
        before = _metrics(server)
        names_before = _txn_names(before)
        alice.send(room_id, f"hello {n}")
        after = _metrics(server)
        ran = {
            name: count - names_before.get(name, 0.0)
            for name, count in _txn_names(after).items()
            if count != names_before.get(name, 0.0)
        }
        assert delta(before, after, "homeserver_db_txns_total", SEND) == 2
        assert ran == {
            "get_event_ids_for_txn": 1,
            "persist_events": 1,
            "get_events_for_federation": 1,  # the senders' shared read (a job)
        }
        trips = delta(before, after, "homeserver_db_round_trips_total", SEND)
        if not server.db.engine.single_threaded:
            assert trips == 2


def test_room_creation_reads_back_nothing_it_wrote(make_server: Any) -> None:
    """createRoom persists its events one after another: each next event
    finds the room's version and tips in memory, never reading back what the
    previous persist wrote."""
    server = make_server({"metrics": {"enabled": True}})
    alice = server.user("alice")
    alice.create_room()  # warms alice's own caches (profile, push rules)
    before = _txn_names(_metrics(server))
    alice.create_room(preset="public_chat", name="a room", topic="a topic")
    after = _txn_names(_metrics(server))
    ran = {name for name, count in after.items() if count != before.get(name, 0.0)}
    assert "persist_event" in ran
    assert not ran & {
        "get_room_version",
        "get_forward_extremities",
        "get_state_groups_for_events",
        "get_events",
    }
