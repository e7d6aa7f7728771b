"""Who ignores whom, in memory, for push rule evaluation: an event of an
ignored user notifies nobody who ignores them (spec: "Ignoring Users").

Loaded with one query on first use (every user's ``m.ignored_user_list``),
then kept current from ``account_data_changed``.
"""

from __future__ import annotations

from typing import Protocol

from homeserver.services.reading.personal import IGNORED_USER_LIST, ignored_users_of
from homeserver.signals import AccountDataChanged
from homeserver.types import JsonDict


class IgnoreListSource(Protocol):
    """Reads ``m.ignored_user_list`` (the account data store)."""

    async def get_global_of_type(self, data_type: str) -> dict[str, JsonDict]:
        """Every user's global account data of one type."""

    async def get_account_data(
        self, user_id: str, room_id: str, data_type: str
    ) -> JsonDict | None:
        """One user's account data of one type."""


class IgnoredBy:
    """The reverse of everyone's ignore lists: user -> who ignores them.

    Args:
        source: where ignore lists are read.
    """

    def __init__(self, source: IgnoreListSource) -> None:
        self.source = source
        self._lists: dict[str, frozenset[str]] | None = None
        self._ignorers: dict[str, set[str]] = {}

    async def ignorers_of(self, sender: str) -> frozenset[str]:
        """The users who ignore ``sender``."""
        if self._lists is None:
            found = await self.source.get_global_of_type(IGNORED_USER_LIST)
            if self._lists is None:
                self._lists = {}
                for user_id, content in found.items():
                    self._set(user_id, ignored_users_of(content))
        return frozenset(self._ignorers.get(sender, ()))

    async def on_account_data_changed(self, change: AccountDataChanged) -> None:
        """A user's ignore list may have changed: re-read it."""
        if change.room_id is not None or change.data_type != IGNORED_USER_LIST:
            return
        content = await self.source.get_account_data(
            change.user_id, "", IGNORED_USER_LIST
        )
        if self._lists is not None:
            self._set(change.user_id, ignored_users_of(content))

    def _set(self, user_id: str, ignored: frozenset[str]) -> None:
        assert self._lists is not None
        for old in self._lists.get(user_id, frozenset()) - ignored:
            self._ignorers.get(old, set()).discard(user_id)
        for new in ignored:
            self._ignorers.setdefault(new, set()).add(user_id)
        self._lists[user_id] = ignored
