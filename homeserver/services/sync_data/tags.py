"""Room tags, kept as the per-room ``m.tag`` account data event.

Spec: client-server API, "Room Tagging". ``m.tag`` content is
``{"tags": {tag: {"order": 0..1, ...}}}``; a tag name is at most 255 bytes.
Adding or removing a tag is one read-modify-write transaction, so concurrent
changes to different tags of a room never lose each other.
"""

from __future__ import annotations

from typing import Any

from homeserver.errors import InvalidParam
from homeserver.services.accounts.auth import Requester
from homeserver.services.sync_data.account_data import (
    AccountDataService,
    check_own_user,
    check_room_id,
)
from homeserver.types import JsonDict

TAG_TYPE = "m.tag"
MAX_TAG_BYTES = 255


def _tags_of(content: JsonDict | None) -> dict[str, Any]:
    """The tags in ``m.tag`` content, tolerating content a client set directly."""
    tags = (content or {}).get("tags")
    return dict(tags) if isinstance(tags, dict) else {}


def _check_tag(tag: str) -> None:
    if len(tag.encode("utf-8", "surrogatepass")) > MAX_TAG_BYTES:
        raise InvalidParam("Tag names must not exceed 255 bytes")


class TagService:
    """Lists, adds and removes a user's tags on a room."""

    def __init__(self, account_data: AccountDataService) -> None:
        self.account_data = account_data

    async def get_tags(
        self, requester: Requester, user_id: str, room_id: str
    ) -> JsonDict:
        """GET /user/{userId}/rooms/{roomId}/tags."""
        check_own_user(requester, user_id, "tags")
        check_room_id(room_id)
        content = await self.account_data.get_room_data(user_id, room_id, TAG_TYPE)
        return {"tags": _tags_of(content)}

    async def add_tag(
        self,
        requester: Requester,
        user_id: str,
        room_id: str,
        tag: str,
        tag_content: JsonDict,
    ) -> JsonDict:
        """PUT /user/{userId}/rooms/{roomId}/tags/{tag}: add or replace a tag.

        Args:
            requester: whose tag.
            user_id: the requester's user ID.
            room_id: the tagged room.
            tag: the tag's name.
            tag_content: its content, as sent (an ``order``, if any, is a
                number in [0, 1]: ``TagBody`` checks it).
        """
        check_own_user(requester, user_id, "tags")
        check_room_id(room_id)
        _check_tag(tag)

        def add(content: JsonDict | None) -> JsonDict | None:
            tags = _tags_of(content)
            tags[tag] = tag_content
            return {**(content or {}), "tags": tags}

        await self.account_data.update_room_data(user_id, room_id, TAG_TYPE, add)
        return {}

    async def remove_tag(
        self, requester: Requester, user_id: str, room_id: str, tag: str
    ) -> JsonDict:
        """DELETE /user/{userId}/rooms/{roomId}/tags/{tag}.

        Removing a tag the room does not have succeeds without a change (and
        without moving the stream), as Synapse answers it.
        """
        check_own_user(requester, user_id, "tags")
        check_room_id(room_id)

        def remove(content: JsonDict | None) -> JsonDict | None:
            tags = _tags_of(content)
            if tag not in tags:
                return None
            del tags[tag]
            return {**(content or {}), "tags": tags}

        await self.account_data.update_room_data(user_id, room_id, TAG_TYPE, remove)
        return {}
