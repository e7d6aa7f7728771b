"""Fixtures of the shipped plugins' tests (plugins/*): the plugins' source
directories on ``sys.path``, so a server loads them by module path from the
config (as ``plugins.load[].module``) without installing them; one test
(test_packaging.py) installs a plugin as its own distribution instead."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import User

PLUGINS_DIR = Path(__file__).resolve().parents[2] / "plugins"
SHIPPED = ("commandbot", "contentfilter", "pushgateway", "webhooknotifier")


@pytest.fixture(autouse=True)
def plugin_sources() -> Iterator[None]:
    """``plugins/<name>/src`` of every shipped plugin on ``sys.path``."""
    paths = [str(PLUGINS_DIR / name / "src") for name in SHIPPED]
    sys.path[:0] = paths
    importlib.invalidate_caches()
    yield
    for path in paths:
        sys.path.remove(path)


def plugin_overrides(name: str, cls: str, config: dict[str, Any]) -> dict[str, Any]:
    """Config overrides loading the shipped plugin ``name`` from its module."""
    entry = {"name": name, "module": f"chatly_{name}:{cls}", "config": config}
    return {"plugins": {"load": [entry]}, "metrics": {"enabled": True}}


def replies_to(user: User, room_id: str, event_id: str) -> list[dict[str, Any]]:
    """The messages of ``room_id`` (newest first, as /messages gives them)
    that reply to ``event_id``."""
    chunk = user.messages(room_id, expect=200, limit=100).json["chunk"]
    return [
        e
        for e in chunk
        if e["type"] == "m.room.message"
        and e["content"]
        .get("m.relates_to", {})
        .get("m.in_reply_to", {})
        .get("event_id")
        == event_id
    ]


def reply_body(user: User, room_id: str, event_id: str) -> str:
    """The body of the one reply to ``event_id``."""
    replies = replies_to(user, room_id, event_id)
    assert len(replies) == 1, replies
    return str(replies[0]["content"]["body"])
