"""Signal receivers that call the plugins' notification hooks.

The hooks hang off the typed signals (``homeserver/signals``): the bind step
connects these receivers, and each emit calls the hook's implementations in
the background (``HookCaller.notify``), so a slow plugin never delays the
change's request or the other receivers.
"""

from __future__ import annotations

import copy

from homeserver.events.model import Event
from homeserver.plugins.caller import HookCaller
from homeserver.plugins.types import JsonDict, PresenceUpdate
from homeserver.signals import (
    MembershipChanged,
    NewEvent,
    PresenceChanged,
    ProfileChanged,
)


def event_json(event: Event) -> JsonDict:
    """An event in the client format, as plugins get it (a deep copy)."""
    out: JsonDict = {
        "event_id": event.event_id,
        "room_id": event.room_id,
        "sender": event.sender,
        "type": event.type,
        "content": copy.deepcopy(event.content),
        "origin_server_ts": event.origin_server_ts,
    }
    if event.state_key is not None:
        out["state_key"] = event.state_key
    if event.redacts is not None:
        out["redacts"] = event.redacts
    return out


class PluginReceivers:
    """Receivers of the signals plugins are told about."""

    def __init__(self, hooks: HookCaller) -> None:
        self.hooks = hooks

    def on_new_event(self, change: NewEvent) -> None:
        self.hooks.notify(
            "chatly_on_new_event", event=event_json(change.event), local=change.local
        )

    def on_membership_changed(self, change: MembershipChanged) -> None:
        self.hooks.notify(
            "chatly_on_membership_change",
            room_id=change.room_id,
            user_id=change.user_id,
            membership=change.membership,
            event=event_json(change.event),
        )

    def on_presence_changed(self, change: PresenceChanged) -> None:
        for state in change.states:
            update = PresenceUpdate(
                user_id=state.user_id,
                presence=state.state,
                status_msg=state.status_msg,
                currently_active=state.currently_active,
            )
            self.hooks.notify("chatly_on_presence_change", update=update)

    def on_profile_changed(self, change: ProfileChanged) -> None:
        self.hooks.notify(
            "chatly_on_profile_change",
            user_id=change.user_id,
            field=change.field,
            value=copy.deepcopy(change.value),
        )
