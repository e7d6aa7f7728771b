"""An asynchronous upload interrupted by a crash does not keep its media ID
claimed for good (docs/media.md, "Limits and bad input")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.media.helpers import CLIENT_MEDIA, MEDIA, media_id
from tests.support.server import TestServer


def test_a_claim_left_by_a_dead_process_is_released_at_start_up(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    before = make_server()
    alice = before.user("alice")
    created = alice.post("/_matrix/media/v1/create", {}, expect=200).json
    mid = media_id(created["content_uri"])
    # What PUT /upload does before it writes the file; the process then dies.
    store = before.hs.media.repository.store
    assert before.get_success(store.claim_upload(mid, before.hs.core.clock.time_msec()))
    alice.put(f"{MEDIA}/upload/test/{mid}", b"late", expect=409)

    after = TestServer(before.db.engine, {}, tmp_path)
    alice = alice.on(after)
    alice.put(f"{MEDIA}/upload/test/{mid}", b"retried", expect=200)
    assert alice.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200).body == (
        b"retried"
    )
