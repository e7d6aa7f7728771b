"""The parts a pusher worker (docs/scaling.md) wakes its pushers with: which
users got push actions or sent receipts in a range of positions, and
reloading a user's pushers that another process changed."""

from __future__ import annotations

from homeserver.storage.stores.push_wakes import PushWakeStore
from homeserver.storage.stores.pushers import NewPusher
from homeserver.streams.registry import EVENTS, RECEIPTS
from tests.push.pushers.kit import set_http_pusher
from tests.support.server import TestServer


def test_users_with_actions_and_receipts_in_a_range(server: TestServer) -> None:
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room_id = alice.create_room(preset="public_chat")
    bob.post(f"/join/{room_id}", {}, expect=200)
    before = server.hs.core.streams.ids(EVENTS).current_position()
    event_id = alice.send(room_id, "hello bob")
    after = server.hs.core.streams.ids(EVENTS).current_position()
    store = PushWakeStore(server.db)
    users = [alice.user_id, bob.user_id, carol.user_id]
    assert server.get_success(store.get_users_with_actions(users, before, after)) == {
        bob.user_id
    }
    assert (
        server.get_success(store.get_users_with_actions(users, after, after)) == set()
    )
    receipts = server.hs.core.streams.ids(RECEIPTS)
    since = receipts.current_position()
    bob.post(f"/rooms/{room_id}/receipt/m.read/{event_id}", {}, expect=200)
    found = server.get_success(
        store.get_receipt_rooms(users, since, receipts.current_position())
    )
    assert found == {(bob.user_id, room_id)}


def _stored(server: TestServer, user_id: str, url: str) -> None:
    new = NewPusher(
        user_id=user_id,
        device_id=None,
        kind="http",
        app_id="com.example.app",
        pushkey="key-1",
        app_display_name="Example",
        device_display_name="Phone",
        profile_tag=None,
        lang="en",
        data={"url": url},
    )
    server.get_success(server.hs.pushers.store.upsert_pusher(new, now_ms=1, position=0))


def test_reload_runs_exactly_the_stored_pushers(server: TestServer) -> None:
    pool = server.hs.pushers.pool
    alice = server.user("alice")
    # Stored by another process: this pool does not know yet.
    _stored(server, alice.user_id, "https://push.example/_matrix/push/v1/notify")
    assert alice.user_id not in pool.runners
    server.get_success(pool.reload_user(alice.user_id))
    [(record, runner)] = pool.runners[alice.user_id].values()
    # Unchanged: the running runner is kept.
    server.get_success(pool.reload_user(alice.user_id))
    assert list(pool.runners[alice.user_id].values()) == [(record, runner)]
    # Its data changed elsewhere: a new runner with the new data.
    _stored(server, alice.user_id, "https://other.example/_matrix/push/v1/notify")
    server.get_success(pool.reload_user(alice.user_id))
    [(changed, _)] = pool.runners[alice.user_id].values()
    assert changed.data["url"].startswith("https://other.example")
    server.get_success(pool.store.delete_user_pushers(alice.user_id))
    server.get_success(pool.reload_user(alice.user_id))
    assert alice.user_id not in pool.runners


def test_a_pool_that_does_not_run_pushers_tells_the_one_that_does(
    server: TestServer,
) -> None:
    pool = server.hs.pushers.pool
    pool.stop()
    pool._started = False
    told: list[str] = []
    pool.relay = told.append
    alice = server.user("alice")
    set_http_pusher(alice, "https://push.example/_matrix/push/v1/notify")
    assert told == [alice.user_id]
    assert pool.runners == {}
