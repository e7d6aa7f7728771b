"""Duties woken by replication (docs/scaling.md, "Duties"): main persists,
the federation senders, the pusher worker and the application-service worker
learn of it from the positions replicated over Redis and deliver each event
exactly once; main delivers nothing. One PostgreSQL database and the
machine's Redis (a key prefix of the test's own)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer
from twisted.internet.selectreactor import SelectReactor

from homeserver.composition.pushers import push_client
from homeserver.config import parse_config
from homeserver.storage.engines import Engine
from tests.appservices.fake_as import AppServiceListener
from tests.federation.sending_helpers import (
    RecordingTransport,
    delivered_bodies,
    public_room,
    remote_join,
    say,
)
from tests.push.pushers.gateway import NOTIFY_PATH, FakePushGateway
from tests.push.pushers.kit import LOOPBACK, set_http_pusher
from tests.support.redis_keys import delete_prefixed, require_redis, unique_prefix
from tests.support.server import test_config_dict as config_dict
from tests.workers.duties_kit import SENDERS, Deployment, appservice_deployment
from tests.workers.replication_kit import require_postgres
from tests.workers.writes_kit import HttpDeployment

CLIENT = "/_matrix/client/v3"
# Processes replicate over one PostgreSQL database (tests/conftest.py).
ENGINES = ("postgres",)

REMOTES = [f"remote{i}.example" for i in range(6)]


@pytest.fixture
def make_deployment(
    make_engine: Callable[[], Engine], tmp_path: Path
) -> Iterator[Callable[..., Deployment]]:
    """Replicated deployments: PostgreSQL and Redis (CI fails without them)."""
    require_postgres()
    client = require_redis()
    made: list[tuple[Deployment, str]] = []

    def make(
        instances: list[dict[str, Any]],
        cls: type[Deployment] = Deployment,
        **kwargs: Any,
    ) -> Deployment:
        engine = make_engine()
        prefix = unique_prefix()
        deployment = cls(engine, tmp_path, instances, redis_prefix=prefix, **kwargs)
        made.append((deployment, prefix))
        return deployment

    yield make
    for deployment, prefix in made:
        deployment.close()
        delete_prefixed(client, prefix)
    client.close()


def test_events_persisted_by_main_are_sent_once_by_their_senders(
    make_deployment: Callable[..., Deployment],
) -> None:
    transports = {n: RecordingTransport() for n in ("main", "sender1", "sender2")}
    deployment = make_deployment(SENDERS, transports=transports)
    main = deployment.main
    topology = main.hs.core.topology
    _, token = main.register("alice")
    room_id = public_room(main, token)
    for server in REMOTES:
        remote_join(main, room_id, f"@bob:{server}")
    for i in range(3):
        say(main, token, room_id, f"m{i}")

    def everyone_has_all() -> bool:
        return all(
            delivered_bodies(transports[topology.federation_sender_for(s)], s)
            == ["m0", "m1", "m2"]
            for s in REMOTES
        )

    deployment.pump(everyone_has_all)
    deployment.pump(lambda: _idle(deployment))
    assert transports["main"].sent == []
    for server in REMOTES:
        owner = topology.federation_sender_for(server)
        other = "sender2" if owner == "sender1" else "sender1"
        assert delivered_bodies(transports[owner], server) == ["m0", "m1", "m2"]
        assert transports[other].transactions(server) == []


def test_events_an_event_persister_writes_are_sent_by_their_senders(
    make_deployment: Callable[..., Deployment],
) -> None:
    """Main hands the room's events to its persister: the senders follow the
    persister's position, and learn of the remote members from the events
    they read (they never hear ``event_persisted``)."""
    instances = [
        {"name": "persister1", "role": "event_persister", "port": 18251},
        *SENDERS,
    ]
    names = ("main", "persister1", "sender1", "sender2")
    transports = {n: RecordingTransport() for n in names}
    deployment = make_deployment(instances, cls=HttpDeployment, transports=transports)
    assert isinstance(deployment, HttpDeployment)
    main = deployment.main
    topology = main.hs.core.topology
    _, token = main.register("alice")
    created = deployment.call(
        "main", "POST", f"{CLIENT}/createRoom", {"preset": "public_chat"}, token
    )
    assert created.code == 200, created.json
    room_id = created.json["room_id"]
    assert topology.event_writer_for(room_id) == "persister1"
    _say_over_http(deployment, token, room_id, "alone")
    for server in REMOTES[:3]:
        user_id = f"@bob:{server}"
        _run(
            deployment,
            main.hs.rooms.event_creation.send(
                room_id, user_id, "m.room.member", {"membership": "join"}, user_id
            ),
        )
    _say_over_http(deployment, token, room_id, "company")

    def all_sent() -> bool:
        return all(
            delivered_bodies(transports[topology.federation_sender_for(s)], s)
            == ["company"]
            for s in REMOTES[:3]
        )

    deployment.pump(all_sent)
    deployment.pump(lambda: _idle(deployment))
    assert all_sent()
    assert transports["main"].sent == [] and transports["persister1"].sent == []


def _run(deployment: Deployment, coro: Any) -> None:
    """Run ``coro`` on the deployment until it is done (its internal calls
    travel meanwhile)."""
    done = defer.ensureDeferred(coro)
    deployment.pump(lambda: done.called)


def _say_over_http(
    deployment: HttpDeployment, token: str, room_id: str, body: str
) -> None:
    path = f"{CLIENT}/rooms/{room_id}/send/m.room.message/{body}"
    sent = deployment.call(
        "main", "PUT", path, {"msgtype": "m.text", "body": body}, token
    )
    assert sent.code == 200, sent.json


def test_a_sender_stopped_meanwhile_catches_up_from_postgresql(
    make_deployment: Callable[..., Deployment],
) -> None:
    instances = SENDERS[:1]
    deployment = make_deployment(
        instances, transports={"sender1": RecordingTransport()}
    )
    main = deployment.main
    _, token = main.register("alice")
    room_id = public_room(main, token)
    remote_join(main, room_id, "@bob:remote.example")
    say(main, token, room_id, "before")
    first = deployment["sender1"].hs.federation.sender.transport
    deployment.pump(lambda: delivered_bodies(first, "remote.example") == ["before"])
    deployment.stop("sender1")
    say(main, token, room_id, "while down 1")
    say(main, token, room_id, "while down 2")
    restarted = deployment.start("sender1", RecordingTransport())
    transport = restarted.hs.federation.sender.transport
    expected = ["while down 1", "while down 2"]
    deployment.pump(lambda: delivered_bodies(transport, "remote.example") == expected)
    say(main, token, room_id, "after")
    deployment.pump(
        lambda: delivered_bodies(transport, "remote.example") == [*expected, "after"]
    )


def test_pushes_are_delivered_once_by_the_pusher_worker(
    make_deployment: Callable[..., Deployment],
) -> None:
    real = SelectReactor()
    gateway = FakePushGateway()
    listener = AppServiceListener(real, gateway)
    try:
        overrides = {"push": {"ip_range_whitelist": LOOPBACK}}
        client = push_client(real, parse_config(config_dict(overrides)).push)
        processes = ("main", "pusher1")
        deployment = make_deployment(
            [{"name": "pusher1", "role": "pusher", "port": 18231}],
            overrides=overrides,
            kwargs={name: {"push_http": client} for name in processes},
        )
        main = deployment.main
        alice, bob = main.user("alice"), main.user("bob")
        room = alice.create_room(preset="trusted_private_chat", invite=[bob.user_id])
        bob.post(f"/join/{room}", {}, expect=200)
        set_http_pusher(alice, listener.url + NOTIFY_PATH)
        deployment.pump(
            lambda: alice.user_id in deployment["pusher1"].hs.pushers.pool.runners
        )
        sent = [bob.send(room, f"hello {i}") for i in range(3)]
        deployment.pump(lambda: len(gateway.delivered()) >= 3, real=real)
        # Let anything late arrive, then count.
        deployment.pump(lambda: _idle(deployment), real=real)
        assert [n["event_id"] for n in gateway.delivered()] == sent
        assert main.hs.pushers.pool.runners == {}
    finally:
        listener.stop()
        real.iterate(0)


def test_events_reach_the_application_service_once_from_its_worker(
    make_deployment: Callable[..., Deployment],
) -> None:
    h, deployment = appservice_deployment(make_deployment)
    try:
        alice = h.server.user("alice")
        room = alice.create_room(preset="public_chat")
        irc = h.server.user("irc_fred")
        irc.join(room)
        sent = [alice.send(room, f"to the bridge {i}") for i in range(3)]

        def messages() -> list[str]:
            return [
                e["event_id"] for e in h.fake.events() if e["type"] == "m.room.message"
            ]

        deployment.pump(lambda: len(messages()) >= 3, real=h.reactor)
        deployment.pump(lambda: _idle(deployment), real=h.reactor)
        assert messages() == sent
        assert deployment.main.hs.appservice_outbound.sender.queues == {}
    finally:
        h.close()


def _idle(deployment: Deployment) -> bool:
    """Nothing of the duties is running or queued (a settled deployment)."""
    for server in deployment.servers.values():
        sender = server.hs.federation.sender
        as_sender = server.hs.appservice_outbound.sender
        if sender._processing or as_sender._processing:
            return False
        if any(q._running for q in sender.queues.values()):
            return False
        if any(q._running for q in as_sender.queues.values()):
            return False
    return not deployment.in_flight and (
        deployment.hand_offs is None or deployment.hand_offs.queue.empty()
    )


def test_typing_reaches_the_sender_over_the_internal_http_client(
    make_deployment: Callable[..., Deployment],
) -> None:
    """The production internal client (treq over loopback, the secret)
    carries the EDU from main to the destination's sender."""
    transports = {n: RecordingTransport() for n in ("main", "sender1")}
    deployment = make_deployment(SENDERS[:1], cls=HttpDeployment, transports=transports)
    assert isinstance(deployment, HttpDeployment)
    main = deployment.main
    _, token = main.register("alice")
    room_id = public_room(main, token)
    remote_join(main, room_id, "@bob:remote.example")
    typing = deployment.call(
        "main",
        "PUT",
        f"{CLIENT}/rooms/{room_id}/typing/@alice:test",
        {"typing": True, "timeout": 30000},
        token,
    )
    assert typing.code == 200, typing.json
    deployment.pump(
        lambda: bool(transports["sender1"].edus("remote.example", "m.typing"))
    )
    assert transports["sender1"].edus("remote.example", "m.typing") == [
        {"room_id": room_id, "user_id": "@alice:test", "typing": True}
    ]
    assert transports["main"].sent == []
