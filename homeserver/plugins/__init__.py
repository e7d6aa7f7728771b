"""The host side of the plugin system (pluggy); docs/plugins.md.

What a plugin may import from the server is exactly this package's public
names: the ``hookimpl`` marker, the values hooks take and return, and (from
``homeserver.plugins.api``) the ``PluginAPI`` facade. Everything else in the
server is internal and may change.

- ``hookspecs.py``: every hook, with when it is called and what it returns.
- ``loading.py``: entry points and module paths, settings, ``check_pending``.
- ``caller.py``: the async hook caller, with timeouts and error metrics.
- ``policies.py``, ``receivers.py``: the hooks behind the services' checks
  and the signals (connected in ``composition/bind.py``).
"""

from homeserver.plugins.hookspecs import hookimpl
from homeserver.plugins.types import (
    Deny,
    EventDraft,
    LoginAttempt,
    PresenceUpdate,
    PushDelivery,
    RegistrationAttempt,
    RoomCreationAttempt,
)

__all__ = [
    "Deny",
    "EventDraft",
    "LoginAttempt",
    "PresenceUpdate",
    "PushDelivery",
    "RegistrationAttempt",
    "RoomCreationAttempt",
    "hookimpl",
]
