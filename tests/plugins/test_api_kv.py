"""The facade's per-plugin key-value store (table plugin_kv, migration 0026)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from homeserver.plugins.api import KvEntry
from tests.plugins.api_kit import facade, reminder_config, run
from tests.support.server import TestServer


def test_set_get_replace_and_delete(server: TestServer) -> None:
    api = facade(server)
    assert run(server, api.kv_get("k")) is None
    assert run(server, api.kv_get("k", "fallback")) == "fallback"
    run(server, api.kv_set("k", {"a": [1, 2.5, "x", True, None]}))
    assert run(server, api.kv_get("k")) == {"a": [1, 2.5, "x", True, None]}
    run(server, api.kv_set("k", "replaced"))
    assert run(server, api.kv_get("k")) == "replaced"
    assert run(server, api.kv_delete("k")) is True
    assert run(server, api.kv_delete("k")) is False
    assert run(server, api.kv_get("k", 7)) == 7


def test_a_stored_null_is_not_a_missing_key(server: TestServer) -> None:
    api = facade(server)
    run(server, api.kv_set("nothing", None))
    assert run(server, api.kv_get("nothing", "default")) is None


def test_list_by_prefix_is_literal_case_sensitive_and_ordered(
    server: TestServer,
) -> None:
    api = facade(server)
    for key in ("a/2", "a/1", "A/3", "a_x", "a%y", "b/1", "a/10"):
        run(server, api.kv_set(key, key.upper()))
    assert run(server, api.kv_list("a/")) == [
        KvEntry("a/1", "A/1"),
        KvEntry("a/10", "A/10"),
        KvEntry("a/2", "A/2"),
    ]
    # "_" and "%" are not wildcards.
    assert [e.key for e in run(server, api.kv_list("a_"))] == ["a_x"]
    assert [e.key for e in run(server, api.kv_list("a%"))] == ["a%y"]
    assert len(run(server, api.kv_list())) == 7
    assert [e.key for e in run(server, api.kv_list("a/", limit=2))] == ["a/1", "a/10"]


def test_each_plugin_sees_only_its_own_keys(server: TestServer) -> None:
    one, two = facade(server, "one"), facade(server, "two")
    run(server, one.kv_set("shared", 1))
    run(server, two.kv_set("shared", 2))
    assert run(server, one.kv_get("shared")) == 1
    assert run(server, two.kv_get("shared")) == 2
    run(server, one.kv_delete("shared"))
    assert run(server, two.kv_list()) == [KvEntry("shared", 2)]


@pytest.mark.parametrize("value", [float("nan"), {1, 2}, object(), {"x": b"bytes"}])
def test_values_that_are_not_json_are_refused(
    server: TestServer, value: object
) -> None:
    api = facade(server)
    with pytest.raises(ValueError, match="not JSON"):
        run(server, api.kv_set("bad", value))
    assert run(server, api.kv_get("bad", "absent")) == "absent"


def test_unicode_keys_and_values(server: TestServer) -> None:
    api = facade(server)
    run(server, api.kv_set("café/ü", {"text": "héllo \u2603"}))
    assert run(server, api.kv_list("café/")) == [
        KvEntry("café/ü", {"text": "héllo \u2603"})
    ]


def test_values_persist_across_a_restart(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    before = make_server(reminder_config())
    api = before.hs.plugin_apis["reminders"]
    run(before, api.kv_set("counter", {"n": 41}))

    after = TestServer(before.db.engine, reminder_config(), tmp_path)
    again = after.hs.plugin_apis["reminders"]
    assert run(after, again.kv_get("counter")) == {"n": 41}
