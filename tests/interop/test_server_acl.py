"""Server ACLs with real peers: a second Synapse, named by the IPv6 loopback
literal ``[::1]:port`` so an ACL can tell it apart from everything on 127.0.0.1
(ACLs match server names without their port), is denied by an m.room.server_acl
set in our room; we then refuse its events while still accepting the others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.chatly import Chatly
from tests.interop.client import Client, HttpError, quote, register
from tests.interop.forge import Forger
from tests.interop.rooms import bodies, is_message, messages, room_joined_across
from tests.interop.synapse import Synapse
from tests.ports import free_port


@pytest.fixture(scope="module")
def synapse_v6(
    synapse_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Synapse]:
    """A second Synapse, named ``[::1]:port``."""
    server = Synapse(
        synapse_python,
        tmp_path_factory.mktemp("synapse_v6"),
        free_port(),
        free_port(),
        host="::1",
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_denied_server_is_refused_in_our_room(
    chatly: Chatly, synapse_v6: Synapse, alice: Client, bob: Client
) -> None:
    dave = register(synapse_v6.client_url, synapse_v6.shared_secret, "dave")
    room_id = room_joined_across(alice, chatly.server_name, bob)
    assert dave.join(room_id, via=[chatly.server_name]) == room_id
    alice.wait_for_membership(room_id, dave.user_id, "join")

    # Control: before the ACL, dave's messages arrive.
    before = dave.send(room_id, "dave before the ACL")
    alice.wait_for_event_id(room_id, before)

    acl = alice.set_state(
        room_id,
        "m.room.server_acl",
        {"allow": ["*"], "deny": ["[::1]"], "allow_ip_literals": True},
    )
    dave.wait_for_event_id(room_id, acl)
    bob.wait_for_event_id(room_id, acl)

    dave.send(room_id, "dave after the ACL")
    after = bob.send(room_id, "bob after the ACL")
    alice.wait_for_event_id(room_id, after)
    seen = bodies(messages(alice, room_id))
    assert "dave before the ACL" in seen
    assert "dave after the ACL" not in seen
    assert not alice.seen.find(room_id, is_message("dave after the ACL"))


def test_a_denied_server_gets_403_before_its_request_is_read(
    chatly: Chatly, synapse: Synapse, synapse_v6: Synapse, alice: Client
) -> None:
    """Requests signed with the denied Synapse's real key, each also wrong in
    another way (an unknown user or event, a bad body): 403 M_FORBIDDEN from
    the ACL, never the answer that would tell the server something. The
    allowed Synapse's key gets the ordinary answers (the control)."""
    room_id = alice.create_room(preset="public_chat")
    alice.set_state(
        room_id,
        "m.room.server_acl",
        {"allow": ["*"], "deny": ["[::1]"], "allow_ip_literals": True},
    )
    room = quote(room_id)
    requests = [
        ("PUT", f"/_matrix/federation/v2/invite/{room}/%24x", {"room_version": "10"}),
        ("POST", f"/_matrix/federation/v1/get_missing_events/{room}", {"limit": "x"}),
        ("GET", f"/_matrix/federation/v1/state_ids/{room}", None),
        ("GET", f"/_matrix/federation/v1/backfill/{room}?limit=5", None),
    ]
    denied = Forger(chatly, synapse_v6, alice, room_id)
    allowed = Forger(chatly, synapse, alice, room_id)
    for method, path, body in requests:
        with pytest.raises(HttpError) as control:
            allowed.federation(method, path, body)
        assert control.value.status in (400, 404), (path, control.value.body)
        with pytest.raises(HttpError) as refused:
            denied.federation(method, path, body)
        assert (refused.value.status, refused.value.errcode) == (403, "M_FORBIDDEN")
