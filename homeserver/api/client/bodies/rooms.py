"""Bodies of room creation, membership, upgrades and redactions.

Spec: client-server API, "Creation" (POST /createRoom), "Room membership",
"Room Upgrades", "Redactions".
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict

from homeserver.api.http.body import NO_NUL, JsonObject, Omittable, RequestBody, Str
from homeserver.errors import InvalidParam

Visibility = Annotated[Literal["public", "private"], NO_NUL]
Preset = Annotated[
    Literal["private_chat", "trusted_private_chat", "public_chat"], NO_NUL
]


class InitialStateEvent(RequestBody):
    """One ``initial_state`` entry of /createRoom."""

    type: Str
    state_key: Str = ""
    content: JsonObject


class CreateRoomBody(RequestBody):
    """POST /createRoom. The state it implies is checked by the service
    against the room version's rules (``validate_content``)."""

    room_version: Omittable[Str] = None
    visibility: Visibility = "private"
    preset: Preset | None = None
    invite: list[Str] = []
    creation_content: JsonObject = {}
    power_level_content_override: JsonObject = {}
    initial_state: list[InitialStateEvent] = []
    name: Omittable[Str] = None
    topic: Omittable[Str] = None
    room_alias_name: Omittable[Str] = None
    is_direct: bool = False


class MembershipBody(RequestBody):
    """POST /join, /knock and /leave: an optional reason."""

    reason: Str | None = None


# Member-event keys a /join body cannot set: the server decides them.
_SERVER_MEMBER_KEYS = frozenset(
    {"membership", "join_authorised_via_users_server", "third_party_invite"}
)


class JoinBody(MembershipBody):
    """POST /join/{roomIdOrAlias} and /rooms/{roomId}/join: a reason, and any
    other keys, which go into the member event's content (as Synapse does),
    apart from those the server decides."""

    model_config = ConfigDict(strict=True, frozen=True, extra="allow")

    def third_party_signed(self) -> JsonObject | None:
        """``third_party_signed`` (the identity server's signed block of a
        third-party invite, with ``sender``), or None when not given.

        Raises:
            InvalidParam: it is given but no object with ``sender``, ``mxid``
                and ``token`` strings and ``signatures``.
        """
        signed = (self.model_extra or {}).get("third_party_signed")
        if signed is None:
            return None
        if not (
            isinstance(signed, dict)
            and all(isinstance(signed.get(k), str) for k in ("sender", "mxid", "token"))
            and isinstance(signed.get("signatures"), dict)
        ):
            raise InvalidParam(
                "third_party_signed needs sender, mxid, token and signatures"
            )
        return signed

    def extra_content(self) -> JsonObject:
        """The keys for the member event's content besides ``reason``."""
        extra = self.model_extra or {}
        return {
            k: v
            for k, v in extra.items()
            if k not in _SERVER_MEMBER_KEYS and k != "third_party_signed"
        }


class MembershipChangeBody(RequestBody):
    """POST /rooms/{roomId}/(invite|kick|ban|unban)."""

    user_id: Str
    reason: Str | None = None
    # Not in the spec for /invite, but clients send it to mark a DM invite;
    # anything but ``true`` is ignored, as any unknown key would be.
    is_direct: Any = None


class ThirdPartyInviteBody(RequestBody):
    """POST /rooms/{roomId}/invite by third-party ID (spec "Invite by
    third-party ID"): a body with ``medium`` and ``address``."""

    id_server: Str
    id_access_token: Str
    medium: Str
    address: Str


class RoomUpgradeBody(RequestBody):
    """POST /rooms/{roomId}/upgrade."""

    new_version: Str
    additional_creators: list[Str] = []


class RedactBody(RequestBody):
    """PUT /rooms/{roomId}/redact/{eventId}/{txnId}."""

    reason: Str | None = None
