"""matrix-nio: a display name and avatar change seen by another client.

alice changes her profile with nio's profile calls; bob's nio client, syncing,
sees the new member event in the room timeline and updates its room member
list (``MatrixRoom.user_name``), and /joined_members gives the new values.
"""

from __future__ import annotations

import asyncio

import nio
import pytest

from tests.e2e.conftest import RunningServer
from tests.e2e.nio_clients import registered_client

pytestmark = pytest.mark.integration


async def _story(server: RunningServer) -> None:
    alice = await registered_client(server, "alice")
    bob = await registered_client(server, "bob")
    try:
        created = await alice.room_create(name="Profiles", invite=[bob.user_id])
        assert isinstance(created, nio.RoomCreateResponse), created
        room_id = created.room_id
        await bob.sync(timeout=0)
        assert isinstance(await bob.join(room_id), nio.JoinResponse)
        first = await bob.sync(timeout=0)
        assert isinstance(first, nio.SyncResponse), first
        assert bob.rooms[room_id].user_name(alice.user_id) == "alice"

        named = await alice.set_displayname("Alice Liddell")
        assert isinstance(named, nio.ProfileSetDisplayNameResponse), named
        face = await alice.set_avatar("mxc://localhost/alice")
        assert isinstance(face, nio.ProfileSetAvatarResponse), face

        later = await bob.sync(timeout=5_000, since=first.next_batch)
        assert isinstance(later, nio.SyncResponse), later
        changes = [
            e
            for e in later.rooms.join[room_id].timeline.events
            if isinstance(e, nio.RoomMemberEvent) and e.state_key == alice.user_id
        ]
        assert changes, "bob's sync should carry alice's new member event"
        # Not a resend of the room: only the member events came.
        assert len(later.rooms.join[room_id].timeline.events) == len(changes)
        if len(changes) < 2:
            await bob.sync(timeout=5_000)
        assert bob.rooms[room_id].user_name(alice.user_id) == "Alice Liddell"
        assert bob.rooms[room_id].avatar_url(alice.user_id) == "mxc://localhost/alice"

        members = await bob.joined_members(room_id)
        assert isinstance(members, nio.JoinedMembersResponse), members
        found = {m.user_id: m for m in members.members}
        assert found[alice.user_id].display_name == "Alice Liddell"
        assert found[alice.user_id].avatar_url == "mxc://localhost/alice"
        profile = await bob.get_profile(alice.user_id)
        assert isinstance(profile, nio.ProfileGetResponse), profile
        assert profile.displayname == "Alice Liddell"
    finally:
        await alice.close()
        await bob.close()


def test_profile_change_seen_by_another_client(running_server: RunningServer) -> None:
    asyncio.run(_story(running_server))
