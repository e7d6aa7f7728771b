"""Background duties in a worker deployment (docs/scaling.md, "Duties"):
each runs in exactly one process, and what another process produces for it
reaches it through the internal API (``POST /_chatly/replication/duty_wake``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from homeserver.storage.engines import Engine
from homeserver.workers.duty_relay import pusher_for
from tests.appservices.kit import AsHarness
from tests.federation.sending_helpers import (
    RecordingTransport,
    public_room,
    remote_join,
    say,
)
from tests.media.helpers import CLIENT_MEDIA, media_id, upload
from tests.media.images import opened, photo
from tests.push.pushers.kit import set_http_pusher
from tests.workers.duties_kit import SENDERS, Deployment, appservice_deployment
from tests.workers.writes_kit import HttpDeployment

CLIENT = "/_matrix/client/v3"


@pytest.fixture
def make_deployment(
    make_engine: Callable[[], Engine], tmp_path: Path
) -> Iterator[Callable[..., Deployment]]:
    made: list[Deployment] = []

    def make(instances: list[dict[str, object]], **kwargs: object) -> Deployment:
        deployment = Deployment(make_engine(), tmp_path, instances, **kwargs)  # type: ignore[arg-type]
        made.append(deployment)
        return deployment

    yield make
    for deployment in made:
        deployment.close()


def _senders(
    make: Callable[..., Deployment],
) -> tuple[Deployment, dict[str, RecordingTransport]]:
    transports = {n: RecordingTransport() for n in ("main", "sender1", "sender2")}
    deployment = make(SENDERS, transports=transports)
    return deployment, transports


def test_only_the_senders_send_each_to_its_destinations(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment, transports = _senders(make_deployment)
    main = deployment.main
    topology = main.hs.core.topology
    _, token = main.register("alice")
    room_id = public_room(main, token)
    remotes = [f"remote{i}.example" for i in range(6)]
    for server in remotes:
        remote_join(main, room_id, f"@bob:{server}")
    path = f"/_matrix/client/v3/rooms/{room_id}/typing/@alice:test"
    assert main.request("PUT", path, {"typing": True}, token).code == 200
    owners = {server: topology.federation_sender_for(server) for server in remotes}
    # Until every destination's sender has sent it (the typing rows may
    # still be on their way through replication after the first turn).
    deployment.pump(
        lambda: all(transports[owners[s]].edus(s, "m.typing") for s in remotes)
    )
    assert transports["main"].sent == []
    for server in remotes:
        owner = owners[server]
        other = "sender2" if owner == "sender1" else "sender1"
        assert len(transports[owner].edus(server, "m.typing")) == 1, server
        assert transports[other].edus(server, "m.typing") == []
    # Both shards are used by six destinations.
    assert {topology.federation_sender_for(s) for s in remotes} == {
        "sender1",
        "sender2",
    }


def test_to_device_stored_by_main_is_sent_by_the_destinations_sender(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment, transports = _senders(make_deployment)
    main = deployment.main
    _, token = main.register("alice")
    room_id = public_room(main, token)
    remote_join(main, room_id, "@bob:remote.example")
    body = {"messages": {"@bob:remote.example": {"BOBDEV": {"hello": "there"}}}}
    path = "/_matrix/client/v3/sendToDevice/m.test/txn1"
    assert main.request("PUT", path, body, token).code == 200
    deployment.advance()
    owner = main.hs.core.topology.federation_sender_for("remote.example")
    [edu] = transports[owner].edus("remote.example", "m.direct_to_device")
    assert edu["messages"] == body["messages"]
    assert transports["main"].sent == []
    # Delivered: nothing is left queued for it.
    pending = main.get_success(
        main.hs.federation.outbox.get_pending("remote.example", 50, 50)
    )
    assert pending == ([], [])


def _to_device_while_down(
    make: Callable[..., Deployment],
) -> tuple[Deployment, dict[str, RecordingTransport], str]:
    """A to-device message from main for remote.example, which its sender
    cannot reach."""
    deployment, transports = _senders(make)
    main = deployment.main
    owner = main.hs.core.topology.federation_sender_for("remote.example")
    transports[owner].behaviour["remote.example"] = "down"
    _, token = main.register("alice")
    body = {"messages": {"@bob:remote.example": {"BOBDEV": {"n": 1}}}}
    path = "/_matrix/client/v3/sendToDevice/m.test/txn1"
    assert main.request("PUT", path, body, token).code == 200
    return deployment, transports, owner


def test_a_sender_restarting_sends_what_was_stored_meanwhile(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment, transports, owner = _to_device_while_down(make_deployment)
    deployment.advance()
    assert transports[owner].edus("remote.example", "m.direct_to_device") == []
    restarted = deployment.restart(owner, RecordingTransport())
    # Past the backoff the failure left (it is stored, as the queue is).
    deployment.advance(60)
    transport = restarted.hs.federation.sender.transport
    assert len(transport.edus("remote.example", "m.direct_to_device")) == 1


def test_a_destination_talking_to_main_is_retried_by_its_sender(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment, transports, owner = _to_device_while_down(make_deployment)
    main = deployment.main
    deployment.advance(1)
    transports[owner].behaviour["remote.example"] = "ok"
    deployment.advance(1)  # backing off: nothing sent yet
    assert transports[owner].edus("remote.example", "m.direct_to_device") == []
    # What an inbound transaction from it does on main (a federation reader).
    main.hs.federation.sender.destination_is_alive("remote.example")
    deployment.advance()
    assert len(transports[owner].edus("remote.example", "m.direct_to_device")) == 1


def test_duty_wake_needs_the_secret_and_a_valid_body(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment, _ = _senders(make_deployment)
    sender = deployment["sender1"]
    path = "/_chatly/replication/duty_wake"
    denied = sender.request("POST", path, {}, headers={"Authorization": "Bearer no"})
    assert denied.code == 403 and denied.json["errcode"] == "M_FORBIDDEN"
    auth = {"Authorization": f"Bearer {deployment.secret}"}
    bad = sender.request("POST", path, {"federation": {"wake": [1]}}, headers=auth)
    assert bad.code == 400 and bad.json["errcode"] == "M_BAD_JSON"
    assert sender.request("POST", path, {}, headers=auth).code == 200


def test_ephemeral_data_from_main_is_sent_once_by_the_appservice_worker(
    make_deployment: Callable[..., Deployment],
) -> None:
    h, deployment = appservice_deployment(make_deployment, receive_ephemeral=True)
    try:
        alice = h.server.user("alice")
        irc = h.server.user("irc_fred")
        room = alice.create_room()
        alice.invite(room, irc.user_id)
        irc.join(room)
        alice.put(
            f"/rooms/{room}/typing/{alice.user_id}", {"typing": True, "timeout": 30000}
        )
        h.pump(lambda: _delivered(deployment) and bool(_ephemeral(h, "m.typing")))
        assert deployment.main.hs.appservice_outbound.sender.queues == {}
        as_sender = deployment["as1"].hs.appservice_outbound.sender
        h.pump(lambda: not any(q._running for q in as_sender.queues.values()))
        assert _ephemeral(h, "m.typing") == [
            {
                "type": "m.typing",
                "room_id": room,
                "content": {"user_ids": [alice.user_id]},
            }
        ]
    finally:
        h.close()


def _delivered(deployment: Deployment) -> bool:
    """Deliver the internal calls made so far (always True: for a pump's
    condition)."""
    deployment.deliver()
    return True


def _ephemeral(harness: AsHarness, kind: str) -> list[dict[str, Any]]:
    return [
        e
        for txn in harness.fake.acknowledged()
        for e in txn.body.get("ephemeral", [])
        if e["type"] == kind
    ]


PUSHER_WORKER = [{"name": "pusher1", "role": "pusher", "port": 18131}]


def test_a_pusher_set_on_main_runs_on_the_pusher_worker(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment = make_deployment(PUSHER_WORKER)
    alice = deployment.main.user("alice")
    set_http_pusher(alice, "https://push.example/_matrix/push/v1/notify")
    deployment.advance()
    assert deployment.main.hs.pushers.pool.runners == {}
    assert list(deployment["pusher1"].hs.pushers.pool.runners) == [alice.user_id]
    # Logged out on main: the pusher goes on the pusher worker too.
    alice.post("/logout", {}, expect=200)
    deployment.advance()
    assert deployment["pusher1"].hs.pushers.pool.runners == {}


MEDIA_WORKER = [{"name": "media1", "role": "media", "port": 18141}]


def test_the_media_worker_serves_what_main_stored_and_runs_the_media_jobs(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment = make_deployment(MEDIA_WORKER)
    main, media1 = deployment.main, deployment["media1"]
    alice = main.user("alice")
    content = photo(640, 480)
    uri = upload(alice, content, "image/jpeg")["content_uri"]
    mid = media_id(uri)
    on_worker = alice.on(media1)
    download = on_worker.get(f"{CLIENT_MEDIA}/download/test/{mid}", expect=200)
    assert download.body == content
    thumb = on_worker.get(
        f"{CLIENT_MEDIA}/thumbnail/test/{mid}?width=32&height=32&method=scale",
        expect=200,
    )
    assert opened(thumb.body).size[0] < 640  # made from the stored original
    # Uploaded on the worker, served by main: one shared store.
    again = upload(on_worker, b"text")["content_uri"]
    served = alice.get(f"{CLIENT_MEDIA}/download/test/{media_id(again)}", expect=200)
    assert served.body == b"text"
    assert media1.hs.media.retention._timer is not None
    assert main.hs.media.retention._timer is None


PUSHER_SHARDS = [
    {"name": "pusher1", "role": "pusher", "port": 18131},
    {"name": "pusher2", "role": "pusher", "port": 18132},
]


def test_pusher_workers_share_the_users(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment = make_deployment(PUSHER_SHARDS)
    topology = deployment.main.hs.core.topology
    users = [deployment.main.user(f"user{i}") for i in range(6)]
    for user in users:
        set_http_pusher(
            user, "https://push.example/_matrix/push/v1/notify", user.localpart
        )
    deployment.advance()
    # Set again through pusher2, whichever shard owns the user: its owner
    # runs it, with the new data.
    set_http_pusher(
        users[0].on(deployment["pusher2"]),
        "https://other.example/_matrix/push/v1/notify",
        users[0].localpart,
    )
    deployment.advance()
    runs = {
        name: set(deployment[name].hs.pushers.pool.runners)
        for name in ("main", "pusher1", "pusher2")
    }
    assert runs["main"] == set()
    for user in users:
        owner = pusher_for(topology, user.user_id)
        assert user.user_id in runs[owner]
        other = "pusher2" if owner == "pusher1" else "pusher1"
        assert user.user_id not in runs[other]
    assert runs["pusher1"] and runs["pusher2"]
    [(record, _)] = (
        deployment[pusher_for(topology, users[0].user_id)]
        .hs.pushers.pool.runners[users[0].user_id]
        .values()
    )
    assert record.data["url"].startswith("https://other.example")


def test_a_receipt_for_a_sender_that_is_down_is_sent_once_it_is_back(
    make_engine: Callable[[], Engine], tmp_path: Path
) -> None:
    """Main cannot hand the EDUs to the destination's sender (down past the
    internal client's retries): the read receipt is stored in the outbox and
    sent when the sender starts again; the typing notification is dropped."""
    transports = {n: RecordingTransport() for n in ("main", "sender1")}
    d = HttpDeployment(make_engine(), tmp_path, SENDERS[:1], transports=transports)
    try:
        main = d.main
        user_id, token = main.register("alice")
        room_id = public_room(main, token)
        remote_join(main, room_id, "@bob:remote.example")
        event_id = say(main, token, room_id, "read me")
        d.stop_listening("sender1")
        receipt = f"{CLIENT}/rooms/{room_id}/receipt/m.read/{event_id}"
        assert d.call("main", "POST", receipt, {}, token).code == 200
        typing = f"{CLIENT}/rooms/{room_id}/typing/{user_id}"
        body = {"typing": True, "timeout": 30000}
        assert d.call("main", "PUT", typing, body, token).code == 200
        outbox = main.hs.federation.outbox

        def stored() -> list[str]:
            _, edus = main.get_success(outbox.get_pending("remote.example", 50, 50))
            return [e.edu_type for e in edus]

        d.pump(lambda: stored() == ["m.receipt"])
        sent = RecordingTransport()
        d.restart("sender1", sent)
        d.pump(lambda: bool(sent.edus("remote.example", "m.receipt")))
        [content] = sent.edus("remote.example", "m.receipt")
        assert user_id in content[room_id]["m.read"]
        assert content[room_id]["m.read"][user_id]["event_ids"] == [event_id]
        assert sent.edus("remote.example", "m.typing") == []
        assert transports["main"].edus("remote.example", "m.receipt") == []
    finally:
        d.close()
