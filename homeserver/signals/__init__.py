"""Typed in-process signals: what happened, for whoever wants to react.

A service that changes something emits a signal; other domains, the
federation wing and (later) plugins, application services, push and Redis
replication connect receivers to it. Emitters never know their receivers, so
a domain can be reacted to without importing whoever reacts. All receivers are
connected in one place, the ``bind`` step of the composition root
(``homeserver/composition/bind.py``), before the server starts.

API::

    signals = Signals()                      # one per server, in the Core
    signals.new_event.connect(on_new_event)  # def or async def of the payload
    signals.new_event.emit(NewEvent(event=event, local=True))

Guarantees:

- **Order.** Receivers are called in the order they were connected, one emit
  at a time; a signal emitted twice reaches each receiver in emit order.
- **Sync receivers** (plain functions) run to completion inside ``emit``:
  keep them short and never block. Use them for in-memory bookkeeping that
  must be done before the emitter goes on (change caches, wake-ups).
- **Async receivers** (``async def``) are started inside ``emit`` through
  ``run_in_background``: each runs up to its first real wait during the emit
  (so one that takes a ``Linearizer`` queues in emit order), then finishes on
  its own. Nothing waits for them: the emitter's response does not, and later
  receivers do not. Use them for I/O (federation EDUs, push, bots).
- **Failures** never reach the emitter or other receivers: a sync receiver's
  exception is logged and counted (``homeserver_signal_receiver_failures_total``),
  an async one's by ``run_in_background``.
- **Transactions.** No signal is emitted inside a database transaction; every
  payload describes committed data. ``event_persisted`` alone comes *before*
  the new stream position is visible to readers (its receivers must be sync:
  it is ``sync_only``); all the others come after it is visible, so a receiver
  that reads a stream sees the change.
- Payloads are frozen attrs classes (``homeserver/signals/payloads.py``).

A plugin or replication layer that needs ordering across signals should use
the stream positions the payloads carry, not the order of calls.
"""

from __future__ import annotations

import attrs

from homeserver.signals.payloads import (
    AccountDataChanged,
    AccountDeactivated,
    CrossSigningChanged,
    DeviceListChanged,
    DevicesChanged,
    EventPersisted,
    MembershipChanged,
    NewEvent,
    PresenceChanged,
    ProfileChanged,
    PushActionsStored,
    ReceiptStored,
    RemoteDeviceListChanged,
    RoomForgotten,
    ToDeviceDelivered,
    TypingChanged,
)
from homeserver.signals.signal import Receiver, Signal

__all__ = [
    "AccountDeactivated",
    "AccountDataChanged",
    "CrossSigningChanged",
    "DeviceListChanged",
    "DevicesChanged",
    "EventPersisted",
    "MembershipChanged",
    "NewEvent",
    "PresenceChanged",
    "ProfileChanged",
    "PushActionsStored",
    "ReceiptStored",
    "Receiver",
    "RemoteDeviceListChanged",
    "RoomForgotten",
    "Signal",
    "Signals",
    "ToDeviceDelivered",
    "TypingChanged",
]


@attrs.frozen
class Signals:
    """Every signal of one server."""

    event_persisted: Signal[EventPersisted] = attrs.field(
        factory=lambda: Signal("event_persisted", sync_only=True)
    )
    """EventPersister, after commit and before the position is visible."""
    new_event: Signal[NewEvent] = attrs.field(factory=lambda: Signal("new_event"))
    """Local event creation and the remote event pipeline."""
    membership_changed: Signal[MembershipChanged] = attrs.field(
        factory=lambda: Signal("membership_changed")
    )
    """With ``new_event`` for member events; the out-of-room handshakes."""
    profile_changed: Signal[ProfileChanged] = attrs.field(
        factory=lambda: Signal("profile_changed")
    )
    """ProfileService."""
    devices_changed: Signal[DevicesChanged] = attrs.field(
        factory=lambda: Signal("devices_changed")
    )
    """DeviceStore (login, device rename and delete)."""
    account_deactivated: Signal[AccountDeactivated] = attrs.field(
        factory=lambda: Signal("account_deactivated")
    )
    """AccountService.deactivate, once the account's rows are gone."""
    device_list_changed: Signal[DeviceListChanged] = attrs.field(
        factory=lambda: Signal("device_list_changed")
    )
    """DeviceListTracker, once a local change has its device_lists positions."""
    remote_device_list_changed: Signal[RemoteDeviceListChanged] = attrs.field(
        factory=lambda: Signal("remote_device_list_changed")
    )
    """DeviceListTracker, once another server's user's change is recorded."""
    cross_signing_changed: Signal[CrossSigningChanged] = attrs.field(
        factory=lambda: Signal("cross_signing_changed")
    )
    """CrossSigningService (keys uploaded, signatures uploaded)."""
    account_data_changed: Signal[AccountDataChanged] = attrs.field(
        factory=lambda: Signal("account_data_changed")
    )
    """AccountDataService (tags and m.fully_read included)."""
    presence_changed: Signal[PresenceChanged] = attrs.field(
        factory=lambda: Signal("presence_changed")
    )
    """PresenceService, for each batch of persisted changes."""
    receipt_stored: Signal[ReceiptStored] = attrs.field(
        factory=lambda: Signal("receipt_stored")
    )
    """ReceiptService."""
    typing_changed: Signal[TypingChanged] = attrs.field(
        factory=lambda: Signal("typing_changed")
    )
    """TypingService (started, renewed, stopped, expired)."""
    to_device_delivered: Signal[ToDeviceDelivered] = attrs.field(
        factory=lambda: Signal("to_device_delivered")
    )
    """ToDeviceService (local sends and messages received over federation)."""
    push_actions_stored: Signal[PushActionsStored] = attrs.field(
        factory=lambda: Signal("push_actions_stored")
    )
    """The push evaluation, once a new event's notifying actions are committed
    and its stream position is visible (pushers, mail)."""
    room_forgotten: Signal[RoomForgotten] = attrs.field(
        factory=lambda: Signal("room_forgotten")
    )
    """MembershipService.forget, once the room is marked forgotten (sliding
    sync's room list drops what it remembers of the user's rooms)."""
