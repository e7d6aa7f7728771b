"""Events from other servers: not checked by chatly_check_event (documented in
docs/plugins.md, "Events"), but seen by chatly_on_new_event with local
false."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.federation.conftest import make_pair  # noqa: F401 - fixture
from tests.federation.pair import FederationPair
from tests.plugins.conftest import SAMPLE, plugins_config
from tests.support import bodies


def test_remote_events_reach_the_new_event_hook_unchecked(
    sample_site: Path,
    make_pair: Callable[..., FederationPair],  # noqa: F811 - fixture
) -> None:
    pair = make_pair(overrides_b=plugins_config(SAMPLE))
    alice = pair.a.user("alice")
    bob = pair.b.user("bob")
    room_id = bob.create_room(preset="public_chat")
    assert alice.join_via(room_id, "b.test").code == 200
    pair.pump(1)
    event_id = alice.send(room_id, "spam from afar")
    pair.pump(1)
    assert "spam from afar" in bodies(bob.timeline(room_id))
    plugin = pair.b.hs.plugins.objects["sample"]
    seen = {event["event_id"]: local for event, local in plugin.seen}
    assert seen[event_id] is False
    assert (room_id, alice.user_id, "join") in plugin.memberships
