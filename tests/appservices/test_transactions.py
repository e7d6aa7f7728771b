"""Transactions to an application service: the events it is interested in,
and only those, pushed with its hs_token (application-service API v1.19,
"Pushing events")."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.appservices.kit import AsHarness
from tests.support.server import TestServer


@pytest.fixture
def harness(make_server: Callable[..., TestServer]) -> Iterator[AsHarness]:
    h = AsHarness(
        make_server,
        users=(r"@irc_.*:test",),
        aliases=(r"#irc_.*:test",),
        rooms=(r"!bridged.*",),
    )
    yield h
    h.close()


def test_events_of_interest_and_only_those(harness: AsHarness) -> None:
    server = harness.server
    alice = server.user("alice")
    bob = server.user("bob")
    private = alice.create_room()
    alice.send(private, "nobody of the bridge is here")
    shared = alice.create_room()
    irc = server.user("irc_carol")
    alice.invite(shared, irc.user_id)
    irc.join(shared)
    wanted = alice.send(shared, "hello bridge")
    by_alias = bob.create_room()
    # The alias namespace is the AS's (exclusive): it sets the alias.
    made = server.request(
        "PUT",
        "/_matrix/client/v3/directory/room/%23irc_chan:test",
        {"room_id": by_alias},
        token=harness.registration.as_token,
    )
    assert made.code == 200, made.json
    aliased = bob.send(by_alias, "in an aliased room")
    harness.pump(lambda: aliased in {e["event_id"] for e in harness.fake.events()})
    harness.settle()

    events = harness.fake.events()
    rooms = {e["room_id"] for e in events}
    assert private not in rooms
    assert wanted in {e["event_id"] for e in events}
    # The invite of its user (state_key in its namespace) is there too.
    assert any(
        e["type"] == "m.room.member"
        and e["state_key"] == irc.user_id
        and e["content"]["membership"] == "invite"
        for e in events
    )
    for txn in harness.fake.transactions():
        assert txn.method == "PUT"
        assert txn.authorization == "Bearer hs-secret"
        assert "access_token" not in txn.query
    # Shaped as clients get them: the join says what it replaced.
    join = next(
        e
        for e in events
        if e["type"] == "m.room.member"
        and e["state_key"] == irc.user_id
        and e["content"]["membership"] == "join"
    )
    assert join["unsigned"]["prev_content"]["membership"] == "invite"
    # Every event exactly once, in stream order within a room.
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids))
