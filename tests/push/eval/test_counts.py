"""Unread and highlight counts in /sync from the push rules: mentions
highlight, @room only with power, edits and notices do not count, threads,
and read receipts (threaded ones too) reset them."""

from __future__ import annotations

from homeserver.storage.bulk_copy import COPY_MIN_ROWS
from homeserver.storage.stores.unread_counts import KEEP_MS
from tests.push.eval.helpers import counts, mention, read, thread_counts
from tests.relations.helpers import edit, reply_in_thread
from tests.support import TestServer, User


def group(server: TestServer) -> tuple[User, User, User, str]:
    """alice (creator, power 100), bob and carol in a three-member room (no
    one-to-one rule)."""
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    carol.join(room_id)
    return alice, bob, carol, room_id


def test_messages_notify_and_mentions_highlight(server: TestServer) -> None:
    alice, bob, carol, room_id = group(server)
    assert counts(alice, room_id) == (0, 0)
    bob.send(room_id, "hello all")
    mention(bob, room_id, "alice: look", alice.user_id)
    assert counts(alice, room_id) == (2, 1)
    # carol was not mentioned; the sender counts nothing of their own.
    assert counts(carol, room_id) == (2, 0)
    assert counts(bob, room_id) == (0, 0)


def test_room_mention_highlights_only_with_power(server: TestServer) -> None:
    alice, bob, carol, room_id = group(server)
    mention(bob, room_id, "@room hi", room=True)
    assert counts(carol, room_id) == (1, 0)
    mention(alice, room_id, "@room listen", room=True)
    assert counts(carol, room_id) == (2, 1)
    assert counts(bob, room_id) == (1, 1)


def test_edits_and_notices_do_not_count(server: TestServer) -> None:
    alice, bob, _carol, room_id = group(server)
    first = bob.send(room_id, "typo")
    edit(bob, room_id, first, "fixed")
    bob.send_event(room_id, {"msgtype": "m.notice", "body": "bot"}, expect=200)
    assert counts(alice, room_id) == (1, 0)


def test_receipts_reset_counts(server: TestServer) -> None:
    alice, bob, _carol, room_id = group(server)
    bob.send(room_id, "one")
    two = mention(bob, room_id, "two", alice.user_id)
    bob.send(room_id, "three")
    assert counts(alice, room_id) == (3, 1)
    read(alice, room_id, two)
    assert counts(alice, room_id) == (1, 0)
    # A private receipt reads too.
    last = bob.send(room_id, "four")
    alice.post(f"/rooms/{room_id}/receipt/m.read.private/{last}", {}, expect=200)
    assert counts(alice, room_id) == (0, 0)


def test_threads_counted_apart_and_threaded_receipts(server: TestServer) -> None:
    alice, bob, _carol, room_id = group(server)
    root = alice.send(room_id, "root")
    bob.send(room_id, "main one")
    reply_in_thread(bob, room_id, root, "t1")
    mention_in_thread = bob.send(
        room_id,
        "t2 alice",
        **{
            "m.relates_to": {"rel_type": "m.thread", "event_id": root},
            "m.mentions": {"user_ids": [alice.user_id]},
        },
    )
    t3 = reply_in_thread(bob, room_id, root, "t3")
    # Without thread counts the room's figures hold everything.
    assert counts(alice, room_id) == (4, 1)
    main, threads = thread_counts(alice, room_id)
    assert main == (1, 0)
    assert threads == {root: {"notification_count": 3, "highlight_count": 1}}
    # A threaded receipt reads only its thread, up to there.
    read(alice, room_id, mention_in_thread, thread_id=root)
    main, threads = thread_counts(alice, room_id)
    assert main == (1, 0)
    assert threads == {root: {"notification_count": 1, "highlight_count": 0}}
    assert counts(alice, room_id) == (2, 0)
    read(alice, room_id, t3, thread_id=root)
    main, threads = thread_counts(alice, room_id)
    assert (main, threads) == ((1, 0), {})


def test_ignored_sender_notifies_nobody_who_ignores(server: TestServer) -> None:
    alice, bob, carol, room_id = group(server)
    alice.put(
        f"/user/{alice.user_id}/account_data/m.ignored_user_list",
        {"ignored_users": {bob.user_id: {}}},
        expect=200,
    )
    mention(bob, room_id, "alice!", alice.user_id)
    assert counts(alice, room_id) == (0, 0)
    assert counts(carol, room_id) == (1, 0)


def test_room_cache_follows_joins_names_and_power(server: TestServer) -> None:
    alice, bob, carol, room_id = group(server)
    bob.send(room_id, "warms the room cache")
    # A new display name is a member event: the legacy display-name rule
    # (no m.mentions) sees it at once.
    carol.put(f"/profile/{carol.user_id}/displayname", {"displayname": "Carolina"})
    bob.send(room_id, "hey Carolina")
    assert counts(carol, room_id) == (2, 1)
    # A member who joins after the room was cached is counted for.
    dave = server.user("dave")
    dave.join(room_id)
    bob.send(room_id, "welcome")
    assert counts(dave, room_id) == (1, 0)
    # Power given to bob lets his @room highlight.
    levels = alice.state(room_id, "m.room.power_levels")
    levels["users"][bob.user_id] = 50
    alice.put_state(room_id, "m.room.power_levels", levels, expect=200)
    mention(bob, room_id, "@room now", room=True)
    assert counts(dave, room_id) == (2, 1)


def test_counts_in_a_room_big_enough_for_copy(server: TestServer) -> None:
    """A message into a room of more members than ``COPY_MIN_ROWS`` writes its
    push actions in one COPY on PostgreSQL: every member's count, a mention's
    highlight and a receipt's reset come out as in a small room."""
    alice = server.user("alice")
    room_id = alice.create_room(preset="public_chat")
    members = [server.user(f"m{i}") for i in range(COPY_MIN_ROWS + 6)]
    for member in members:
        member.join(room_id)
    mention(alice, room_id, "m3: look", members[3].user_id)
    last = alice.send(room_id, "and everyone else")
    for i, member in enumerate(members):
        assert counts(member, room_id) == (2, 1 if i == 3 else 0), member.user_id
    read(members[5], room_id, last)
    assert counts(members[5], room_id) == (0, 0)
    assert counts(alice, room_id) == (0, 0)


def test_counts_go_on_from_the_last_count(server: TestServer) -> None:
    """A room's count is kept and the next one adds only the newer actions;
    it is made whole again after ``KEEP_MS``. Shown by deleting the
    actions behind the counter's back (as a purge of history does): the kept
    count goes on until it is recounted."""
    alice, bob, _carol, room_id = group(server)
    bob.send(room_id, "one")
    assert counts(alice, room_id) == (1, 0)
    bob.send(room_id, "two")
    mention(bob, room_id, "three", alice.user_id)
    assert counts(alice, room_id) == (3, 1)
    server.get_success(
        server.db.run_interaction(
            "delete",
            lambda txn: txn.execute(
                "DELETE FROM event_push_actions WHERE user_id = ?", (alice.user_id,)
            ),
        )
    )
    bob.send(room_id, "four")
    assert counts(alice, room_id) == (4, 1)
    server.advance(KEEP_MS / 1000)
    assert counts(alice, room_id) == (1, 0)


def test_a_new_read_position_counts_afresh(server: TestServer) -> None:
    alice, bob, _carol, room_id = group(server)
    first = bob.send(room_id, "one")
    mention(bob, room_id, "two", alice.user_id)
    assert counts(alice, room_id) == (2, 1)
    read(alice, room_id, first)
    assert counts(alice, room_id) == (1, 1)
    bob.send(room_id, "three")
    assert counts(alice, room_id) == (2, 1)
    # Ignoring the sender counts without their events, then with them again.
    alice.put(
        "/user/" + alice.user_id + "/account_data/m.ignored_user_list",
        {"ignored_users": {bob.user_id: {}}},
        expect=200,
    )
    assert counts(alice, room_id) == (0, 0)
    alice.put(
        "/user/" + alice.user_id + "/account_data/m.ignored_user_list",
        {"ignored_users": {}},
        expect=200,
    )
    bob.send(room_id, "four")
    assert counts(alice, room_id) == (3, 1)


def test_membership_events_are_evaluated_for_their_target_alone(
    server: TestServer,
) -> None:
    """As Synapse: a join or leave is evaluated for nobody else (no default
    rule notifies of one, and evaluating every member for every join made
    filling a big room quadratic); an invite or a kick for its target, by the
    target's own rules."""
    alice, bob, _carol, room_id = group(server)
    bob.put(
        "/pushrules/global/override/members",
        {
            "conditions": [
                {"kind": "event_match", "key": "type", "pattern": "m.room.member"}
            ],
            "actions": ["notify", {"set_tweak": "highlight"}],
        },
        expect=200,
    )
    server.user("dave").join(room_id)
    alice.invite(room_id, server.user("erin").user_id)
    assert counts(bob, room_id) == (0, 0)
    bob.leave(room_id)
    alice.invite(room_id, bob.user_id)
    bob.join(room_id)
    alice.membership(room_id, "kick", user_id=bob.user_id, expect=200)
    notified = bob.get("/notifications", expect=200).json["notifications"]
    assert [n["event"]["content"]["membership"] for n in notified] == [
        "leave",
        "invite",
    ]
    assert all(n["actions"] == ["notify", {"set_tweak": "highlight"}] for n in notified)
