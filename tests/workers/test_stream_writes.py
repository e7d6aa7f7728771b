"""Stream writes in a worker deployment: a write that reaches a process that
does not write its stream is checked there and persisted by the writer,
through the internal HTTP API over loopback (docs/architecture.md,
"Workers"): messages and room creation (the events stream), typing,
receipts and presence; a writer that is down gives a retryable error and
leaves nothing half-written."""

from __future__ import annotations

from typing import Any

from tests.workers.writes_kit import HttpDeployment

READER = [{"name": "reader1", "role": "client_reader", "port": 18201}]
CLIENT = "/_matrix/client/v3"


def _room_on_reader(d: HttpDeployment, token: str) -> str:
    created = d.call("reader1", "POST", f"{CLIENT}/createRoom", {}, token)
    assert created.code == 200, created.json
    room_id: str = created.json["room_id"]
    return room_id


def _count_events(d: HttpDeployment, room_id: str) -> int:
    async def count() -> int:
        row = await d.main.db.run_interaction(
            "count",
            lambda txn: txn.query_one(
                "SELECT COUNT(*) AS n FROM events WHERE room_id = ?", (room_id,)
            ),
        )
        assert row is not None
        return int(row.n)

    result: int = d.main.get_success(count())
    return result


def test_a_message_sent_through_a_reader_is_persisted_by_the_writer(
    http_deployment: HttpDeployment,
) -> None:
    d = http_deployment
    reader = d["reader1"]
    _, token = d.main.register("alice")
    room_id = _room_on_reader(d, token)
    path = f"{CLIENT}/rooms/{room_id}/send/m.room.message/t1"
    sent = d.call("reader1", "PUT", path, {"msgtype": "m.text", "body": "hi"}, token)
    assert sent.code == 200, sent.json
    event_id = sent.json["event_id"]
    # Main (the only event persister) wrote it, with its stream position.
    fetched = d.main.request(
        "GET", f"{CLIENT}/rooms/{room_id}/event/{event_id}", token=token
    )
    assert fetched.code == 200
    assert fetched.json["content"]["body"] == "hi"
    # The reader hands its rooms' events to main.
    route = reader.hs.core.persister.route.get()
    assert not route.is_local(room_id)
    # A retry of the same transaction gives the same event, once.
    again = d.call("reader1", "PUT", path, {"msgtype": "m.text", "body": "hi"}, token)
    assert again.json["event_id"] == event_id
    before = _count_events(d, room_id)
    sync = d.main.request("GET", f"{CLIENT}/sync", token=token)
    timeline = sync.json["rooms"]["join"][room_id]["timeline"]["events"]
    assert [e["event_id"] for e in timeline].count(event_id) == 1
    assert _count_events(d, room_id) == before


def test_typing_receipts_and_presence_through_a_reader_reach_their_writer(
    http_deployment: HttpDeployment,
) -> None:
    d = http_deployment
    user_id, token = d.main.register("alice")
    room_id = _room_on_reader(d, token)
    event_id = _send(d, token, room_id, "t1").json["event_id"]
    typing = _typing(d, token, room_id, user_id)
    assert typing.code == 200, typing.json
    receipt = d.call(
        "reader1",
        "POST",
        f"{CLIENT}/rooms/{room_id}/receipt/m.read/{event_id}",
        {},
        token,
    )
    assert receipt.code == 200, receipt.json
    presence = d.call(
        "reader1",
        "PUT",
        f"{CLIENT}/presence/{user_id}/status",
        {"presence": "unavailable", "status_msg": "away"},
        token,
    )
    assert presence.code == 200, presence.json
    # Main writes all three streams: its own sync shows them.
    sync = d.main.request("GET", f"{CLIENT}/sync", token=token).json
    ephemeral = sync["rooms"]["join"][room_id]["ephemeral"]["events"]
    by_type = {e["type"]: e["content"] for e in ephemeral}
    assert by_type["m.typing"] == {"user_ids": [user_id]}
    assert user_id in by_type["m.receipt"][event_id]["m.read"]
    status = d.main.request("GET", f"{CLIENT}/presence/{user_id}/status", token=token)
    assert status.json["presence"] == "unavailable"
    assert status.json["status_msg"] == "away"
    # The reader holds none of it in memory: the writer does.
    reader = d["reader1"].hs
    assert reader.sync_data.typing.get_typing_for_rooms([room_id], None) == {}
    assert reader.presence.service.held_states() == []
    # A bad write is refused where it arrives, before anything is sent.
    other = _typing(d, token, room_id, "@bob:test")
    assert other.code == 403
    assert other.json["errcode"] == "M_FORBIDDEN"


def _typing(d: HttpDeployment, token: str, room_id: str, user_id: str) -> Any:
    return d.call(
        "reader1",
        "PUT",
        f"{CLIENT}/rooms/{room_id}/typing/{user_id}",
        {"typing": True, "timeout": 30000},
        token,
    )


def _send(d: HttpDeployment, token: str, room_id: str, txn: str) -> Any:
    return d.call(
        "reader1",
        "PUT",
        f"{CLIENT}/rooms/{room_id}/send/m.room.message/{txn}",
        {"msgtype": "m.text", "body": txn},
        token,
    )


def test_a_writer_that_is_down_gives_a_retryable_error_and_writes_nothing(
    http_deployment: HttpDeployment,
) -> None:
    d = http_deployment
    user_id, token = d.main.register("alice")
    room_id = _room_on_reader(d, token)
    before = _count_events(d, room_id)
    d.stop_listening("main")
    failed = _send(d, token, room_id, "down")
    assert failed.code == 503
    assert failed.json["errcode"] == "M_UNKNOWN"
    assert "try again" in failed.json["error"]
    assert _typing(d, token, room_id, user_id).code == 503
    assert _count_events(d, room_id) == before
    # The writer is back: the client's retry (same transaction) lands once.
    d.listen("main")
    retried = _send(d, token, room_id, "down")
    assert retried.code == 200, retried.json
    assert _count_events(d, room_id) == before + 1


def test_the_write_endpoints_want_the_secret_and_a_well_formed_body(
    http_deployment: HttpDeployment,
) -> None:
    d = http_deployment
    path = "/_chatly/replication/persist_event"
    body = {"event": {"pdu": {}}, "context": {}}
    refused = d.main.request("POST", path, body)
    assert refused.code == 403
    assert refused.json["errcode"] == "M_FORBIDDEN"
    secret = {"Authorization": f"Bearer {d.secret}"}
    bad = d.main.request("POST", path, body, headers=secret)
    assert bad.code == 400
    assert bad.json["errcode"] == "M_BAD_JSON"
    typing = d.main.request(
        "POST", "/_chatly/replication/typing", {"room_id": 1}, headers=secret
    )
    assert typing.code == 400


def test_to_device_through_a_reader_is_stored_by_its_writer_once(
    http_deployment: HttpDeployment,
) -> None:
    d = http_deployment
    user_id, token = d.main.register("alice")
    phone = d.main.login("alice")
    path = f"{CLIENT}/sendToDevice/m.test/t1"
    body = {"messages": {user_id: {phone.device_id: {"hello": "phone"}}}}
    for _ in range(2):  # the client's retry of the same transaction
        sent = d.call("reader1", "PUT", path, body, token)
        assert sent.code == 200, sent.json
    # Main writes the to-device stream: the phone's sync there has it, once.
    synced = d.main.request("GET", f"{CLIENT}/sync", token=phone.token).json
    events = synced["to_device"]["events"]
    assert [e["content"] for e in events] == [{"hello": "phone"}]
    assert events[0]["sender"] == user_id
