"""Auth rules: invites via m.room.third_party_invite, and that event's own rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from signedjson.key import (
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)
from signedjson.sign import sign_json

from homeserver.events.auth_rules import AuthError
from homeserver.events.model import Event, EventTypes
from tests.events.auth_room import ALICE, ALL_VERSIONS, BOB, CAROL, MOD, Room

TOKEN = "tok3n"
SIGNING_KEY = generate_signing_key("1")
PUBLIC_KEY = encode_verify_key_base64(get_verify_key(SIGNING_KEY))
OTHER_KEY = generate_signing_key("2")


def _signed(mxid: str = BOB, token: str = TOKEN, key: Any = SIGNING_KEY) -> Any:
    return sign_json({"mxid": mxid, "token": token, "sender": ALICE}, "id.test", key)


def _room(version: str, invite_content: dict[str, Any] | None = None) -> Room:
    room = Room.standard(version)
    content = (
        invite_content
        if invite_content is not None
        else {"display_name": "b...", "public_key": PUBLIC_KEY}
    )
    room.set_state(EventTypes.THIRD_PARTY_INVITE, TOKEN, ALICE, content)
    return room


def _invite(room: Room, signed: Any, sender: str = ALICE, target: str = BOB) -> Event:
    return room.member(
        sender,
        target,
        "invite",
        third_party_invite={"display_name": "b...", "signed": signed},
    )


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_third_party_invite_allowed(version: str) -> None:
    room = _room(version)
    room.check(_invite(room, _signed()))


@pytest.mark.parametrize("version", ["1", "12"])
def test_third_party_invite_via_public_keys_list(version: str) -> None:
    room = _room(
        version,
        {
            "public_key": encode_verify_key_base64(get_verify_key(OTHER_KEY)),
            "public_keys": [
                "junk",
                {"public_key": 5},
                {"public_key": PUBLIC_KEY, "key_validity_url": "https://id.test/v"},
            ],
        },
    )
    room.check(_invite(room, _signed()))


def test_third_party_invite_url_safe_public_key() -> None:
    url_safe = PUBLIC_KEY.replace("+", "-").replace("/", "_")
    room = _room("10", {"public_key": url_safe})
    room.check(_invite(room, _signed()))


def test_third_party_invite_does_not_need_sender_joined_or_invite_level() -> None:
    """Rule 5.4.1.7 allows before the joined / invite level checks."""
    room = _room("10")
    room.power_levels({"users": {ALICE: 100}, "invite": 200})
    room.check(_invite(room, _signed()))


@pytest.mark.parametrize("version", ["3", "11"])
def test_third_party_invite_target_banned(version: str) -> None:
    room = _room(version)
    room.set_membership(BOB, "ban", ALICE)
    with pytest.raises(AuthError, match="banned"):
        room.check(_invite(room, _signed()))


@pytest.mark.parametrize(
    "third_party_invite",
    ["nope", {}, {"signed": "nope"}, {"signed": None}],
)
def test_third_party_invite_without_signed(third_party_invite: Any) -> None:
    room = _room("10")
    event = room.member(ALICE, BOB, "invite", third_party_invite=third_party_invite)
    with pytest.raises(AuthError, match="signed"):
        room.check(event)


@pytest.mark.parametrize("missing", ["mxid", "token"])
def test_third_party_invite_signed_missing_fields(missing: str) -> None:
    room = _room("10")
    signed = _signed()
    del signed[missing]
    with pytest.raises(AuthError, match="mxid or token"):
        room.check(_invite(room, signed))


def test_third_party_invite_mxid_mismatch() -> None:
    room = _room("10")
    with pytest.raises(AuthError, match="mxid"):
        room.check(_invite(room, _signed(mxid=CAROL)))


@pytest.mark.parametrize("token", ["other", 5])
def test_third_party_invite_unknown_token(token: Any) -> None:
    room = _room("10")
    signed = _signed()
    signed["token"] = token
    with pytest.raises(AuthError, match="token"):
        room.check(_invite(room, signed))


def test_third_party_invite_sender_must_match() -> None:
    room = _room("10")
    with pytest.raises(AuthError, match="did not send"):
        room.check(_invite(room, _signed(), sender=MOD))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s.update(signatures={}),
        lambda s: s.pop("signatures"),
        lambda s: s.update(signatures="x"),
        lambda s: s.update(signatures={"id.test": "x"}),
        lambda s: s.update(signatures={"id.test": {"ed25519:1": "!!!"}}),
        lambda s: s.update(signatures={"id.test": {"curve:1": "AAAA"}}),
        lambda s: s.update(mxid=BOB, extra="tampered"),
    ],
)
def test_third_party_invite_bad_signatures(mangle: Any) -> None:
    room = _room("10")
    signed = _signed()
    mangle(signed)
    with pytest.raises(AuthError, match="valid signature"):
        room.check(_invite(room, signed))


def test_third_party_invite_signed_by_other_key() -> None:
    room = _room("10")
    with pytest.raises(AuthError, match="valid signature"):
        room.check(_invite(room, _signed(key=OTHER_KEY)))


@pytest.mark.parametrize("content", [{}, {"public_key": 5}, {"public_key": "%%%"}])
def test_third_party_invite_event_without_usable_keys(content: Any) -> None:
    room = _room("10", content)
    with pytest.raises(AuthError, match="valid signature"):
        room.check(_invite(room, _signed()))


def test_third_party_invite_signature_from_any_server_name() -> None:
    room = _room("10")
    signed = sign_json({"mxid": BOB, "token": TOKEN}, "other.test", SIGNING_KEY)
    room.check(_invite(room, copy.deepcopy(signed)))


# --- The m.room.third_party_invite event itself ---------------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_third_party_invite_event_needs_invite_level(version: str) -> None:
    room = Room.standard(version)
    room.join(CAROL)
    event = room.event(
        EventTypes.THIRD_PARTY_INVITE, CAROL, {"public_key": "x"}, state_key="t"
    )
    room.check(event)  # invite defaults to 0, even though state_default is 50
    users = {MOD: 50} if version == "12" else {ALICE: 100, MOD: 50}
    room.power_levels({"users": users, "invite": 10})
    with pytest.raises(AuthError, match="invite"):
        room.check(event)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_third_party_invite_event_needs_sender_joined(version: str) -> None:
    room = Room.standard(version)
    event = room.event(
        EventTypes.THIRD_PARTY_INVITE, BOB, {"public_key": "x"}, state_key="t"
    )
    with pytest.raises(AuthError, match="not in the room"):
        room.check(event)
