"""Account data (with tags and push rules) and device list changes that reach
a process which does not write their stream are made on the writer (main),
through the internal HTTP API over loopback (docs/architecture.md, "Stream
writes across processes"): the writer's /sync shows them, its stream took the
positions, and the reader answers the client as one process would."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from homeserver.storage.engines import Engine
from tests.e2ee.keys import CrossSigning, Device, new_key
from tests.workers.writes_kit import HttpDeployment

READER = [{"name": "reader1", "role": "client_reader", "port": 18211}]
CLIENT = "/_matrix/client/v3"
PASSWORD_AUTH = {
    "type": "m.login.password",
    "identifier": {"type": "m.id.user", "user": "alice"},
    "password": "password123",
}


def _on_reader(
    d: HttpDeployment, method: str, path: str, token: str, body: Any = None
) -> Any:
    answer = d.call("reader1", method, f"{CLIENT}{path}", body, token)
    assert answer.code == 200, answer.json
    return answer.json


def _position(d: HttpDeployment, name: str, stream: str) -> int:
    return d[name].hs.core.streams.ids_by_name(stream).current_position()


def test_account_data_and_tags_through_a_reader_are_written_by_main(
    http_deployment: HttpDeployment,
) -> None:
    d = http_deployment
    user_id, token = d.main.register("alice")
    room_id = d.main.request("POST", f"{CLIENT}/createRoom", {}, token=token).json[
        "room_id"
    ]
    before = _position(d, "main", "account_data")
    reader_before = _position(d, "reader1", "account_data")
    _on_reader(d, "PUT", f"/user/{user_id}/account_data/org.example.a", token, {"a": 1})
    room_data = f"/user/{user_id}/rooms/{room_id}/account_data/org.example.r"
    _on_reader(d, "PUT", room_data, token, {"r": 2})
    tags = f"/user/{user_id}/rooms/{room_id}/tags"
    _on_reader(d, "PUT", f"{tags}/u.work", token, {"order": 0.5})
    _on_reader(d, "PUT", f"{tags}/u.home", token, {})
    _on_reader(d, "DELETE", f"{tags}/u.home", token)
    # Main took every position (the reader's own generator never moved).
    assert _position(d, "main", "account_data") == before + 5
    assert _position(d, "reader1", "account_data") == reader_before
    sync = d.main.request("GET", f"{CLIENT}/sync", token=token).json
    global_data = {e["type"]: e["content"] for e in sync["account_data"]["events"]}
    assert global_data["org.example.a"] == {"a": 1}
    room = sync["rooms"]["join"][room_id]["account_data"]["events"]
    by_type = {e["type"]: e["content"] for e in room}
    assert by_type["org.example.r"] == {"r": 2}
    assert by_type["m.tag"] == {"tags": {"u.work": {"order": 0.5}}}
    # Reads on the reader see it, and the checks still happen where the
    # request arrives.
    assert _on_reader(d, "GET", f"{tags}", token) == {
        "tags": {"u.work": {"order": 0.5}}
    }
    refused = d.call(
        "reader1",
        "PUT",
        f"{CLIENT}/user/{user_id}/account_data/m.push_rules",
        {},
        token,
    )
    assert refused.code == 405


def test_a_read_modify_write_from_stale_content_is_computed_again(
    http_deployment: HttpDeployment,
) -> None:
    d = http_deployment
    user_id, token = d.main.register("alice")
    room_id = "!somewhere:test"
    tags = f"/user/{user_id}/rooms/{room_id}/tags"
    _on_reader(d, "PUT", f"{tags}/u.one", token, {})
    # The reader caches what it read; main changes it behind its back.
    assert _on_reader(d, "GET", tags, token) == {"tags": {"u.one": {}}}
    assert d.main.request("PUT", f"{CLIENT}{tags}/u.two", {}, token=token).code == 200
    _on_reader(d, "PUT", f"{tags}/u.three", token, {})
    stored = d.main.request("GET", f"{CLIENT}{tags}", token=token).json
    assert stored == {"tags": {"u.one": {}, "u.two": {}, "u.three": {}}}


def test_push_rules_through_a_reader_are_written_by_main(
    http_deployment: HttpDeployment,
) -> None:
    d = http_deployment
    user_id, token = d.main.register("alice")
    rule = "/pushrules/global/content/cats"
    body = {"pattern": "cat*", "actions": ["notify"]}
    _on_reader(d, "PUT", rule, token, body)
    _on_reader(d, "PUT", f"{rule}/enabled", token, {"enabled": False})
    _on_reader(
        d,
        "PUT",
        "/pushrules/global/override/.m.rule.master/enabled",
        token,
        {"enabled": True},
    )
    got = d.main.request("GET", f"{CLIENT}{rule}", token=token).json
    assert got["pattern"] == "cat*"
    assert got["enabled"] is False
    sync = d.main.request("GET", f"{CLIENT}/sync", token=token).json
    types = [e["type"] for e in sync["account_data"]["events"]]
    assert "m.push_rules" in types
    # The writer's answers reach the client as they are.
    missing = d.call(
        "reader1", "DELETE", f"{CLIENT}/pushrules/global/content/dogs", None, token
    )
    assert missing.code == 404
    anchor = d.call(
        "reader1",
        "PUT",
        f"{CLIENT}/pushrules/global/content/birds?before=nope",
        body,
        token,
    )
    assert anchor.code == 400
    _on_reader(d, "DELETE", rule, token)
    gone = d.main.request("GET", f"{CLIENT}{rule}", token=token)
    assert gone.code == 404


def test_device_list_changes_through_a_reader_take_main_positions(
    http_deployment: HttpDeployment,
) -> None:
    d = http_deployment
    alice, token = d.main.register("alice")
    bob, bob_token = d.main.register("bob")
    room_id = d.main.request(
        "POST", f"{CLIENT}/createRoom", {"invite": [bob]}, token=token
    ).json["room_id"]
    assert (
        d.main.request("POST", f"{CLIENT}/join/{room_id}", {}, token=bob_token).code
        == 200
    )
    since = d.main.request("GET", f"{CLIENT}/sync", token=bob_token).json["next_batch"]
    device_id = d.main.request("GET", f"{CLIENT}/devices", token=token).json["devices"][
        0
    ]["device_id"]
    before = _position(d, "main", "device_lists")
    reader_before = _position(d, "reader1", "device_lists")
    _on_reader(d, "PUT", f"/devices/{device_id}", token, {"display_name": "phone"})
    device = Device(alice, device_id, new_key(device_id))
    keys = {"device_keys": device.device_keys()}
    _on_reader(d, "POST", "/keys/upload", token, keys)
    _on_reader(
        d,
        "POST",
        "/keys/device_signing/upload",
        token,
        CrossSigning(alice).upload_body(),
    )
    laptop = d.main.login("alice")
    gone = {"auth": PASSWORD_AUTH}
    _on_reader(d, "DELETE", f"/devices/{laptop.device_id}", token, gone)
    d.pump(lambda: _position(d, "main", "device_lists") >= before + 5)
    assert _position(d, "reader1", "device_lists") == reader_before
    changed = d.main.request(
        "GET", f"{CLIENT}/sync?since={since}", token=bob_token
    ).json
    assert alice in changed["device_lists"]["changed"]


def test_main_hands_them_to_a_worker_that_writes_them(
    make_engine: Callable[[], Engine], tmp_path: Path
) -> None:
    """With ``stream_writers`` naming reader1, main is the one that forwards."""
    writers = {"account_data": "reader1", "device_lists": "reader1"}
    d = HttpDeployment(
        make_engine(),
        tmp_path,
        READER,
        overrides={"workers": {"stream_writers": writers}},
    )
    try:
        user_id, token = d.main.register("alice")
        main_before = _position(d, "main", "account_data")
        on_main = f"{CLIENT}/user/{user_id}/account_data/org.example.m"
        assert d.call("main", "PUT", on_main, {"m": 1}, token).code == 200
        rule = f"{CLIENT}/pushrules/global/content/cats"
        body = {"pattern": "cat*", "actions": ["notify"]}
        assert d.call("main", "PUT", rule, body, token).code == 200
        assert _position(d, "main", "account_data") == main_before
        assert _position(d, "reader1", "account_data") >= 2
        synced = _on_reader(d, "GET", "/sync", token)
        data = {e["type"]: e["content"] for e in synced["account_data"]["events"]}
        assert data["org.example.m"] == {"m": 1}
        content_rules = data["m.push_rules"]["global"]["content"]
        assert "cats" in [r["rule_id"] for r in content_rules]
        device_id = d.main.request("GET", f"{CLIENT}/devices", token=token).json[
            "devices"
        ][0]["device_id"]
        lists_before = _position(d, "reader1", "device_lists")
        renamed = {"display_name": "phone"}
        path = f"{CLIENT}/devices/{device_id}"
        assert d.call("main", "PUT", path, renamed, token).code == 200
        d.pump(lambda: _position(d, "reader1", "device_lists") > lists_before)
    finally:
        d.close()


@pytest.fixture
def lists_on_reader(
    make_engine: Callable[[], Engine], tmp_path: Path
) -> Iterator[HttpDeployment]:
    """reader1 writes device lists; alice and bob share a room."""
    writers = {"device_lists": "reader1"}
    d = HttpDeployment(
        make_engine(),
        tmp_path,
        READER,
        overrides={"workers": {"stream_writers": writers}},
    )
    yield d
    d.close()


def _renamed_while_the_writer_is_down(d: HttpDeployment) -> tuple[str, str, str]:
    """Alice renames her device through main while reader1 is down; once the
    change is stored for it: alice, bob's token and bob's sync token before."""
    alice, token = d.main.register("alice")
    bob, bob_token = d.main.register("bob")
    room_id = d.main.request(
        "POST", f"{CLIENT}/createRoom", {"invite": [bob]}, token=token
    ).json["room_id"]
    joined = d.main.request("POST", f"{CLIENT}/join/{room_id}", {}, token=bob_token)
    assert joined.code == 200
    since = d.main.request("GET", f"{CLIENT}/sync", token=bob_token).json["next_batch"]
    device_id = d.main.request("GET", f"{CLIENT}/devices", token=token).json["devices"][
        0
    ]["device_id"]
    d.stop_listening("reader1")
    renamed = {"display_name": "phone"}
    path = f"{CLIENT}/devices/{device_id}"
    assert d.call("main", "PUT", path, renamed, token).code == 200
    # (With the devices registered before, whose changes were in flight.)
    d.pump(lambda: any(c["device_ids"] == [device_id] for _, c in _kept(d)))
    return alice, bob_token, since


def _kept(d: HttpDeployment) -> list[Any]:
    return d.main.get_success(d.main.hs.devices.lists.store.get_undelivered())


def _bob_hears_of(d: HttpDeployment, alice: str, bob_token: str, since: str) -> None:
    """reader1 recorded every stored change, and bob's sync there says so."""
    d.pump(lambda: _kept(d) == [])
    synced = d.call("reader1", "GET", f"{CLIENT}/sync?since={since}", None, bob_token)
    assert alice in synced.json["device_lists"]["changed"]


def test_a_device_change_for_a_writer_that_is_down_is_recorded_when_it_starts(
    lists_on_reader: HttpDeployment, caplog: pytest.LogCaptureFixture
) -> None:
    """The device_lists writer (reader1) is down past the internal client's
    retries when main answers a device rename (and past the wake-up main
    sends after storing the change): reader1 records it when it starts
    again, so bob hears of it."""
    d = lists_on_reader
    caplog.set_level(logging.INFO, "homeserver.workers.remote_user_writes")
    alice, bob_token, since = _renamed_while_the_writer_is_down(d)
    d.pump(lambda: "stored for the writer's start" in caplog.text)
    d.restart("reader1")
    _bob_hears_of(d, alice, bob_token, since)


def test_a_device_change_stored_for_a_writer_is_recorded_when_it_is_woken(
    lists_on_reader: HttpDeployment,
) -> None:
    """reader1 is back (listening again, not restarted) while main, having
    stored the change, still tries to wake it: it records the change then."""
    d = lists_on_reader
    main_client = d.main.hs.workers.client
    assert main_client is not None
    main_client.first_delay_s = 0.5  # the wake-up keeps trying for seconds
    alice, bob_token, since = _renamed_while_the_writer_is_down(d)
    d.listen("reader1")
    _bob_hears_of(d, alice, bob_token, since)
