"""The pure parts of email pushers: the per-room throttle, unsubscribe
tokens, and what a digest says."""

from __future__ import annotations

from homeserver.services.push.email import throttle
from homeserver.services.push.email.digest import (
    message_line,
    room_link,
    room_title,
    subject_and_summary,
)
from homeserver.services.push.email.unsubscribe import (
    PusherKey,
    UnsubscribeSigner,
    derive_secret,
)
from homeserver.storage.stores.email_throttle import RoomThrottle

MIN = 60_000
KEY = PusherKey(user_id="@a:x", app_id="m.email", pushkey="a@example.org")


def test_throttle_grows_while_busy_and_resets_when_quiet() -> None:
    first = throttle.after_sending(None, 0)
    assert first == RoomThrottle(last_sent_ts=0, throttle_ms=10 * MIN)
    assert throttle.ready_at(first) == 10 * MIN
    second = throttle.after_sending(first, 10 * MIN)
    assert second.throttle_ms == throttle.THROTTLE_MAX_MS  # 10 min * 144 = 24 h
    third = throttle.after_sending(second, 10 * MIN + second.throttle_ms)
    assert third.throttle_ms == throttle.THROTTLE_MAX_MS
    # Quiet for over 12 hours past its back-off: start afresh.
    quiet_at = throttle.ready_at(third) + throttle.THROTTLE_RESET_AFTER_MS + 1
    assert throttle.after_sending(third, quiet_at).throttle_ms == 10 * MIN
    assert throttle.ready_at(None) == 0


def test_unsubscribe_token_round_trip_and_forgery() -> None:
    signer = UnsubscribeSigner(derive_secret(b"k" * 32))
    token = signer.token_for(KEY)
    assert signer.verify(token) == KEY
    other = UnsubscribeSigner(derive_secret(b"j" * 32))
    assert other.verify(token) is None
    payload, mac = token.split(".")
    forged = other.token_for(PusherKey(user_id="@b:x", app_id="m.email", pushkey="b"))
    assert signer.verify(f"{forged.split('.')[0]}.{mac}") is None
    assert signer.verify(payload) is None
    assert signer.verify("") is None
    assert signer.verify("@@@.###") is None
    assert signer.verify("é.é") is None


def test_encrypted_message_says_nothing_of_its_content() -> None:
    line = message_line(
        event_type="m.room.encrypted",
        content={"ciphertext": "SECRET"},
        sender_id="@b:x",
        sender_name="Bob",
        ts=0,
    )
    assert line.encrypted and line.body == ""
    assert line.time == "1970-01-01 00:00 UTC"


def test_message_lines() -> None:
    def body(content: object, event_type: str = "m.room.message") -> str:
        return message_line(
            event_type=event_type, content=content, sender_id="s", sender_name="S", ts=0
        ).body

    assert body({"msgtype": "m.text", "body": "hi"}) == "hi"
    assert body({"msgtype": "m.emote", "body": "waves"}) == "* waves"
    assert body({"msgtype": "m.image", "body": "cat.png"}) == "sent an image"
    assert body({"msgtype": "m.text", "body": "x" * 5000}) == "x" * 1000
    assert body("not a dict") == "sent a message"
    assert body({}, "m.sticker") == "sent a sticker"


def test_titles_links_and_subjects() -> None:
    assert room_title(name="Club", alias="#c:x", others=[], room_id="!r:x") == "Club"
    assert room_title(name=None, alias="#c:x", others=["A"], room_id="!r:x") == "#c:x"
    assert room_title(name=None, alias=None, others=["A", "B"], room_id="!r") == (
        "A and B"
    )
    assert room_title(name=None, alias=None, others=["A", "B", "C"], room_id="!") == (
        "A and 2 others"
    )
    assert room_link(None, "!r:x") == "https://matrix.to/#/!r:x"
    assert (
        room_link("https://app.example/", "!r:x") == "https://app.example/#/room/!r:x"
    )
    from homeserver.services.push.email.digest import RoomDigest

    line = message_line(
        event_type="m.room.message",
        content={"body": "b"},
        sender_id="@b:x",
        sender_name="Bob",
        ts=0,
    )
    one = RoomDigest(room_id="!r", title="Club", link="l", messages=(line,))
    subject, summary = subject_and_summary("Chatly", [one])
    assert subject == "[Chatly] You have 1 unread message from Bob in Club"
    assert summary == "You have 1 unread message from Bob in Club."
    two = RoomDigest(room_id="!s", title="Other", link="l", messages=(line, line))
    subject, _ = subject_and_summary("Chatly", [one, two])
    assert subject == "[Chatly] You have 3 unread messages in Club and 1 other room"
