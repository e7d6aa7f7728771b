"""The ``m.room.member`` authorization rule, including third-party invites.

Spec: rooms/v1 to v12 "Authorization rules", the ``m.room.member`` rule (rule 5
in v1-v5 and v12, rule 4 in v6-v11), with v7's knocking, v8's restricted joins
(``join_authorised_via_users_server``), v10's ``knock_restricted``, and v11's
implicit creator. Pure: no I/O; the only signature checks are an injected
callable and ed25519 verification of the third-party invite ``signed`` block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from signedjson.key import decode_verify_key_bytes
from signedjson.sign import verify_signed_json
from unpaddedbase64 import decode_base64

from homeserver.events.auth_common import (
    AuthError,
    AuthEvents,
    join_rule_of,
    membership_of,
    short_repr,
)
from homeserver.events.ids import is_valid_user_id, try_domain_of
from homeserver.events.model import Event, EventTypes, JoinRules, Membership
from homeserver.events.power_levels import (
    get_named_power_level,
    get_user_power_level,
)
from homeserver.types import JsonDict

AUTHORISING_USER = "join_authorised_via_users_server"

SignatureVerifier = Callable[[Event, str], bool]
"""``verify_signature(event, server_name)``: is the event signed by that server?"""


def check_membership(
    event: Event,
    auth_events: AuthEvents,
    create: Event,
    verify_signature: SignatureVerifier | None,
) -> None:
    """Whether a membership change is allowed.

    Args:
        event: the ``m.room.member`` event.
        auth_events: the auth state.
        create: the room's create event.
        verify_signature: checks a server's signature on the event; None makes
            ``join_authorised_via_users_server`` fail closed.

    Raises:
        AuthError: it is not allowed.
    """
    target = event.state_key
    if not event.is_state() or target is None:
        raise AuthError("Membership event has no state_key")
    content = event.content
    if "membership" not in content:
        raise AuthError("Membership event has no membership")
    membership = content["membership"]
    version = event.room_version
    if version.restricted_join_rule and AUTHORISING_USER in content:
        _check_authorising_server_signed(event, content, verify_signature)
    if membership == Membership.JOIN:
        _check_join(event, target, auth_events, create)
    elif membership == Membership.INVITE:
        _check_invite(event, target, auth_events)
    elif membership == Membership.LEAVE:
        _check_leave(event, target, auth_events)
    elif membership == Membership.BAN:
        _check_ban(event, target, auth_events)
    elif membership == Membership.KNOCK and version.knock:
        _check_knock(event, target, auth_events)
    else:
        raise AuthError(f"Unknown membership {short_repr(membership)}")


def _check_authorising_server_signed(
    event: Event, content: JsonDict, verify_signature: SignatureVerifier | None
) -> None:
    authoriser = content[AUTHORISING_USER]
    if not is_valid_user_id(authoriser):
        raise AuthError(f"{AUTHORISING_USER} is not a valid user ID")
    server_name = try_domain_of(authoriser)
    if verify_signature is None or server_name is None:
        raise AuthError("Cannot verify the authorising server's signature")
    if not verify_signature(event, server_name):
        raise AuthError(f"Join not signed by the authorising server {server_name}")


def _check_join(
    event: Event, target: str, auth_events: AuthEvents, create: Event
) -> None:
    version = event.room_version
    # The creator's own first join, straight after the create event. The spec
    # does not require sender == state_key here (nor does Synapse).
    creator: Any = (
        create.sender
        if version.implicit_room_creator
        else create.content.get("creator")
    )
    if event.prev_event_ids == [create.event_id] and target == creator:
        return
    if event.sender != target:
        raise AuthError("Cannot make another user join")
    current = membership_of(target, auth_events)
    if current == Membership.BAN:
        raise AuthError(f"{target} is banned from the room")
    rule = join_rule_of(auth_events)
    if rule == JoinRules.INVITE or (version.knock and rule == JoinRules.KNOCK):
        if current in (Membership.INVITE, Membership.JOIN):
            return
        raise AuthError(f"{target} is not invited to the room")
    if (version.restricted_join_rule and rule == JoinRules.RESTRICTED) or (
        version.knock_restricted_join_rule and rule == JoinRules.KNOCK_RESTRICTED
    ):
        if current in (Membership.JOIN, Membership.INVITE):
            return
        _check_join_authoriser(event.content.get(AUTHORISING_USER), auth_events)
        return
    if rule == JoinRules.PUBLIC:
        return
    raise AuthError(f"Cannot join a room whose join rule is {short_repr(rule)}")


def _check_join_authoriser(authoriser: Any, auth_events: AuthEvents) -> None:
    if not isinstance(authoriser, str):
        raise AuthError(f"Restricted join lacks {AUTHORISING_USER}")
    if membership_of(authoriser, auth_events) != Membership.JOIN:
        raise AuthError(f"Authorising user {authoriser} is not in the room")
    invite_level = get_named_power_level("invite", auth_events)
    if get_user_power_level(authoriser, auth_events) < invite_level:
        raise AuthError(f"Authorising user {authoriser} cannot invite")


def _check_invite(event: Event, target: str, auth_events: AuthEvents) -> None:
    if "third_party_invite" in event.content:
        _check_third_party_invite(event, target, auth_events)
        return
    if membership_of(event.sender, auth_events) != Membership.JOIN:
        raise AuthError(f"{event.sender} is not in the room")
    target_membership = membership_of(target, auth_events)
    if target_membership == Membership.JOIN:
        raise AuthError(f"{target} is already in the room")
    if target_membership == Membership.BAN:
        raise AuthError(f"{target} is banned from the room")
    invite_level = get_named_power_level("invite", auth_events)
    if get_user_power_level(event.sender, auth_events) < invite_level:
        raise AuthError("You don't have permission to invite users")


def _check_third_party_invite(
    event: Event, target: str, auth_events: AuthEvents
) -> None:
    if membership_of(target, auth_events) == Membership.BAN:
        raise AuthError(f"{target} is banned from the room")
    third_party_invite = event.content["third_party_invite"]
    signed = (
        third_party_invite.get("signed")
        if isinstance(third_party_invite, dict)
        else None
    )
    if not isinstance(signed, dict):
        raise AuthError("third_party_invite has no signed block")
    if "mxid" not in signed or "token" not in signed:
        raise AuthError("third_party_invite.signed lacks mxid or token")
    if signed["mxid"] != target:
        raise AuthError("third_party_invite.signed.mxid does not match state_key")
    token = signed["token"]
    invite = (
        auth_events.get((EventTypes.THIRD_PARTY_INVITE, token))
        if isinstance(token, str)
        else None
    )
    if invite is None:
        raise AuthError("No m.room.third_party_invite for that token")
    if invite.sender != event.sender:
        raise AuthError("Sender did not send the third-party invite")
    if not third_party_signed_by_invite_keys(signed, invite):
        raise AuthError("third_party_invite.signed has no valid signature")


def third_party_public_keys(invite: Event) -> list[str]:
    """The public keys of an ``m.room.third_party_invite`` event.

    Args:
        invite: the event.

    Returns:
        ``content.public_key`` then each ``content.public_keys[].public_key``;
        malformed entries are skipped.
    """
    content = invite.content
    keys = []
    if isinstance(content.get("public_key"), str):
        keys.append(content["public_key"])
    listed = content.get("public_keys")
    if isinstance(listed, list):
        for entry in listed:
            if isinstance(entry, dict) and isinstance(entry.get("public_key"), str):
                keys.append(entry["public_key"])
    return keys


def third_party_signed_by_invite_keys(signed: JsonDict, invite: Event) -> bool:
    """Whether any ed25519 signature in ``signed`` matches a key of ``invite``.

    Args:
        signed: ``content.third_party_invite.signed`` of the member event.
        invite: the ``m.room.third_party_invite`` event it answers.

    Returns:
        True if some signature verifies under some public key (unpadded
        standard or URL-safe base64).
    """
    return third_party_signing_key(signed, invite) is not None


def third_party_signing_key(signed: JsonDict, invite: Event) -> str | None:
    """The public key of ``invite`` that a signature in ``signed`` verifies
    under (as listed in the invite), or None."""
    signatures = signed.get("signatures")
    if not isinstance(signatures, dict):
        return None
    public_keys = third_party_public_keys(invite)
    for server_name, by_key in signatures.items():
        if not isinstance(by_key, dict):
            continue
        for key_id in by_key:
            if not isinstance(key_id, str) or not key_id.startswith("ed25519:"):
                continue
            for public_key in public_keys:
                if _verifies(signed, server_name, key_id, public_key):
                    return public_key
    return None


def _verifies(signed: JsonDict, server_name: str, key_id: str, public_key: str) -> bool:
    try:
        verify_key = decode_verify_key_bytes(key_id, decode_base64(public_key))
        verify_signed_json(signed, server_name, verify_key)
    except Exception:  # noqa: BLE001 - bad key, bad base64, bad JSON: no match
        return False
    return True


def _check_leave(event: Event, target: str, auth_events: AuthEvents) -> None:
    sender = event.sender
    sender_membership = membership_of(sender, auth_events)
    if sender == target:
        may_leave = {Membership.INVITE, Membership.JOIN}
        if event.room_version.knock:
            may_leave.add(Membership.KNOCK)
        if sender_membership in may_leave:
            return
        raise AuthError(f"{sender} cannot leave from {sender_membership!r}")
    if sender_membership != Membership.JOIN:
        raise AuthError(f"{sender} is not in the room")
    sender_level = get_user_power_level(sender, auth_events)
    if membership_of(target, auth_events) == Membership.BAN:
        if sender_level < get_named_power_level("ban", auth_events):
            raise AuthError(f"You cannot unban {target}")
    kick_level = get_named_power_level("kick", auth_events)
    target_level = get_user_power_level(target, auth_events)
    if sender_level >= kick_level and target_level < sender_level:
        return
    raise AuthError(f"You cannot kick {target}")


def _check_ban(event: Event, target: str, auth_events: AuthEvents) -> None:
    if membership_of(event.sender, auth_events) != Membership.JOIN:
        raise AuthError(f"{event.sender} is not in the room")
    sender_level = get_user_power_level(event.sender, auth_events)
    ban_level = get_named_power_level("ban", auth_events)
    target_level = get_user_power_level(target, auth_events)
    if sender_level >= ban_level and target_level < sender_level:
        return
    raise AuthError(f"You cannot ban {target}")


def _check_knock(event: Event, target: str, auth_events: AuthEvents) -> None:
    rule = join_rule_of(auth_events)
    knockable = {JoinRules.KNOCK}
    if event.room_version.knock_restricted_join_rule:
        knockable.add(JoinRules.KNOCK_RESTRICTED)
    if rule not in knockable:
        raise AuthError(f"Cannot knock on a room whose join rule is {short_repr(rule)}")
    if event.sender != target:
        raise AuthError("Cannot knock on behalf of another user")
    current = membership_of(event.sender, auth_events)
    if current in (Membership.BAN, Membership.INVITE, Membership.JOIN):
        raise AuthError(f"Cannot knock with membership {current!r}")
