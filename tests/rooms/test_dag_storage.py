"""The DAG in storage: forks, extremities, state resolution on merge, state snapshots."""

from __future__ import annotations

from typing import Any

from homeserver.events.builder import build_event
from homeserver.events.model import Event, EventTypes
from homeserver.services.rooms.event_creation import auth_state
from tests.rooms.helpers import current_state, member_of
from tests.support.server import TEST_SIGNING_KEY, TestServer


def fork_event(
    server: TestServer,
    room_id: str,
    parent: str,
    sender: str,
    event_type: str,
    content: dict[str, Any],
    state_key: str | None = None,
    ts: int = 0,
) -> Event:
    """Build and persist an event on ``parent`` as if another server sent it."""
    hs = server.hs
    version = server.get_success(hs.core.room_state.get_room_version(room_id))
    context = server.get_success(
        hs.rooms.state_resolver.context_for_prev_events(version, [parent])
    )
    parent_event = server.get_success(hs.core.events.get_event(parent))
    auth = auth_state(
        version, event_type, state_key, sender, content, context.state_before
    )
    event = build_event(
        version,
        room_id=room_id,
        type=event_type,
        sender=sender,
        content=content,
        prev_event_ids=[parent],
        auth_event_ids=sorted(auth.values()),
        depth=parent_event.depth + 1,
        origin_server_ts=ts or parent_event.origin_server_ts + 1,
        server_name="test",
        signing_key=TEST_SIGNING_KEY,
        state_key=state_key,
    )
    context = type(context)(
        state_before=context.state_before,
        state_group_before=context.state_group_before,
        update_current_state=False,
    )
    server.get_success(hs.core.persister.persist_event(event, context))
    return event


def extremities(server: TestServer, room_id: str) -> set[str]:
    return set(
        server.get_success(server.hs.core.events.get_forward_extremities(room_id))
    )


def test_linear_sends_keep_one_extremity(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    for i in range(5):
        alice.send_event(room_id, {"msgtype": "m.text", "body": str(i)})
    assert len(extremities(server, room_id)) == 1


def test_ban_racing_a_topic_change_resolves_on_merge(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(
        preset="public_chat",
        topic="original",
        power_level_content_override={"users": {alice.user_id: 100, bob.user_id: 50}},
    )
    bob.membership(room_id, "join")
    (base,) = extremities(server, room_id)
    ban = fork_event(
        server,
        room_id,
        base,
        alice.user_id,
        EventTypes.MEMBER,
        {"membership": "ban"},
        state_key=bob.user_id,
    )
    topic = fork_event(
        server,
        room_id,
        base,
        bob.user_id,
        EventTypes.TOPIC,
        {"topic": "bob was here"},
        state_key="",
    )
    assert extremities(server, room_id) == {ban.event_id, topic.event_id}
    # A new local event merges the fork; state resolution decides.
    alice.send_event(room_id, {"msgtype": "m.text", "body": "merge"})
    assert len(extremities(server, room_id)) == 1
    state = current_state(server, room_id)
    assert member_of(server, room_id, bob.user_id) == "ban"
    # Bob's topic change is checked against the resolved state, where he is banned.
    assert state[("m.room.topic", "")]["topic"] == "original"


def test_messages_write_no_state_rows(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(preset="public_chat")
    for i in range(20):
        server.user(f"m{i}").membership(room_id, "join")

    def count() -> int:
        row = server.get_success(
            server.db.run_interaction(
                "count",
                lambda txn: txn.query_one("SELECT COUNT(*) FROM state_group_entries"),
            )
        )
        return int(row[0])

    before = count()
    for i in range(10):
        alice.send_event(room_id, {"msgtype": "m.text", "body": str(i)})
    assert count() == before


def test_state_deltas_are_small_and_chains_bounded(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(preset="public_chat")

    def rows() -> list[tuple[Any, ...]]:
        return server.get_success(
            server.db.run_interaction(
                "rows",
                lambda txn: txn.query(
                    "SELECT g.id, g.delta_depth, COUNT(e.state_group) FROM state_groups g"
                    " LEFT JOIN state_group_entries e ON e.state_group = g.id"
                    " GROUP BY g.id, g.delta_depth ORDER BY g.id"
                ),
            )
        )

    for i in range(120):
        alice.put(
            f"/_matrix/client/v3/rooms/{room_id}/state/m.room.topic/", {"topic": str(i)}
        )
    groups = rows()
    assert max(depth for _, depth, _ in groups) <= 50
    # Each topic change stores one row, except when a chain is cut by a snapshot.
    assert sum(1 for _, depth, n in groups if depth > 0 and n == 1) > 100
    assert current_state(server, room_id)[("m.room.topic", "")] == {"topic": "119"}
    # Reading the state through a long chain gives the full state.
    latest = groups[-1][0]
    server.hs.core.state._cache.clear()
    full = server.get_success(server.hs.core.state.get_state_for_group(latest))
    assert full == server.get_success(
        server.hs.core.room_state.get_current_state_ids(room_id)
    )


def test_auth_chain_index_covers_the_chain(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    state = server.get_success(server.hs.core.room_state.get_current_state_ids(room_id))
    chains = server.get_success(
        server.hs.core.events.get_auth_chains(list(state.values()))
    )
    create_id = state[("m.room.create", "")]
    assert chains[create_id] == set()
    for key, event_id in state.items():
        if key != ("m.room.create", ""):
            assert create_id in chains[event_id], key
