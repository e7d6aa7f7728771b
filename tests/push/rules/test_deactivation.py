"""A deactivated account's push rules are deleted (as Synapse purges them
with the account data), by the client's /account/deactivate and by the admin
API alike; other users' rules stay."""

from __future__ import annotations

import pytest

from tests.api.helpers import PASSWORD, password_auth, uia_request
from tests.support import TestServer, User

RULES = "/pushrules/global"


def customise(user: User) -> None:
    """An own rule and a changed default rule."""
    user.put(
        f"{RULES}/content/lunch",
        {"pattern": "lunch", "actions": ["notify"]},
        expect=200,
    )
    user.put(f"{RULES}/override/.m.rule.master/enabled", {"enabled": True}, expect=200)


def deactivate(server: TestServer, user: User, by: str) -> None:
    if by == "client":
        resp = uia_request(
            server,
            "POST",
            "/_matrix/client/v3/account/deactivate",
            {},
            user.token,
            password_auth(user.user_id, PASSWORD),
        )
    else:
        root = server.register("root", admin=True)[1]
        resp = server.request(
            "POST", f"/_synapse/admin/v1/deactivate/{user.user_id}", {}, token=root
        )
    assert resp.code == 200, resp.json


@pytest.mark.parametrize("by", ["client", "admin"])
def test_deactivation_deletes_the_rules(server: TestServer, by: str) -> None:
    alice, bob = server.user("alice"), server.user("bob")
    customise(alice)
    customise(bob)
    bob_rules = bob.get("/pushrules/", expect=200).json
    rules = server.hs.push_eval.rules
    # Alice's rules are cached (the evaluator's view) before she goes.
    server.get_success(rules.rules_of([alice.user_id]))

    deactivate(server, alice, by)

    stored = server.get_success(rules.store.get_user_rules([alice.user_id, "@x:test"]))
    assert not stored[alice.user_id].own and not stored[alice.user_id].defaults
    # The cache was dropped: what evaluation reads now is the defaults.
    content = server.get_success(rules.rules_content(alice.user_id))["global"]
    assert [r["rule_id"] for r in content["content"]] == [".m.rule.contains_user_name"]
    assert content["override"][0]["enabled"] is False
    # Bob's are untouched.
    assert bob.get("/pushrules/", expect=200).json == bob_rules
