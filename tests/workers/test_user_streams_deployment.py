"""Account data, tags, push rules and device list changes sent by clients
talking to a client reader directly (not through the proxy, which would send
them to main) on a real deployment (tests/support/deployment.py: real
processes, PostgreSQL, a private Redis): the reader hands each write to the
stream's writer (main), the client reads its own write back on that reader
at once, the writer's /sync has it, and a user on the other reader sees the
device list change."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.e2ee.keys import Device, new_key
from tests.interop.client import Client
from tests.support.deployment import Deployment, running_deployment
from tests.support.installs import installed_or_skip
from tests.support.private_redis import PrivateRedis

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("deployment")]

ENGINES = ("postgres",)
INSTANCES = (("reader1", "client_reader"), ("reader2", "client_reader"))


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    redis_server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    installed_or_skip("a private redis-server", redis_server.start)
    base = tmp_path_factory.mktemp("workers-user-streams")
    try:
        with running_deployment(
            request, base, redis_url=redis_server.url, instances=INSTANCES
        ) as running:
            yield running
    finally:
        redis_server.stop()


def _on(deployment: Deployment, client: Client, name: str) -> Client:
    """The same user and device, talking to process ``name`` directly."""
    return Client(deployment.url(name), client.user_id, client.token, client.device_id)


def _global(sync: dict) -> dict:
    return {e["type"]: e["content"] for e in sync["account_data"]["events"]}


def test_own_writes_through_a_reader_are_read_back_there_and_reach_main(
    deployment: Deployment,
) -> None:
    alice = deployment.register("rywalice", via="reader1")
    on_main = _on(deployment, alice, "main")
    main_since = on_main.call("GET", "/sync?timeout=0")["next_batch"]
    reader_since = alice.call("GET", "/sync?timeout=0")["next_batch"]
    room_id = alice.create_room()
    me = quote(alice.user_id)
    # Global account data: read back at once on the reader, by GET and /sync.
    alice.call("PUT", f"/user/{me}/account_data/org.example.a", {"n": 1})
    assert alice.call("GET", f"/user/{me}/account_data/org.example.a") == {"n": 1}
    synced = alice.call("GET", f"/sync?since={reader_since}&timeout=0")
    assert _global(synced)["org.example.a"] == {"n": 1}
    # Room account data and tags.
    room = f"/user/{me}/rooms/{quote(room_id)}"
    alice.call("PUT", f"{room}/account_data/org.example.r", {"r": True})
    alice.call("PUT", f"{room}/tags/u.work", {"order": 0.25})
    alice.call("PUT", f"{room}/tags/u.later", {})
    alice.call("DELETE", f"{room}/tags/u.later")
    assert alice.call("GET", f"{room}/tags") == {"tags": {"u.work": {"order": 0.25}}}
    assert alice.call("GET", f"{room}/account_data/org.example.r") == {"r": True}
    # Push rules, read back on the reader.
    rule = "/pushrules/global/content/cats"
    alice.call("PUT", rule, {"pattern": "cat*", "actions": ["notify"]})
    alice.call("PUT", f"{rule}/enabled", {"enabled": False})
    got = alice.call("GET", rule)
    assert (got["pattern"], got["enabled"]) == ("cat*", False)
    # The writer's /sync has all of it.
    synced = on_main.call("GET", f"/sync?since={main_since}&timeout=0")
    data = _global(synced)
    assert data["org.example.a"] == {"n": 1}
    content_rules = {r["rule_id"]: r for r in data["m.push_rules"]["global"]["content"]}
    assert content_rules["cats"]["enabled"] is False
    room_data = synced["rooms"]["join"][room_id]["account_data"]["events"]
    by_type = {e["type"]: e["content"] for e in room_data}
    assert by_type["m.tag"] == {"tags": {"u.work": {"order": 0.25}}}
    assert by_type["org.example.r"] == {"r": True}
    # Only main wrote the stream: every process is at its position.
    main_at = deployment.replication_status("main")["positions"]["account_data"]
    for name, _ in INSTANCES:
        status = deployment.replication_status(name)
        assert status["positions"]["account_data"] == main_at, (name, status)


def _wait_for_device_change(bob: Client, since: str, user_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        synced = bob.call("GET", f"/sync?since={since}&timeout=5000", timeout=30)
        if user_id in synced.get("device_lists", {}).get("changed", []):
            return
        since = synced["next_batch"]
    raise AssertionError(f"{user_id}'s device change never reached the other reader")


def test_device_list_changes_through_a_reader_reach_the_other_reader(
    deployment: Deployment,
) -> None:
    alice = deployment.register("dlalice", via="reader1")
    bob = deployment.register("dlbob", via="reader2")
    room_id = alice.create_room(invite=[bob.user_id])
    bob.join(room_id)
    since = bob.call("GET", "/sync?timeout=0")["next_batch"]
    alice.call("PUT", f"/devices/{quote(alice.device_id)}", {"display_name": "phone"})
    _wait_for_device_change(bob, since, alice.user_id)
    since = bob.call("GET", "/sync?timeout=0")["next_batch"]
    device = Device(alice.user_id, alice.device_id, new_key(alice.device_id))
    alice.call("POST", "/keys/upload", {"device_keys": device.device_keys()})
    _wait_for_device_change(bob, since, alice.user_id)
    queried = bob.call("POST", "/keys/query", {"device_keys": {alice.user_id: []}})
    mine = queried["device_keys"][alice.user_id][alice.device_id]
    assert mine["unsigned"]["device_display_name"] == "phone"
    # The reader did not take device_lists positions of its own.
    main_at = deployment.replication_status("main")["positions"]["device_lists"]
    reader = deployment.replication_status("reader1")["positions"]["device_lists"]
    assert reader == main_at
