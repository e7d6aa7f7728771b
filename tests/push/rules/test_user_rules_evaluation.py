"""A user's own rules and changes to the defaults drive the unread and
highlight counts in /sync: a keyword highlights, a silenced room counts
nothing, the master rule mutes everything, a disabled default no longer
fires, and a deleted rule stops applying."""

from __future__ import annotations

from tests.push.eval.helpers import counts, mention
from tests.support import TestServer, User

RULES = "/pushrules/global"
HIGHLIGHT = ["notify", {"set_tweak": "highlight"}]


def group(server: TestServer) -> tuple[User, User, str]:
    """alice and bob in a three-member room (carol too: no one-to-one rule)."""
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    carol.join(room_id)
    return alice, bob, room_id


def test_keyword_rule_highlights(server: TestServer) -> None:
    alice, bob, room_id = group(server)
    bob.send(room_id, "the deploy is done")
    assert counts(alice, room_id) == (1, 0)
    alice.put(
        f"{RULES}/content/deploy",
        {"pattern": "deploy", "actions": HIGHLIGHT},
        expect=200,
    )
    bob.send(room_id, "another Deploy started")
    bob.send(room_id, "redeployment is not a word match")
    assert counts(alice, room_id) == (3, 1)
    alice.delete(f"{RULES}/content/deploy", expect=200)
    bob.send(room_id, "deploy again")
    assert counts(alice, room_id) == (4, 1)


def test_room_rule_with_no_actions_silences_the_room(server: TestServer) -> None:
    alice, bob, room_id = group(server)
    alice.put(f"{RULES}/room/{room_id}", {"actions": []}, expect=200)
    bob.send(room_id, "quiet")
    assert counts(alice, room_id) == (0, 0)
    # A mention still highlights: the mention rules are override rules.
    mention(bob, room_id, "alice!", alice.user_id)
    assert counts(alice, room_id) == (1, 1)
    # Disabled, the room rule no longer applies.
    alice.put(f"{RULES}/room/{room_id}/enabled", {"enabled": False}, expect=200)
    bob.send(room_id, "loud")
    assert counts(alice, room_id) == (2, 1)


def test_legacy_actions_are_accepted_and_ignored(server: TestServer) -> None:
    """Older clients' ``dont_notify`` (no actions) and ``coalesce`` (no
    effect) through the API."""
    alice, bob, room_id = group(server)
    alice.put(f"{RULES}/room/{room_id}", {"actions": ["dont_notify"]}, expect=200)
    bob.send(room_id, "quiet")
    assert counts(alice, room_id) == (0, 0)
    alice.delete(f"{RULES}/room/{room_id}", expect=200)
    legacy = ["notify", "coalesce", {"set_tweak": "highlight", "value": False}]
    alice.put(f"{RULES}/sender/{bob.user_id}", {"actions": legacy}, expect=200)
    bob.send(room_id, "counted, not highlighted")
    assert counts(alice, room_id) == (1, 0)


def test_sender_rule_and_override_rule(server: TestServer) -> None:
    alice, bob, room_id = group(server)
    alice.put(f"{RULES}/sender/{bob.user_id}", {"actions": HIGHLIGHT}, expect=200)
    bob.send(room_id, "hi")
    assert counts(alice, room_id) == (1, 1)
    conditions = [{"kind": "event_match", "key": "content.body", "pattern": "spam*"}]
    alice.put(
        f"{RULES}/override/nospam",
        {"conditions": conditions, "actions": []},
        expect=200,
    )
    bob.send(room_id, "spam spam")
    assert counts(alice, room_id) == (1, 1)


def test_master_rule_mutes_everything(server: TestServer) -> None:
    alice, bob, room_id = group(server)
    alice.put(f"{RULES}/override/.m.rule.master/enabled", {"enabled": True}, expect=200)
    bob.send(room_id, "hello")
    mention(bob, room_id, "alice!", alice.user_id)
    assert counts(alice, room_id) == (0, 0)
    alice.put(
        f"{RULES}/override/.m.rule.master/enabled", {"enabled": False}, expect=200
    )
    bob.send(room_id, "hello again")
    assert counts(alice, room_id) == (1, 0)


def test_disabled_default_rule_no_longer_fires(server: TestServer) -> None:
    alice, bob, room_id = group(server)
    mentions = f"{RULES}/override/.m.rule.is_user_mention"
    alice.put(f"{mentions}/enabled", {"enabled": False}, expect=200)
    mention(bob, room_id, "hey", alice.user_id)
    # Only the plain message rule matched: a notification, no highlight.
    assert counts(alice, room_id) == (1, 0)
    alice.put(f"{mentions}/enabled", {"enabled": True}, expect=200)
    alice.put(f"{mentions}/actions", {"actions": ["notify"]}, expect=200)
    mention(bob, room_id, "hey", alice.user_id)
    assert counts(alice, room_id) == (2, 0)


def test_underride_default_actions_changed(server: TestServer) -> None:
    alice, bob, room_id = group(server)
    alice.put(f"{RULES}/underride/.m.rule.message/actions", {"actions": []}, expect=200)
    bob.send(room_id, "not counted")
    assert counts(alice, room_id) == (0, 0)
    # bob's rules are his own: alice's messages still count for him.
    alice.send(room_id, "counted for him")
    assert counts(bob, room_id) == (1, 0)
