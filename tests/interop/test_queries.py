"""Our key ring and queries against Synapse, and Synapse's queries against us."""

from __future__ import annotations

from tests.interop.client import Client, quote


def test_profiles_across(alice: Client, bob: Client) -> None:
    """Each server answers the other's query/profile (a signed request whose
    X-Matrix header the receiver checks with keys fetched from the sender)."""
    alice.call(
        "PUT",
        f"/profile/{quote(alice.user_id)}/displayname",
        {"displayname": "Alice Here"},
    )
    bob.call(
        "PUT",
        f"/profile/{quote(bob.user_id)}/displayname",
        {"displayname": "Bob There"},
    )
    assert (
        bob.call("GET", f"/profile/{quote(alice.user_id)}")["displayname"]
        == "Alice Here"
    )
    assert (
        alice.call("GET", f"/profile/{quote(bob.user_id)}")["displayname"]
        == "Bob There"
    )
