"""The media admin API, at Synapse's paths so that admin tools (synadm) work:
media info, quarantine (by file, room or user), protection from quarantine,
and the media of a room.

As Synapse's ``docs/admin_api/media_admin_api.md`` documents them. Deleting
media is in ``admin_delete.py``, other servers' cached media in
``admin_remote.py``. Quarantined media is still stored but served
nowhere (the repository refuses it). Where Synapse answers 200 for a local
media ID it does not know, this server answers 404 M_NOT_FOUND.
"""

from __future__ import annotations

import json
import logging

import attrs

from homeserver.errors import Codes, InvalidParam, MatrixError, NotFound
from homeserver.services.media.admin_remote import RemoteMediaAdmin
from homeserver.services.media.storage import MEDIA_ID_RE
from homeserver.storage.stores.media_admin import (
    ORDER_COLUMNS,
    MediaAdminStore,
    MediaRecord,
)
from homeserver.storage.stores.users import UserStore
from homeserver.types import JsonDict, UserID

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 100


@attrs.frozen
class MediaPage:
    """Which of a user's media to list or delete (Synapse's parameters).

    Args:
        start: ``from``, how many to skip.
        limit: the most to take.
        order_by: a column of ``ORDER_COLUMNS``.
        forwards: ascending order (``dir=f``).
    """

    start: int
    limit: int
    order_by: str
    forwards: bool

    @classmethod
    def parse(
        cls,
        start: int | None,
        limit: int | None,
        order_by: str | None,
        direction: str | None,
    ) -> MediaPage:
        """From the query parameters; newest first when neither ``order_by``
        nor ``dir`` is given, as Synapse does.

        Raises:
            InvalidParam: a negative ``from`` or ``limit``, an unknown
                ``order_by``, a ``dir`` other than ``f`` or ``b``.
        """
        start = 0 if start is None else start
        limit = DEFAULT_LIMIT if limit is None else limit
        if start < 0:
            raise InvalidParam(
                "Query parameter from must be a string representing a positive integer."
            )
        if limit < 0:
            raise InvalidParam(
                "Query parameter limit must be a string representing a positive integer."
            )
        if order_by is None and direction is None:
            return cls(start, limit, "created_ts", False)
        if order_by is not None and order_by not in ORDER_COLUMNS:
            raise InvalidParam(
                f"Query parameter order_by must be one of {sorted(ORDER_COLUMNS)}"
            )
        if direction not in (None, "f", "b"):
            raise InvalidParam("Query parameter dir must be one of ['b', 'f']")
        return cls(start, limit, order_by or "created_ts", direction != "b")


def check_media_id(media_id: str) -> None:
    """400 M_INVALID_PARAM for a media ID this server never makes or stores."""
    if not MEDIA_ID_RE.match(media_id):
        raise MatrixError(400, "Invalid media ID", Codes.INVALID_PARAM)


def record_json(record: MediaRecord) -> JsonDict:
    """One entry of a user's media list (Synapse's fields)."""
    return {
        "media_id": record.media_id,
        "media_type": record.media_type,
        "media_length": record.media_length,
        "upload_name": record.upload_name,
        "created_ts": record.created_ts,
        "last_access_ts": record.last_access_ts,
        "quarantined_by": record.quarantined_by,
        "safe_from_quarantine": record.safe_from_quarantine,
    }


def mxc_uris_of(content: object) -> list[str]:
    """The ``mxc://`` URIs an event's content names as a file: ``url``,
    ``info.thumbnail_url`` and those of encrypted attachments (``file.url``,
    ``info.thumbnail_file.url``)."""
    if not isinstance(content, dict):
        return []
    info = content.get("info")
    info = info if isinstance(info, dict) else {}
    candidates = [content.get("url"), info.get("thumbnail_url")]
    for holder in (content.get("file"), info.get("thumbnail_file")):
        if isinstance(holder, dict):
            candidates.append(holder.get("url"))
    return [c for c in candidates if isinstance(c, str) and c.startswith("mxc://")]


def split_mxc(uri: str) -> tuple[str, str] | None:
    """``(server_name, media_id)`` of an ``mxc://`` URI, or None if malformed."""
    server_name, _, media_id = uri[len("mxc://") :].partition("/")
    if not server_name or not MEDIA_ID_RE.match(media_id):
        return None
    return server_name, media_id


class MediaAdmin:
    """Media info, quarantine and room media for server admins.

    Args:
        server_name: this server's name.
        store: local media records.
        users: to tell a local user that does not exist.
        remote: the same for other servers' media (and the cache purge).
    """

    def __init__(
        self,
        *,
        server_name: str,
        store: MediaAdminStore,
        users: UserStore,
        remote: RemoteMediaAdmin,
    ) -> None:
        self.server_name = server_name
        self.store = store
        self.users = users
        self.remote = remote

    async def _known(self, media_id: str) -> MediaRecord:
        """The record of a local media ID; 404 if unknown."""
        check_media_id(media_id)
        record = await self.store.get_record(media_id)
        if record is None:
            raise NotFound("Unknown media")
        return record

    async def media_info(self, server_name: str, media_id: str) -> JsonDict:
        """GET /media/{serverName}/{mediaId}: ``{media_info: {...}}``, of a
        local file or a cached remote one (404 if unknown or not cached)."""
        if server_name != self.server_name:
            check_media_id(media_id)
            return {"media_info": await self.remote.media_info(server_name, media_id)}
        record = await self._known(media_id)
        info = record_json(record)
        info.update(
            media_origin=None,
            user_id=record.user_id,
            filesystem_id=None,
            url_cache=None,
            quarantined=record.quarantined,
            authenticated=record.authenticated,
            sha256=None,
        )
        return {"media_info": info}

    async def quarantine(self, server_name: str, media_id: str, by: UserID) -> None:
        """Quarantine one file: a local one unless it is protected (404 if
        unknown), another server's whether cached or not."""
        if server_name != self.server_name:
            check_media_id(media_id)
            await self.remote.quarantine(server_name, media_id)
            return
        await self._known(media_id)
        await self.store.quarantine([media_id], str(by))
        logger.info("media quarantined", extra={"media_id": media_id})

    async def unquarantine(self, server_name: str, media_id: str) -> None:
        """Serve a quarantined file again."""
        if server_name != self.server_name:
            check_media_id(media_id)
            await self.remote.unquarantine(server_name, media_id)
            return
        await self._known(media_id)
        await self.store.unquarantine(media_id)

    async def set_protected(self, media_id: str, protected: bool) -> None:
        """POST /media/protect|unprotect/{mediaId} (local media only)."""
        await self._known(media_id)
        await self.store.set_protected(media_id, protected)

    async def room_media(self, room_id: str) -> JsonDict:
        """GET /room/{roomId}/media: the ``mxc://`` URIs of files the room's
        (unencrypted) events name, ``{local: [...], remote: [...]}``, each
        once, in the order they were first sent.

        Raises:
            NotFound: this server does not know the room.
        """
        if not await self.store.room_exists(room_id):
            raise NotFound("Unknown room")
        local: dict[str, None] = {}
        remote: dict[str, None] = {}
        for raw in await self.store.room_event_json_with_mxc(room_id):
            for uri in mxc_uris_of(json.loads(raw).get("content")):
                parts = split_mxc(uri)
                if parts is None:
                    continue
                (local if parts[0] == self.server_name else remote)[uri] = None
        return {"local": list(local), "remote": list(remote)}

    async def quarantine_room(self, room_id: str, by: UserID) -> JsonDict:
        """POST /room/{roomId}/media/quarantine: ``{num_quarantined}``, its
        local files (but protected ones) and other servers' files (cached or
        not; a server name that could not be one is skipped)."""
        media = await self.room_media(room_id)
        media_ids = [uri.rsplit("/", 1)[1] for uri in media["local"]]
        count = await self.store.quarantine(media_ids, str(by))
        for uri in media["remote"]:
            server_name, media_id = uri[len("mxc://") :].split("/", 1)
            try:
                await self.remote.quarantine(server_name, media_id)
            except MatrixError:
                continue
            count += 1
        logger.info("room media quarantined", extra={"room_id": room_id})
        return {"num_quarantined": count}

    async def local_user(self, user_id: str) -> str:
        """A local user who exists (``user_id`` as given).

        Raises:
            MatrixError: 400 M_INVALID_PARAM for a malformed or remote user;
                404 M_NOT_FOUND for an unknown one.
        """
        user = UserID.parse(user_id)
        if user.domain != self.server_name:
            raise MatrixError(400, "Can only look up local users", Codes.INVALID_PARAM)
        if await self.users.get_user(user_id) is None:
            raise NotFound("Unknown user")
        return user_id

    async def quarantine_user(self, user_id: str, by: UserID) -> JsonDict:
        """POST /user/{userId}/media/quarantine: ``{num_quarantined}``."""
        await self.local_user(user_id)
        count = await self.store.quarantine_user(user_id, str(by))
        logger.info("user media quarantined", extra={"target_user_id": user_id})
        return {"num_quarantined": count}

    async def list_user_media(self, user_id: str, page: MediaPage) -> JsonDict:
        """GET /users/{userId}/media: ``{media, total, next_token?}``."""
        await self.local_user(user_id)
        records, total = await self.store.list_user_media(
            user_id, page.start, page.limit, page.order_by, page.forwards
        )
        result: JsonDict = {"media": [record_json(r) for r in records], "total": total}
        if page.start + page.limit < total:
            result["next_token"] = page.start + len(records)
        return result
