"""mautrix-python's ``AppService``, unchanged, receives our transactions
(events, MSC2409 ephemeral events and to-device, MSC3202 device lists and
key counts), answers our ping, and gets what it missed while it was down."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.appservices.kit import AsHarness
from tests.appservices.mautrix_as import MautrixAppService
from tests.e2ee.keys import Device
from tests.support.server import TestServer


@pytest.fixture
def mautrix_as() -> Iterator[MautrixAppService]:
    service = MautrixAppService(
        as_token="as-secret", hs_token="hs-secret", as_id="bridge"
    )
    yield service
    service.close()


def test_mautrix_receives_events_ephemeral_and_pings(
    make_server: Callable[..., TestServer], mautrix_as: MautrixAppService
) -> None:
    h = AsHarness(
        make_server,
        url=mautrix_as.url,
        users=(r"@irc_.*:test",),
        receive_ephemeral=True,
        msc3202=True,
    )
    alice = h.server.user("alice")
    irc = h.server.user("irc_gina")
    room = alice.create_room()
    alice.invite(room, irc.user_id)
    irc.join(room)
    alice.send(room, "hello mautrix")
    h.pump(lambda: "hello mautrix" in mautrix_as.messages())

    alice.put(f"/rooms/{room}/typing/{alice.user_id}", {"typing": True}, expect=200)
    h.pump(lambda: bool(mautrix_as.ephemeral("m.typing")))
    typing = mautrix_as.ephemeral("m.typing")[-1]
    assert typing["content"]["user_ids"] == [alice.user_id]
    assert typing["room_id"] == room

    device = Device.of(irc)
    irc.post(
        "/keys/upload",
        {"device_keys": device.device_keys(), "one_time_keys": device.one_time_keys(2)},
        expect=200,
    )
    alice.put(
        "/sendToDevice/m.test/t1",
        {"messages": {irc.user_id: {irc.device_id: {"x": 1}}}},
        expect=200,
    )
    h.pump(lambda: bool(mautrix_as.to_device) and bool(mautrix_as.otk_counts))
    assert mautrix_as.to_device[0]["to_user_id"] == irc.user_id
    counts = mautrix_as.otk_counts[-1][irc.user_id][irc.device_id]
    assert counts.signed_curve25519 == 2
    h.server.login("irc_gina")  # a new device of its user
    h.pump(lambda: any(irc.user_id in d.changed for d in mautrix_as.device_lists))

    pinged = h.request(
        "POST",
        "/_matrix/client/v1/appservice/bridge/ping",
        {"transaction_id": "mautrix-ping"},
        token="as-secret",
    )
    assert pinged.code == 200, pinged.body
    h.close()


def test_mautrix_gets_what_it_missed(
    make_server: Callable[..., TestServer],
) -> None:
    """The AS is down while events arrive; when it comes back on its port,
    it gets each once, in order."""
    first = MautrixAppService(
        as_token="as-secret", hs_token="hs-secret", as_id="bridge"
    )
    port = first.port
    h = AsHarness(make_server, url=first.url, users=(r"@irc_.*:test",))
    alice = h.server.user("alice")
    irc = h.server.user("irc_hank")
    room = alice.create_room()
    alice.invite(room, irc.user_id)
    irc.join(room)
    alice.send(room, "before")
    h.pump(lambda: "before" in first.messages())
    first.close()  # down: nothing listens on its port now
    sent = [f"missed {i}" for i in range(5)]
    for body in sent:
        alice.send(room, body)
    outbound = h.server.hs.appservice_outbound
    h.pump(
        lambda: (
            h.server.get_success(outbound.admin.get_queue("bridge"))["failure_ts"]
            is not None
        )
    )
    back = MautrixAppService(
        as_token="as-secret", hs_token="hs-secret", as_id="bridge", port=port
    )
    try:
        h.pump(lambda: back.messages() == sent, advance=1)
        h.settle()
        assert back.messages() == sent
    finally:
        h.close()
        back.close()
