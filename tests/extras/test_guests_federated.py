"""Guest access withdrawn by another server: a room on a.test with a guest
of a.test; bob of b.test, an admin of the room, sets m.room.guest_access to
forbidden; the change arrives over federation and a.test makes its guest
leave (spec, "Guest Access": the server MUST set its guests to leave)."""

from __future__ import annotations

from collections.abc import Callable

from tests.extras.guests import GUESTS_ON, register_guest
from tests.federation.pair import FederationPair


def test_remote_guest_access_change_makes_local_guests_leave(
    make_pair: Callable[..., FederationPair],
) -> None:
    pair = make_pair(overrides_a=GUESTS_ON)
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    room_id = alice.create_room(
        preset="public_chat",
        power_level_content_override={"users": {alice.user_id: 100, bob.user_id: 100}},
    )
    alice.put_state(room_id, "m.room.guest_access", {"guest_access": "can_join"})
    assert bob.join_via(room_id, "a.test").code == 200
    pair.pump(1)
    guest = register_guest(a)
    guest.post(f"/rooms/{room_id}/join", {}, expect=200)
    pair.pump(1)
    bob.put_state(room_id, "m.room.guest_access", {"guest_access": "forbidden"})
    pair.pump(1)
    pair.pump(1)
    member = alice.state(room_id, "m.room.member", guest.user_id)
    assert member["membership"] == "leave"
    # b.test sees the guest's leave too.
    pair.pump(1)
    on_b = bob.state(room_id, "m.room.member", guest.user_id)
    assert on_b["membership"] == "leave"
    assert alice.state(room_id, "m.room.member", alice.user_id)["membership"] == "join"
