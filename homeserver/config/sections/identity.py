"""Config section: identity_server (invites by email, binding users'
addresses; docs/admin-guide.md).

The server talks to the identity server a client names in ``/invite``
(``id_server``): it looks the address up there and asks it to store a
third-party invite; it also asks the ``key_validity_url`` of an invite's
public key whether the key is still valid. It binds and unbinds users'
addresses on the identity server named in ``/account/3pid/bind`` (and
``/unbind``, ``/delete``, ``/account/deactivate``). Those addresses come from
clients and from other servers' events, so every request goes through the
guarded client (``homeserver.http_client.untrusted``,
docs/outbound-requests.md).
"""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.config.fields import option, positive
from homeserver.config.sections.federation import DEFAULT_IP_RANGE_BLACKLIST
from homeserver.config.sections.outbound import ip_ranges
from homeserver.util.structure import Duration


def _scheme(_inst: Any, _attribute: attrs.Attribute, value: str) -> None:
    """Validator: https or http."""
    if value not in ("https", "http"):
        raise ValueError(f"expected https or http, got {value!r}")


@attrs.frozen(kw_only=True)
class IdentityServerConfig:
    """Requests to identity servers: 3PID lookups, third-party invites,
    binding and unbinding users' addresses."""

    enable_3pid_lookup: bool = option(
        True,
        doc="Allow invites by third-party ID (/invite with medium and address), "
        "which look the address up on the identity server the client names. "
        "Off: such invites answer 403 M_FORBIDDEN (as Synapse's "
        "enable_3pid_lookup).",
    )
    scheme: str = option(
        "https",
        doc="The scheme identity servers are reached with: https (as Synapse). "
        "http only for an identity server on a test or development machine.",
        validator=_scheme,
    )
    ip_range_blacklist: list[str] = option(
        factory=lambda: list(DEFAULT_IP_RANGE_BLACKLIST),
        doc="Requests to identity servers (and to an invite's key_validity_url) "
        "never connect to these address ranges, checked after DNS resolution; "
        "redirects are never followed. The default is federation's list; "
        "0.0.0.0 and :: are always refused.",
        validator=ip_ranges,
    )
    ip_range_whitelist: list[str] = option(
        factory=list,
        doc="Ranges identity servers may be reached at even though "
        "ip_range_blacklist covers them, e.g. ['10.0.0.5/32'] for an identity "
        "server on the private network. Empty by default: clients choose the "
        "identity server.",
        validator=ip_ranges,
    )
    request_timeout: Duration = option(
        Duration(10_000),
        doc="How long one request to an identity server may take.",
        example="10s",
        validator=positive,
    )
