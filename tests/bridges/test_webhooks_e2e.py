"""The webhooks bridge end to end: a real Chatly process with the bridge's
registration, the bridge process, a Matrix user (HTTP client), a hook caller
and a local receiver of outgoing hooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

from tests.bridges.chatly_server import new_chatly, started
from tests.bridges.processes import prepare_bridge, run_bridge, update_bridge_config
from tests.bridges.test_webhooks_bridge import post_hook
from tests.interop.client import register
from tests.support.webhook_receiver import WebhookReceiver

MODULE = "chatly_webhooks_bridge"
SECRET = "e2e-secret"


def test_webhooks_in_and_out_through_a_real_server(tmp_path: Path) -> None:
    chatly = new_chatly(tmp_path / "chatly")
    config, port = prepare_bridge(
        MODULE,
        tmp_path / "webhooks",
        {"homeserver": {"url": chatly.client_url, "server_name": chatly.server_name}},
    )
    registration = config.parent / "registration.yaml"
    with (
        started(chatly, [registration]),
        WebhookReceiver().running() as receiver,
    ):
        server = chatly.server_name
        alice = register(chatly.client_url, chatly.shared_secret, "alice")
        bot = f"@webhooks:{server}"
        # The bot may invite (power 50), so puppets can join the private room.
        room = alice.create_room(
            name="hooks",
            power_level_content_override={"users": {alice.user_id: 100, bot: 50}},
        )
        update_bridge_config(
            config,
            outgoing=[{"room": room, "url": receiver.url, "secret": SECRET}],
        )
        with run_bridge(MODULE, config, port) as bridge:
            try:
                alice.membership_action("invite", room, bot)
                alice.wait_for_membership(room, bot, "join")

                # A hook made with the bot command posts into the room.
                alice.send(room, "!webhook new")
                reply = alice.wait_for_event(
                    room,
                    lambda e: (
                        e.get("sender") == bot
                        and "/hooks/" in e["content"].get("body", "")
                    ),
                    "the bot's hook URL",
                )
                url = re.search(r"http://\S+/hooks/\S+", reply["content"]["body"])
                assert url is not None
                status, body = post_hook(
                    url.group(),
                    {"text": "deployed", "html": "<b>deployed</b>", "username": "CI"},
                )
                assert status == 200, body
                event = alice.wait_for_event_id(room, body["event_id"])
                assert event["sender"] == f"@webhook_ci:{server}"
                assert event["content"]["formatted_body"] == "<b>deployed</b>"
                assert (
                    alice.call("GET", f"/profile/{event['sender']}")["displayname"]
                    == "CI"
                )

                # Where the bot may not invite, it posts itself, naming the sender.
                alice.call(
                    "PUT",
                    f"/rooms/{room}/state/m.room.power_levels/",
                    {"users": {alice.user_id: 100}, "invite": 50},
                )
                status, body = post_hook(url.group(), {"text": "hi", "username": "Ops"})
                assert status == 200, body
                event = alice.wait_for_event_id(room, body["event_id"])
                assert (event["sender"], event["content"]["body"]) == (bot, "Ops: hi")

                # A wrong token is refused and posts nothing.
                status, body = post_hook(url.group() + "x", {"text": "forged"})
                assert (status, body["errcode"]) == (403, "M_FORBIDDEN")

                # Outgoing: alice's message reaches the receiver, signed.
                alice.send(room, "ship it")
                deliveries = receiver.wait_for_count(1)
                found = [d for d in deliveries if b"ship it" in d.body]
                assert found, deliveries
                delivery = found[0]
                sent = json.loads(delivery.body)
                assert (sent["room_id"], sent["sender"]) == (room, alice.user_id)
                mac = hmac.new(
                    SECRET.encode(), delivery.body, hashlib.sha256
                ).hexdigest()
                assert delivery.headers["X-Chatly-Signature"] == f"sha256={mac}"
                assert not any(b"forged" in d.body for d in receiver.deliveries)
            except BaseException:
                print(bridge.log[-6000:])
                raise
