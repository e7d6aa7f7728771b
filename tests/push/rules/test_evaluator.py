"""The push rule evaluator against the spec's examples and tricky cases."""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.services.push.rules.actions import highlights, notifies, tweaks
from homeserver.services.push.rules.defaults import default_rules, merged_rules
from homeserver.services.push.rules.evaluator import (
    CompiledRules,
    EventEvaluator,
    RoomContext,
    compile_rules,
)
from homeserver.services.push.rules.model import PushRule

ALICE = "@alice:example.org"
BOB = "@bob:example.org"
ROOM = "!room:example.org"


def _rules(*own: PushRule, overrides: Any = None) -> CompiledRules:
    return compile_rules(merged_rules(ALICE, own, overrides or {}))


def _room(members: int = 5, power: int = 0, room_level: int = 50) -> RoomContext:
    return RoomContext(
        member_count=members,
        sender_power_level=power,
        notification_power_levels={"room": room_level},
    )


def _msg(body: str, **content: Any) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "sender": BOB,
        "room_id": ROOM,
        "event_id": "$e",
        "content": {"msgtype": "m.text", "body": body, **content},
    }


def _rule_id(event: dict[str, Any], room: RoomContext | None = None, **kw: Any) -> str:
    rules = kw.pop("rules", None) or _rules()
    ev = EventEvaluator(event, room or _room())
    found = ev.matching_rule(rules, display_name=kw.get("display_name", "Alice A"))
    return found.rule_id if found else ""


def _actions(event: dict[str, Any], room: RoomContext | None = None, **kw: Any) -> Any:
    rules = kw.pop("rules", None) or _rules()
    return EventEvaluator(event, room or _room()).actions_for(
        rules, user_id=kw.get("user_id", ALICE), display_name="Alice A"
    )


def test_default_rule_order() -> None:
    ids = [(r.kind, r.rule_id) for r in default_rules(ALICE)]
    assert ids == [
        ("override", ".m.rule.master"),
        ("override", ".m.rule.suppress_notices"),
        ("override", ".m.rule.invite_for_me"),
        ("override", ".m.rule.member_event"),
        ("override", ".m.rule.is_user_mention"),
        ("override", ".m.rule.contains_display_name"),
        ("override", ".m.rule.is_room_mention"),
        ("override", ".m.rule.roomnotif"),
        ("override", ".m.rule.tombstone"),
        ("override", ".m.rule.reaction"),
        ("override", ".m.rule.room.server_acl"),
        ("override", ".m.rule.suppress_edits"),
        ("content", ".m.rule.contains_user_name"),
        ("underride", ".m.rule.call"),
        ("underride", ".m.rule.encrypted_room_one_to_one"),
        ("underride", ".m.rule.room_one_to_one"),
        ("underride", ".m.rule.message"),
        ("underride", ".m.rule.encrypted"),
    ]
    master = default_rules(ALICE)[0]
    assert master.to_json() == {
        "rule_id": ".m.rule.master",
        "default": True,
        "enabled": False,
        "conditions": [],
        "actions": [],
    }


def _override(conditions: list[dict[str, Any]], rule_id: str = "r") -> PushRule:
    return PushRule(
        kind="override",
        rule_id=rule_id,
        actions=("notify",),
        conditions=tuple(conditions),
    )


def _matches(condition: dict[str, Any], event: dict[str, Any], **room: Any) -> bool:
    rules = compile_rules([_override([condition])])
    ev = EventEvaluator(event, _room(**room))
    return ev.matching_rule(rules, display_name="Alice A") is not None


def _topic(topic: Any) -> dict[str, Any]:
    return {
        "type": "m.room.topic",
        "state_key": "",
        "sender": BOB,
        "content": {"topic": topic},
    }


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("Lunch plans", True),
        ("LUNCH", True),
        (" lunch", False),
        ("lunc", False),
        (None, False),
    ],
)
def test_spec_event_match_example(topic: Any, expected: bool) -> None:
    cond = {"kind": "event_match", "key": "content.topic", "pattern": "lunc?*"}
    assert _matches(cond, _topic(topic)) is expected


def test_event_match_absent_key_does_not_match_star() -> None:
    cond = {"kind": "event_match", "key": "content.nope", "pattern": "*"}
    assert not _matches(cond, _topic("x"))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("An example event.", True),
        ("exple", True),
        ("An exciting triple-whammy", True),
        ("examples", False),
        ("anexample", False),
        ("EXAMPLE!", True),
        ("ex_plex", False),
        ("multi\nline example", True),
    ],
)
def test_spec_body_word_boundary_example(body: str, expected: bool) -> None:
    cond = {"kind": "event_match", "key": "content.body", "pattern": "ex*ple"}
    assert _matches(cond, _msg(body)) is expected


@pytest.mark.parametrize(
    ("value", "expected"), [(True, True), ("true", False), (1, False), (None, False)]
)
def test_spec_event_property_is_example(value: Any, expected: bool) -> None:
    event = {
        "type": "m.room.create",
        "state_key": "",
        "sender": BOB,
        "content": {"m.federate": value},
    }
    cond = {"kind": "event_property_is", "key": "content.m\\.federate", "value": True}
    assert _matches(cond, event) is expected


@pytest.mark.parametrize(
    ("aliases", "expected"),
    [
        (["#somewhere:example.org", "#myroom:example.com"], True),
        ([":example.com"], False),
        ("#myroom:example.com", False),
        ([["#myroom:example.com"]], False),
    ],
)
def test_spec_event_property_contains_example(aliases: Any, expected: bool) -> None:
    event = {
        "type": "m.room.canonical_alias",
        "state_key": "",
        "sender": BOB,
        "content": {"alt_aliases": aliases},
    }
    cond = {
        "kind": "event_property_contains",
        "key": "content.alt_aliases",
        "value": "#myroom:example.com",
    }
    assert _matches(cond, event) is expected


def test_escaped_backslash_in_key() -> None:
    event = _msg("x", **{"m\\foo": "bar"})
    cond = {"kind": "event_property_is", "key": "content.m\\\\foo", "value": "bar"}
    assert _matches(cond, event)


@pytest.mark.parametrize(
    ("expr", "count", "expected"),
    [
        ("2", 2, True),
        ("2", 3, False),
        ("==2", 2, True),
        ("<10", 9, True),
        ("<10", 10, False),
        ("<=10", 10, True),
        (">2", 3, True),
        (">2", 2, False),
        (">=2", 2, True),
        ("=>2", 2, False),
        ("x", 2, False),
    ],
)
def test_room_member_count(expr: str, count: int, expected: bool) -> None:
    cond = {"kind": "room_member_count", "is": expr}
    assert _matches(cond, _msg("hi"), members=count) is expected


def test_unknown_condition_never_matches() -> None:
    assert not _matches({"kind": "org.example.unknown"}, _msg("hi"))


def test_mention_highlights() -> None:
    event = _msg("hey", **{"m.mentions": {"user_ids": [ALICE]}})
    assert _rule_id(event) == ".m.rule.is_user_mention"
    actions = _actions(event)
    assert notifies(actions) and highlights(actions)
    assert tweaks(actions) == {"sound": "default", "highlight": True}


def test_mentions_disable_legacy_display_name_rule() -> None:
    assert _rule_id(_msg("hello Alice A!")) == ".m.rule.contains_display_name"
    # m.mentions present (even empty): the legacy body rules do not apply.
    event = _msg("hello Alice A!", **{"m.mentions": {}})
    assert _rule_id(event) == ".m.rule.message"
    assert not highlights(_actions(event))


def test_legacy_user_name_rule_and_word_boundaries() -> None:
    assert _rule_id(_msg("ping alice: look")) == ".m.rule.contains_user_name"
    assert _rule_id(_msg("malice aforethought")) == ".m.rule.message"
    assert _rule_id(_msg("ping alice", **{"m.mentions": {"user_ids": []}})) == (
        ".m.rule.message"
    )


def test_display_name_word_boundary() -> None:
    assert _rule_id(_msg("Allyson"), display_name="Ally") == ".m.rule.message"
    assert _rule_id(_msg("hi ALLY."), display_name="Ally") == (
        ".m.rule.contains_display_name"
    )
    assert _rule_id(_msg("hi ALLY."), display_name=None) == ".m.rule.message"


@pytest.mark.parametrize(
    ("power", "room_level", "expected"),
    [
        (50, 50, ".m.rule.is_room_mention"),
        (0, 50, ".m.rule.message"),
        (10, 10, ".m.rule.is_room_mention"),
    ],
)
def test_room_mention_needs_power(power: int, room_level: int, expected: str) -> None:
    event = _msg("all", **{"m.mentions": {"room": True}})
    assert _rule_id(event, _room(power=power, room_level=room_level)) == expected


@pytest.mark.parametrize(
    ("power", "expected"), [(100, ".m.rule.roomnotif"), (0, ".m.rule.message")]
)
def test_legacy_at_room_needs_power(power: int, expected: str) -> None:
    assert _rule_id(_msg("@room wake up"), _room(power=power)) == expected


def test_legacy_at_room_ignored_with_mentions() -> None:
    event = _msg("@room wake up", **{"m.mentions": {}})
    assert _rule_id(event, _room(power=100)) == ".m.rule.message"


def test_edits_suppressed() -> None:
    event = _msg(
        "* fixed",
        **{
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$x"},
            "m.new_content": {"body": "fixed"},
        },
    )
    assert _rule_id(event) == ".m.rule.suppress_edits"
    assert _actions(event) == []


def test_notices_suppressed() -> None:
    event = _msg("bot says", msgtype="m.notice")
    assert _actions(event) == []


def test_encrypted_one_to_one_and_group() -> None:
    event = {
        "type": "m.room.encrypted",
        "sender": BOB,
        "room_id": ROOM,
        "content": {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "x"},
    }
    assert _rule_id(event, _room(members=2)) == ".m.rule.encrypted_room_one_to_one"
    assert tweaks(_actions(event, _room(members=2))) == {"sound": "default"}
    assert _rule_id(event, _room(members=3)) == ".m.rule.encrypted"
    assert _actions(event, _room(members=3)) == ["notify"]


def test_one_to_one_message_dings() -> None:
    assert _rule_id(_msg("hi"), _room(members=2)) == ".m.rule.room_one_to_one"


def test_invite_for_me() -> None:
    event = {
        "type": "m.room.member",
        "state_key": ALICE,
        "sender": BOB,
        "content": {"membership": "invite"},
    }
    assert _rule_id(event) == ".m.rule.invite_for_me"
    other = dict(event, state_key="@carol:example.org")
    assert _rule_id(other) == ".m.rule.member_event"


def test_tombstone_needs_state_key() -> None:
    event = {
        "type": "m.room.tombstone",
        "state_key": "",
        "sender": BOB,
        "content": {"body": "moved", "replacement_room": "!n:x"},
    }
    assert highlights(_actions(event))
    no_state = {k: v for k, v in event.items() if k != "state_key"}
    assert _actions(no_state) == []


def test_reaction_and_acl_silent() -> None:
    assert _actions({"type": "m.reaction", "sender": BOB, "content": {}}) == []
    acl = {"type": "m.room.server_acl", "state_key": "", "sender": BOB, "content": {}}
    assert _actions(acl) == []


def test_call_rings() -> None:
    event = {"type": "m.call.invite", "sender": BOB, "content": {}}
    assert tweaks(_actions(event)) == {"sound": "ring"}


def test_own_events_never_notify() -> None:
    event = _msg("hi", **{"m.mentions": {"user_ids": [ALICE]}})
    assert _actions(event, user_id=BOB) == []
    assert _actions(dict(event, sender=ALICE)) == []


def test_master_rule_enabled_silences_everything() -> None:
    rules = _rules(overrides={("override", ".m.rule.master"): (True, None)})
    event = _msg("hi", **{"m.mentions": {"user_ids": [ALICE]}})
    assert _actions(event, rules=rules) == []


def test_disabled_default_and_changed_actions() -> None:
    rules = _rules(
        overrides={
            ("underride", ".m.rule.message"): (
                None,
                ["notify", {"set_tweak": "sound", "value": "x"}],
            ),
            ("override", ".m.rule.suppress_notices"): (False, None),
        }
    )
    assert tweaks(_actions(_msg("hi"), rules=rules)) == {"sound": "x"}
    assert _actions(_msg("bot", msgtype="m.notice"), rules=rules) != []


def test_user_rules_before_defaults_and_legacy_actions() -> None:
    room_rule = PushRule(kind="room", rule_id=ROOM, actions=("dont_notify",))
    assert _actions(_msg("hi"), rules=_rules(room_rule)) == []
    sender = PushRule(kind="sender", rule_id=BOB, actions=("notify", "coalesce"))
    rules = _rules(sender)
    assert _actions(_msg("hi", msgtype="m.notice"), rules=rules) == []  # override first
    assert _actions(_msg("hi"), rules=rules) == ["notify"]


@pytest.mark.parametrize(
    ("pattern", "body", "expected"),
    [
        ("cake", "I like cake.", True),
        ("cake", "cakes", False),
        ("cake*lie", "the cake is a lie", True),
        ("cake*lie", "cake is a lier", False),
        ("c?ke", "CAKE", True),
        ("*", "", True),
        ("a.b", "axb", False),
        ("[a]", "[a]", True),
        ("caf\u00e9", "un CAF\u00c9 noir", True),
    ],
)
def test_content_rule_globs(pattern: str, body: str, expected: bool) -> None:
    rule = PushRule(
        kind="content",
        rule_id="c",
        actions=("notify", {"set_tweak": "sound", "value": "cakealarm.wav"}),
        pattern=pattern,
    )
    got = _rule_id(_msg(body), rules=_rules(rule))
    assert (got == "c") is expected


def test_spec_override_example_beer() -> None:
    rule = _override(
        [
            {"kind": "event_match", "key": "content.body", "pattern": "beer"},
            {"kind": "room_member_count", "is": "<=10"},
        ],
        rule_id="U2VlIHlvdSBpbiBUaGUgRHVrZQ",
    )
    rules = _rules(rule)
    assert (
        _rule_id(_msg("beer o'clock"), _room(members=10), rules=rules) == rule.rule_id
    )
    assert _rule_id(_msg("beer o'clock"), _room(members=11), rules=rules) == (
        ".m.rule.message"
    )


def test_evaluator_shared_across_members() -> None:
    event = _msg("hi", **{"m.mentions": {"user_ids": ["@u1:x"]}})
    ev = EventEvaluator(event, _room())
    per_user = {u: compile_rules(merged_rules(u, (), {})) for u in ("@u1:x", "@u2:x")}
    assert highlights(
        ev.actions_for(per_user["@u1:x"], user_id="@u1:x", display_name=None)
    )
    got = ev.actions_for(per_user["@u2:x"], user_id="@u2:x", display_name=None)
    assert got == ["notify"]


def _rule(rules: CompiledRules, rule_id: str) -> Any:
    return next(r for r in rules.rules if r.rule_id == rule_id)


def test_members_share_the_default_rules_results_but_not_their_own() -> None:
    """One evaluator for a room's members: a default rule's conditions are
    one numbered set for everyone (evaluated once per event), while each
    member's user name rule is a set of its own and the display name rule
    is evaluated per member."""
    users = ("@u1:x", "@u2:x", "@u3:x")
    per_user = {u: compile_rules(merged_rules(u, (), {})) for u in users}
    message = {_rule(per_user[u], ".m.rule.message").condition_set for u in users}
    assert len(message) == 1 and None not in message
    own = {
        _rule(per_user[u], ".m.rule.contains_user_name").condition_set for u in users
    }
    assert len(own) == 3
    assert (
        _rule(per_user["@u1:x"], ".m.rule.contains_display_name").condition_set is None
    )
    ev = EventEvaluator(_msg("ping u2 and Carol"), _room(members=3))
    got = {
        u: ev.actions_for(per_user[u], user_id=u, display_name=name)
        for u, name in zip(users, ("Dave", None, "Carol"), strict=True)
    }
    assert notifies(got["@u1:x"]) and not highlights(got["@u1:x"])
    assert highlights(got["@u2:x"]) and highlights(got["@u3:x"])
    # The shared results do not leak into another event's evaluator.
    ev = EventEvaluator(_msg("nothing here"), _room(members=3))
    assert not highlights(
        ev.actions_for(per_user["@u2:x"], user_id="@u2:x", display_name=None)
    )
