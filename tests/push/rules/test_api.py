"""The /pushrules/ API through HTTP: reading the defaults, adding, ordering
(before/after), replacing and deleting a user's rules, enabling and actions
of default and own rules, and the errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import TestServer, User

RULES = "/pushrules/global"
HIGHLIGHT = ["notify", {"set_tweak": "highlight"}]


def ids(user: User, kind: str) -> list[str]:
    """The rule IDs of a kind, in evaluation order."""
    return [r["rule_id"] for r in user.get(f"{RULES}/", expect=200).json[kind]]


def add_content(user: User, rule_id: str, **query: Any) -> None:
    path = f"{RULES}/content/{rule_id}"
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    user.put(path, {"pattern": rule_id, "actions": ["notify"]}, expect=200)


def test_defaults_in_every_shape(server: TestServer) -> None:
    alice = server.user("alice")
    everything = alice.get("/pushrules/", expect=200).json
    ruleset = everything["global"]
    assert set(ruleset) == {"override", "content", "room", "sender", "underride"}
    assert ruleset["override"][0]["rule_id"] == ".m.rule.master"
    assert ruleset["override"][0]["enabled"] is False
    assert ruleset["content"][0] == {
        "rule_id": ".m.rule.contains_user_name",
        "default": True,
        "enabled": True,
        "actions": [
            "notify",
            {"set_tweak": "sound", "value": "default"},
            {"set_tweak": "highlight"},
        ],
        "pattern": "alice",
    }
    assert alice.get(f"{RULES}/", expect=200).json == ruleset
    # One kind's rules, as Synapse serves them (a JSON array, in order).
    for kind, rules in ruleset.items():
        assert alice.get(f"{RULES}/{kind}/", expect=200).json == rules
    master = alice.get(f"{RULES}/override/.m.rule.master", expect=200).json
    assert master == {
        "rule_id": ".m.rule.master",
        "default": True,
        "enabled": False,
        "actions": [],
        "conditions": [],
    }
    # The legacy r0 prefix serves it too.
    r0 = alice.get("/_matrix/client/r0/pushrules/", expect=200).json
    assert r0 == everything


def test_add_get_replace_delete_own_rule(server: TestServer) -> None:
    alice = server.user("alice")
    path = f"{RULES}/override/my.rule"
    conditions = [{"kind": "event_match", "key": "content.body", "pattern": "x*"}]
    alice.put(path, {"conditions": conditions, "actions": HIGHLIGHT}, expect=200)
    rule = alice.get(path, expect=200).json
    assert rule == {
        "rule_id": "my.rule",
        "default": False,
        "enabled": True,
        "actions": HIGHLIGHT,
        "conditions": conditions,
    }
    # A user's override rules come after the master rule, before the defaults.
    assert ids(alice, "override")[:3] == [
        ".m.rule.master",
        "my.rule",
        ".m.rule.suppress_notices",
    ]
    alice.put(f"{path}/enabled", {"enabled": False}, expect=200)
    alice.put(path, {"conditions": [], "actions": []}, expect=200)
    replaced = alice.get(path, expect=200).json
    # Replacing keeps the enabled flag.
    assert (replaced["enabled"], replaced["actions"], replaced["conditions"]) == (
        False,
        [],
        [],
    )
    alice.delete(path, expect=200)
    alice.get(path, expect=404)
    assert alice.delete(path, expect=404).json["errcode"] == "M_NOT_FOUND"
    # Others never see alice's rules.
    assert "my.rule" not in ids(server.user("bob"), "override")


def test_room_and_sender_rules(server: TestServer) -> None:
    alice = server.user("alice")
    alice.put(f"{RULES}/room/!r:test", {"actions": []}, expect=200)
    alice.put(f"{RULES}/sender/@bob:test", {"actions": ["notify"]}, expect=200)
    room = alice.get(f"{RULES}/room/!r:test", expect=200).json
    assert room == {
        "rule_id": "!r:test",
        "default": False,
        "enabled": True,
        "actions": [],
    }
    assert ids(alice, "sender") == ["@bob:test"]


def test_ordering_with_before_and_after(server: TestServer) -> None:
    alice = server.user("alice")
    add_content(alice, "one")
    # Without before/after a new rule comes first of its kind.
    add_content(alice, "two")
    assert ids(alice, "content") == ["two", "one", ".m.rule.contains_user_name"]
    add_content(alice, "three", after="two")
    assert ids(alice, "content")[:3] == ["two", "three", "one"]
    add_content(alice, "four", before="one")
    assert ids(alice, "content")[:4] == ["two", "three", "four", "one"]
    add_content(alice, "five", before="two")
    assert ids(alice, "content")[:5] == ["five", "two", "three", "four", "one"]
    # Moving an existing rule.
    add_content(alice, "five", after="one")
    assert ids(alice, "content")[:5] == ["two", "three", "four", "one", "five"]
    # Replacing without before/after keeps its place.
    add_content(alice, "three")
    assert ids(alice, "content")[:5] == ["two", "three", "four", "one", "five"]
    # An empty before is no before.
    add_content(alice, "zero", before="")
    assert ids(alice, "content")[0] == "zero"
    alice.delete(f"{RULES}/content/zero", expect=200)
    # An unknown anchor, or a default rule as anchor: 400, nothing written.
    path = f"{RULES}/content/six?before=nope"
    resp = alice.put(path, {"pattern": "six", "actions": []}, expect=400)
    assert resp.json["errcode"] == "M_INVALID_PARAM"
    assert "nope" in resp.json["error"]
    path = f"{RULES}/content/six?after=.m.rule.contains_user_name"
    alice.put(path, {"pattern": "six", "actions": []}, expect=400)
    assert "six" not in ids(alice, "content")


def test_default_rules_enabled_and_actions(server: TestServer) -> None:
    alice = server.user("alice")
    path = f"{RULES}/override/.m.rule.master"
    assert alice.get(f"{path}/enabled", expect=200).json == {"enabled": False}
    alice.put(f"{path}/enabled", {"enabled": True}, expect=200)
    assert alice.get(f"{path}/enabled", expect=200).json == {"enabled": True}
    notices = f"{RULES}/override/.m.rule.suppress_notices"
    alice.put(f"{notices}/actions", {"actions": ["notify"]}, expect=200)
    assert alice.get(f"{notices}/actions", expect=200).json == {"actions": ["notify"]}
    rule = alice.get(notices, expect=200).json
    assert (rule["default"], rule["actions"]) == (True, ["notify"])
    # Setting actions left the enabled flag alone, and the other way round.
    assert rule["enabled"] is True
    assert alice.get(path, expect=200).json["actions"] == []
    # Bob's defaults are untouched.
    bob = server.user("bob")
    assert bob.get(f"{path}/enabled", expect=200).json == {"enabled": False}


def test_default_rules_cannot_be_created_or_deleted(server: TestServer) -> None:
    alice = server.user("alice")
    resp = alice.put(
        f"{RULES}/override/.m.rule.mine", {"conditions": [], "actions": []}, expect=400
    )
    assert resp.json["errcode"] == "M_INVALID_PARAM"
    alice.put(
        f"{RULES}/override/.m.rule.master",
        {"conditions": [], "actions": []},
        expect=400,
    )
    # Deleting a default rule: 404 M_NOT_FOUND, as Synapse answers; it stays.
    resp = alice.delete(f"{RULES}/override/.m.rule.master", expect=404)
    assert resp.json["errcode"] == "M_NOT_FOUND"
    assert "disabled" in resp.json["error"]
    resp = alice.delete(f"{RULES}/underride/.m.rule.call", expect=404)
    assert resp.json["errcode"] == "M_NOT_FOUND"
    assert ids(alice, "override")[0] == ".m.rule.master"
    assert ".m.rule.call" in ids(alice, "underride")
    alice.delete(f"{RULES}/override/.m.rule.nothing", expect=404)


@pytest.mark.parametrize(
    ("path", "body", "errcode", "words"),
    [
        (f"{RULES}/override/r", {"actions": []}, "M_BAD_JSON", "conditions"),
        (
            f"{RULES}/override/r",
            {"conditions": "x", "actions": []},
            "M_BAD_JSON",
            "conditions",
        ),
        (
            f"{RULES}/override/r",
            {"conditions": [{"key": "a"}], "actions": []},
            "M_BAD_JSON",
            "kind",
        ),
        (f"{RULES}/content/r", {"actions": []}, "M_BAD_JSON", "pattern"),
        (f"{RULES}/content/r", {"pattern": 3, "actions": []}, "M_BAD_JSON", "pattern"),
        (f"{RULES}/room/!r:test", {}, "M_BAD_JSON", "actions"),
        (f"{RULES}/room/!r:test", {"actions": ["wobble"]}, "M_BAD_JSON", "wobble"),
        (f"{RULES}/room/!r:test", {"actions": "notify"}, "M_BAD_JSON", "actions"),
        (
            f"{RULES}/room/!r:test",
            {"actions": [{"value": 1}]},
            "M_BAD_JSON",
            "set_tweak",
        ),
        (f"{RULES}/weird/r", {"actions": []}, "M_INVALID_PARAM", "weird"),
        ("/pushrules/device/room/!r:test", {"actions": []}, "M_INVALID_PARAM", "scope"),
        (f"{RULES}/room/a%2Fb", {"actions": []}, "M_INVALID_PARAM", "slash"),
        (
            f"{RULES}/override/.m.rule.master/enabled",
            {"enabled": "yes"},
            "M_BAD_JSON",
            "enabled",
        ),
        (
            f"{RULES}/override/.m.rule.master/actions",
            {"actions": 1},
            "M_BAD_JSON",
            "actions",
        ),
        (f"{RULES}/override/.m.rule.master/pattern", {}, "M_INVALID_PARAM", "pattern"),
    ],
)
def test_bad_requests(
    server: TestServer, path: str, body: Any, errcode: str, words: str
) -> None:
    alice = server.user("alice")
    before = alice.get("/pushrules/", expect=200).json
    resp = alice.put(path, body, expect=400)
    assert resp.json["errcode"] == errcode
    assert words in resp.json["error"]
    assert alice.get("/pushrules/", expect=200).json == before


def test_unknown_rules_and_scopes(server: TestServer) -> None:
    alice = server.user("alice")
    for path in (
        f"{RULES}/override/nope",
        f"{RULES}/override/nope/enabled",
        f"{RULES}/content/.m.rule.master",
    ):
        assert alice.get(path, expect=404).json["errcode"] == "M_NOT_FOUND"
    alice.put(f"{RULES}/room/nope/enabled", {"enabled": True}, expect=404)
    alice.put(f"{RULES}/room/nope/actions", {"actions": []}, expect=404)
    for path in (
        "/pushrules/device/",
        "/pushrules/device/room/",
        "/pushrules/device/room/!r:test",
        f"{RULES}/weird/",
        f"{RULES}/weird/r",
    ):
        resp = alice.get(path, expect=400)
        assert resp.json["errcode"] == "M_INVALID_PARAM"
        assert "device" in resp.json["error"] or "weird" in resp.json["error"]
    server.request("GET", "/_matrix/client/v3/pushrules/")
    assert server.request("GET", "/_matrix/client/v3/pushrules/").code == 401
