"""Email pushers end to end: a user's email pusher is set through the client
API, another user sends, and after ``notif_delay`` a digest arrives at a real
SMTP server on loopback (aiosmtpd) - or does not, when the messages were
read in time. The unsubscribe link of the mail removes the pusher.

The server runs on the fake clock; its mailer runs smtplib inline, so a
mail is at the SMTP server as soon as the clock passes the delay.

The push rules decide what notifies (a message in a two-person room does);
the evaluation stores alice's push actions and wakes her pushers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.push.mail.smtp_kit import Received, SmtpServer, free_port
from tests.support import User
from tests.support.server import TestServer

ADDRESS = "alice@example.org"
DELAY_S = 60
BASEURL = "https://chat.example.com"


def email_config(smtp_port: int, **extra: Any) -> dict[str, Any]:
    return {
        "server": {"public_baseurl": BASEURL},
        "email": {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "enable_notifs": True,
            "notif_delay": f"{DELAY_S}s",
            "notif_from": "%(app)s <notify@example.com>",
            "app_name": "Chatly",
            "client_base_url": "https://app.example.com",
            "retry_interval": "10s",
            **extra,
        },
    }


class Scene:
    """Alice (with an email pusher) and Bob in a room named Book club."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.alice = server.user("alice")
        self.bob = server.user("bob")
        self.bob.put(
            "/profile/" + self.bob.user_id + "/displayname",
            {"displayname": "Bob Builder"},
            expect=200,
        )
        now = server.hs.core.clock.time_msec()
        server.get_success(
            server.hs.mail.threepids.insert_threepid(
                self.alice.user_id, "email", ADDRESS, validated_at=now, now=now
            )
        )
        self.set_pusher(self.alice, expect=200)
        self.room = self.bob.create_room(name="Book club", invite=[self.alice.user_id])
        self.alice.join(self.room)

    def send(self, room_id: str, text: str) -> str:
        """Bob sends ``text`` to ``room_id``."""
        return self.send_content(room_id, {"msgtype": "m.text", "body": text})

    def send_content(
        self, room_id: str, content: Any, event_type: str = "m.room.message"
    ) -> str:
        resp = self.bob.send_event(room_id, content, event_type, expect=200)
        event_id = str(resp.json["event_id"])
        return event_id

    def set_pusher(self, user: User, pushkey: str = ADDRESS, expect: int = 200) -> Any:
        return user.post(
            "/pushers/set",
            {
                "kind": "email",
                "app_id": "m.email",
                "pushkey": pushkey,
                "app_display_name": "Email notifications",
                "device_display_name": pushkey,
                "lang": "en",
                "data": {},
            },
            expect=expect,
        )


@pytest.fixture
def smtp(smtp_server: Callable[..., SmtpServer]) -> SmtpServer:
    return smtp_server()


@pytest.fixture
def scene(make_server: Callable[..., TestServer], smtp: SmtpServer) -> Scene:
    return Scene(make_server(email_config(smtp.port)))


def only_mail(smtp: SmtpServer) -> Received:
    assert len(smtp.received) == 1, [m.message["Subject"] for m in smtp.received]
    return smtp.received[0]


def test_digest_after_the_delay(scene: Scene, smtp: SmtpServer) -> None:
    scene.send(scene.room, "Have you read chapter <3> yet?")
    scene.server.advance(DELAY_S - 1)
    assert smtp.received == []
    scene.server.advance(2)
    mail = only_mail(smtp)
    message = mail.message
    assert mail.rcpt_tos == [ADDRESS]
    assert message["From"] == "Chatly <notify@example.com>"
    assert message["To"] == ADDRESS
    assert message["Subject"] == (
        "[Chatly] You have 1 unread message from Bob Builder in Book club"
    )
    unsubscribe = message["List-Unsubscribe"]
    assert re.fullmatch(
        rf"<{BASEURL}/_chatly/client/v1/email/unsubscribe\?token=\S+>", unsubscribe
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    room_link = f"https://app.example.com/#/room/{scene.room}"
    text, html = mail.part("plain"), mail.part("html")
    for part in (text, html):
        assert "Book club" in part
        assert "Bob Builder" in part
        assert room_link in part
        assert unsubscribe[1:-1].split("token=")[1] in part
    assert "Have you read chapter <3> yet?" in text
    assert "Have you read chapter &lt;3&gt; yet?" in html
    # Nothing more, however long we wait.
    scene.server.advance(3600)
    assert len(smtp.received) == 1


def test_no_mail_when_read_before_the_delay(scene: Scene, smtp: SmtpServer) -> None:
    event_id = scene.send(scene.room, "quick question")
    scene.server.advance(DELAY_S / 2)
    scene.alice.post(f"/rooms/{scene.room}/receipt/m.read/{event_id}", {}, expect=200)
    scene.server.advance(DELAY_S * 5)
    assert smtp.received == []


def test_one_digest_for_several_messages_then_throttled(
    scene: Scene, smtp: SmtpServer
) -> None:
    other = scene.bob.create_room(name="Garden", invite=[scene.alice.user_id])
    scene.alice.join(other)
    for text in ("one", "two", "three"):
        scene.send(scene.room, f"book message {text}")
        scene.server.advance(5)
    scene.send(other, "garden message")
    scene.server.advance(DELAY_S)
    mail = only_mail(smtp)
    text = mail.part("plain")
    for expected in ("book message one", "book message two", "book message three"):
        assert expected in text
    assert "garden message" in text
    assert "Book club" in text and "Garden" in text
    assert mail.message["Subject"] == (
        "[Chatly] You have 4 unread messages in Book club and 1 other room"
    )
    # The busy room is backed off: a message now is not mailed after the
    # delay, but once the room's 10-minute back-off is over.
    scene.send(scene.room, "book message four")
    scene.server.advance(DELAY_S * 3)
    assert len(smtp.received) == 1
    scene.server.advance(10 * 60)
    assert len(smtp.received) == 2
    second = smtp.received[1].part("plain")
    assert "book message four" in second
    assert "book message one" not in second


def test_encrypted_message_is_announced_without_content(
    scene: Scene, smtp: SmtpServer
) -> None:
    scene.send_content(
        scene.room,
        {
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg",
            "sender_key": "key",
            "session_id": "session",
            "device_id": "DEV",
        },
        "m.room.encrypted",
    )
    scene.server.advance(DELAY_S + 1)
    mail = only_mail(smtp)
    for part in (mail.part("plain"), mail.part("html")):
        assert "encrypted message" in part
        assert "AwgAEnACgAkL" not in part


def _unsubscribe_path(mail: Received) -> str:
    url = urlsplit(mail.message["List-Unsubscribe"][1:-1])
    return f"{url.path}?{url.query}"


def test_unsubscribe_link_removes_the_pusher(scene: Scene, smtp: SmtpServer) -> None:
    scene.send(scene.room, "hello")
    scene.server.advance(DELAY_S + 1)
    path = _unsubscribe_path(only_mail(smtp))
    # GET (a link scanner, or the user's click) only asks to confirm.
    page = scene.server.request("GET", path)
    assert page.code == 200
    assert page.header("content-type") == "text/html; charset=utf-8"
    assert ADDRESS in page.body.decode() and "<form" in page.body.decode()
    assert len(scene.alice.get("/pushers", expect=200).json["pushers"]) == 1
    # A forged token is refused and removes nothing.
    token = path.split("token=")[1]
    forged = path.replace(
        token, token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    )
    bad = scene.server.request("POST", forged)
    assert bad.code == 400 and bad.json["errcode"] == "M_INVALID_PARAM"
    assert scene.server.request("GET", path.split("?")[0]).code == 400
    assert len(scene.alice.get("/pushers", expect=200).json["pushers"]) == 1
    # RFC 8058 one-click: a POST of List-Unsubscribe=One-Click.
    done = scene.server.request(
        "POST",
        path,
        b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.code == 200, done.body
    assert "unsubscribed" in done.body.decode()
    assert scene.alice.get("/pushers", expect=200).json["pushers"] == []
    # Following it again is harmless; no more mail comes.
    assert scene.server.request("POST", path).code == 200
    scene.send(scene.room, "are you there?")
    scene.server.advance(DELAY_S * 20)
    assert len(smtp.received) == 1


def test_pusher_needs_a_validated_address_of_the_user(scene: Scene) -> None:
    resp = scene.set_pusher(scene.bob, pushkey=ADDRESS, expect=400)
    assert resp.json["errcode"] == "M_THREEPID_NOT_FOUND"
    resp = scene.set_pusher(scene.alice, pushkey="other@example.org", expect=400)
    assert resp.json["errcode"] == "M_THREEPID_NOT_FOUND"
    pushers = scene.alice.get("/pushers", expect=200).json["pushers"]
    assert [p["pushkey"] for p in pushers] == [ADDRESS]
    assert pushers[0]["kind"] == "email"


def test_email_pushers_off_by_default(
    make_server: Callable[..., TestServer], smtp: SmtpServer
) -> None:
    config = email_config(smtp.port)
    config["email"]["enable_notifs"] = False
    server = make_server(config)
    alice = server.user("alice")
    now = server.hs.core.clock.time_msec()
    server.get_success(
        server.hs.mail.threepids.insert_threepid(
            alice.user_id, "email", ADDRESS, validated_at=now, now=now
        )
    )
    resp = Scene.set_pusher(None, alice, expect=400)  # type: ignore[arg-type]
    assert resp.json["errcode"] == "M_INVALID_PARAM"


def test_smtp_down_is_retried_and_nothing_breaks(
    make_server: Callable[..., TestServer], smtp_server: Callable[..., SmtpServer]
) -> None:
    port = free_port()
    scene = Scene(make_server(email_config(port)))
    scene.send(scene.room, "are you coming tonight?")
    scene.server.advance(DELAY_S + 1)  # the first attempt fails: nobody listens
    # The server works on meanwhile.
    scene.send(scene.room, "still here")
    assert scene.alice.get("/pushers", expect=200).json["pushers"]
    smtp = smtp_server(port=port)
    scene.server.advance(10)  # the retry
    mail = only_mail(smtp)
    assert "are you coming tonight?" in mail.part("plain")
