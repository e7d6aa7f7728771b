"""Smaller client features: OpenID tokens, TURN credentials, server notices,
and the legacy endpoints Synapse still serves."""

from __future__ import annotations

import attrs

from homeserver.composition.core import Core
from homeserver.services.extras.openid import OpenIdService
from homeserver.services.extras.turn import TurnService
from homeserver.storage.stores.openid import OpenIdStore


@attrs.frozen(kw_only=True)
class ExtrasBundle:
    """OpenID, TURN, server notices, /events and /initialSync."""

    openid: OpenIdService
    turn: TurnService

    @classmethod
    def build(cls, *, core: Core) -> ExtrasBundle:
        return cls(
            openid=OpenIdService(core.server_name, OpenIdStore(core.db), core.clock),
            turn=TurnService(core.config.voip, core.clock),
        )
