"""What one user has chosen not to see: ignored users and hidden events.

Two things take events out of one user's view, and nobody else's:

* Ignoring users (spec: client-server API, "Ignoring Users"): the
  ``m.ignored_user_list`` global account data. Non-state events sent by an
  ignored user are left out; state events are kept, "so that parts, such as
  the room name, do not appear different". Invites from ignored users and
  their to-device messages are dropped from /sync too.
* Delete for me (a Chatly extension, docs/extensions/delete-for-me.md): the
  events the user has hidden.

Every read path (/sync, /messages, /context, /event, /relations, /threads
and bundled aggregations, search, the legacy /events and /initialSync) asks
this one place: ``await personal.view(user_id)`` once per
request, then ``view.filter(events)`` or ``view.hides(event)``. A change to
either list applies to the next request: nothing already sent is taken back
by the server (clients re-sync or drop the events themselves, as the spec
says for ignoring).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import attrs

from homeserver.events.model import Event
from homeserver.storage.stores.hidden_events import HiddenEventsStore
from homeserver.types import JsonDict

IGNORED_USER_LIST = "m.ignored_user_list"


def ignored_users_of(content: JsonDict | None) -> frozenset[str]:
    """The user IDs an ``m.ignored_user_list`` content ignores (an invalid
    content ignores nobody, as in Synapse)."""
    ignored = (content or {}).get("ignored_users")
    if not isinstance(ignored, dict):
        return frozenset()
    return frozenset(u for u in ignored if isinstance(u, str))


class GlobalAccountData(Protocol):
    """Reads a user's global account data (the sync_data domain has it)."""

    async def get_global_data(self, user_id: str, data_type: str) -> JsonDict | None:
        """One type of the user's global account data, or None."""
        ...


@attrs.frozen
class PersonalView:
    """One user's ignored senders and hidden events, read once per request.

    Args:
        user_id: whose view this is.
        ignored: the senders the user ignores.
        hidden: the events the user has hidden ("delete for me").
    """

    user_id: str
    ignored: frozenset[str] = frozenset()
    hidden: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        """Whether nothing is taken out (callers may skip filtering)."""
        return not self.ignored and not self.hidden

    def hides(self, event: Event) -> bool:
        """Whether ``event`` is left out of this user's view."""
        if event.event_id in self.hidden:
            return True
        return event.state_key is None and event.sender in self.ignored

    def filter(self, events: Iterable[Event]) -> list[Event]:
        """``events`` without those this user does not see, in order."""
        if self.empty:
            return list(events)
        return [e for e in events if not self.hides(e)]

    def ignores(self, sender: str) -> bool:
        """Whether the user ignores ``sender`` (for invites and to-device)."""
        return sender in self.ignored


class PersonalFilter:
    """The one place that knows what each user has chosen not to see.

    Args:
        account_data: where ``m.ignored_user_list`` is read.
        hidden: the hidden events store (it caches each user's set).
    """

    def __init__(self, account_data: GlobalAccountData, hidden: HiddenEventsStore):
        self.account_data = account_data
        self.hidden = hidden

    async def ignored_users(self, user_id: str) -> frozenset[str]:
        """The users ``user_id`` ignores: a cheap check for counts and invites."""
        content = await self.account_data.get_global_data(user_id, IGNORED_USER_LIST)
        return ignored_users_of(content)

    async def view(self, user_id: str) -> PersonalView:
        """What ``user_id`` does not see, for one request."""
        return PersonalView(
            user_id,
            await self.ignored_users(user_id),
            await self.hidden.get_hidden_event_ids(user_id),
        )

    async def filter_events(self, user_id: str, events: Sequence[Event]) -> list[Event]:
        """``events`` without the ignored users' and the hidden ones."""
        return (await self.view(user_id)).filter(events)

    async def hide(self, user_id: str, events: Sequence[Event]) -> list[Event]:
        """``filter_events`` under the name relations' ``EventHider`` port uses."""
        return await self.filter_events(user_id, events)

    async def is_hidden(self, user_id: str, event: Event) -> bool:
        """Whether ``user_id`` does not see ``event``."""
        return (await self.view(user_id)).hides(event)
