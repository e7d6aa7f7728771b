"""Helpers for the search tests."""

from __future__ import annotations

from typing import Any

from tests.support import FakeResponse, TestServer, User


def search(
    user: User,
    term: str,
    *,
    expect: int | None = 200,
    next_batch: str | None = None,
    version: str = "v3",
    **criteria: Any,
) -> FakeResponse:
    """POST /search over room_events with ``criteria``."""
    path = f"/_matrix/client/{version}/search"
    if next_batch is not None:
        path += f"?next_batch={next_batch}"
    body = {"search_categories": {"room_events": {"search_term": term, **criteria}}}
    return user.post(path, body, expect=expect)


def room_events(resp: FakeResponse) -> Any:
    return resp.json["search_categories"]["room_events"]


def result_bodies(resp: FakeResponse) -> list[str]:
    """The ``content.body`` of each result, in order."""
    return [r["result"]["content"].get("body") for r in room_events(resp)["results"]]


def indexed(server: TestServer, event_id: str) -> bool:
    """Whether the search index holds ``event_id`` (looked up in the table)."""
    rows = server.get_success(
        server.db.run_interaction(
            "test_indexed",
            lambda txn: txn.query(
                "SELECT event_id FROM event_search WHERE event_id = ?", (event_id,)
            ),
        )
    )
    return bool(rows)
