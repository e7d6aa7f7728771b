"""POST /user_directory/search: ranked search over the users one may find.

Spec: client-server API, "User directory". As in Synapse, a searcher finds
users who share a joined room with them and users joined to public rooms
(join rule ``public`` or history ``world_readable``), on any server; with
``user_directory.search_all_users`` also every local user. Each word of the
search term must begin a word of the user's ID or display name (prefix
matching, as Synapse's full-text search does).
"""

from __future__ import annotations

import re

from homeserver.config.model import UserDirectoryConfig
from homeserver.services.accounts.auth import Requester
from homeserver.storage.stores.user_directory import DirectoryEntry, UserDirectoryStore
from homeserver.types import JsonDict

MAX_LIMIT = 50
# Candidates fetched before ranking: enough that the best ``limit`` are in it.
CANDIDATE_CAP = 1000
_WORD = re.compile(r"\w+", re.UNICODE)


def words_of(text: str) -> list[str]:
    """The lower-cased words of ``text`` (letters, digits, underscores)."""
    return _WORD.findall(text.lower())


class UserDirectoryService:
    """Searches the user directory.

    Args:
        config: the ``user_directory`` section.
        server_name: this server (for ``prefer_local_users``).
        store: the directory's tables and search query.
    """

    def __init__(
        self, config: UserDirectoryConfig, server_name: str, store: UserDirectoryStore
    ) -> None:
        self.config = config
        self.server_name = server_name
        self.store = store

    async def search(self, requester: Requester, term: str, limit: int) -> JsonDict:
        """The best ``limit`` matches (at most 50) and whether there were more.

        Args:
            requester: who searches.
            term: the search term; an empty one (or one with no words) finds
                nobody.
            limit: how many results (clamped to 0..50, as Synapse).
        """
        limit = max(0, min(limit, MAX_LIMIT))
        wanted = words_of(term)
        if not self.config.enabled or not wanted:
            return {"limited": False, "results": []}
        candidates = await self.store.search(
            requester.user_id,
            wanted,
            all_local=self.config.search_all_users,
            cap=CANDIDATE_CAP,
        )
        found = [c for c in candidates if _matches(c, wanted)]
        found.sort(key=lambda c: self._rank(c, term.strip().lower()))
        return {
            "limited": len(found) > limit,
            "results": [_entry(c) for c in found[:limit]],
        }

    def _rank(self, entry: DirectoryEntry, term: str) -> tuple[int, int, int, int, str]:
        """Sort key, best first: local users first when configured; an exact
        match of the localpart or display name, then one they start with;
        users with a display name, then with an avatar; then by user ID."""
        localpart = entry.user_id[1:].split(":", 1)[0].lower()
        name = (entry.display_name or "").lower()
        if term in (localpart, name, entry.user_id.lower()):
            closeness = 0
        elif localpart.startswith(term) or name.startswith(term):
            closeness = 1
        else:
            closeness = 2
        local_first = int(self.config.prefer_local_users and not entry.local)
        return (
            local_first,
            closeness,
            int(entry.display_name is None),
            int(entry.avatar_url is None),
            entry.user_id,
        )


def _matches(entry: DirectoryEntry, wanted: list[str]) -> bool:
    """Whether each wanted word begins a word of the user ID or name."""
    have = words_of(entry.user_id) + words_of(entry.display_name or "")
    return all(any(w.startswith(word) for w in have) for word in wanted)


def _entry(entry: DirectoryEntry) -> JsonDict:
    """A result as Synapse gives it: display name and avatar null when unset."""
    return {
        "user_id": entry.user_id,
        "display_name": entry.display_name,
        "avatar_url": entry.avatar_url,
    }
