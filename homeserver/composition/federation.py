"""The federation wing: talking to other servers.

Built after every domain it serves; it reaches them only through what they
expose (their services, their Protocol ports, the signals), and the bind step
(``composition/bind.py``) plugs it in when ``federation.enabled`` is on. It is
built either way: with federation off its endpoints answer 403 and nothing is
ever sent.
"""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.api.admin.federation import destination_endpoints
from homeserver.api.federation.events import read_endpoints
from homeserver.api.federation.hierarchy import FederationHierarchyEndpoint
from homeserver.api.federation.keys import (
    BatchKeyQueryEndpoint,
    KeyQueryEndpoint,
    ServerKeysEndpoint,
)
from homeserver.api.federation.media import media_endpoints
from homeserver.api.federation.membership import membership_endpoints
from homeserver.api.federation.openid import OpenIdUserInfoEndpoint
from homeserver.api.federation.query import query_endpoints
from homeserver.api.federation.send import FederationSendEndpoint
from homeserver.api.federation.user_keys import user_key_endpoints
from homeserver.api.federation.version import FederationVersionEndpoint
from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.composition.devices import DevicesBundle
from homeserver.composition.e2ee import E2eeBundle
from homeserver.composition.extras import ExtrasBundle
from homeserver.composition.federation_e2ee import FederationE2ee
from homeserver.composition.federation_media import build_media_fetcher
from homeserver.composition.federation_parts import (
    FederationEdus,
    FederationHandshakes,
    FederationIngest,
    FederationKeys,
    FederationServing,
)
from homeserver.composition.media import MediaBundle
from homeserver.composition.presence import PresenceBundle
from homeserver.composition.rooms import RoomsBundle
from homeserver.composition.spaces import SpacesBundle
from homeserver.composition.sync_data import SyncDataBundle
from homeserver.federation.interfaces import FederationTransport
from homeserver.federation.media.fetch import FederationMediaFetcher
from homeserver.federation.sender.admin import DestinationAdmin
from homeserver.federation.sender.sender import FederationSender
from homeserver.federation.transport.client import FederationClient
from homeserver.federation.transport.room_auth import RoomRequestAuthenticator
from homeserver.services.accounts.auth import Auth
from homeserver.storage.stores.federation_outbox import FederationOutboxStore
from homeserver.storage.stores.federation_stream import FederationStreamStore
from homeserver.streams.registry import EVENTS, FEDERATION_OUTBOX_EDUS


@attrs.frozen(kw_only=True)
class FederationBundle:
    """Every federation component of one server."""

    server_name: str
    transport: FederationTransport
    keys: FederationKeys
    sender: FederationSender
    ingest: FederationIngest
    serving: FederationServing
    handshakes: FederationHandshakes
    edus: FederationEdus
    e2ee: FederationE2ee
    extras: ExtrasBundle
    media: MediaBundle
    media_fetcher: FederationMediaFetcher

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        accounts: AccountsBundle,
        devices: DevicesBundle,
        e2ee: E2eeBundle,
        rooms: RoomsBundle,
        sync_data: SyncDataBundle,
        presence: PresenceBundle,
        extras: ExtrasBundle,
        spaces: SpacesBundle,
        media: MediaBundle,
        transport: FederationTransport | None = None,
    ) -> FederationBundle:
        """The wing (``transport``: the in-process test network, if given)."""
        transport = transport or _client(core)
        keys = FederationKeys.build(core=core, transport=transport)
        sender = _sender(core, transport)
        out_of_room = FederationHandshakes.out_of_room_memberships(core)
        ingest = FederationIngest.build(
            core=core,
            rooms=rooms,
            keys=keys,
            transport=transport,
            sender=sender,
            out_of_room=out_of_room,
        )
        return cls(
            server_name=core.server_name,
            transport=transport,
            keys=keys,
            sender=sender,
            ingest=ingest,
            serving=FederationServing.build(
                core=core,
                accounts=accounts,
                rooms=rooms,
                spaces=spaces,
                ingest=ingest,
                remote_rooms=out_of_room.remote_rooms,
                transport=transport,
            ),
            handshakes=FederationHandshakes.build(
                core=core,
                accounts=accounts,
                rooms=rooms,
                keys=keys,
                transport=transport,
                sender=sender,
                ingest=ingest,
                out_of_room=out_of_room,
            ),
            edus=FederationEdus.build(
                core=core,
                registry=ingest.transactions.edus,
                sender=sender,
                accounts=accounts,
                devices=devices,
                rooms=rooms,
                sync_data=sync_data,
                presence=presence,
            ),
            e2ee=FederationE2ee.build(
                core=core,
                registry=ingest.transactions.edus,
                sender=sender,
                transport=transport,
                accounts=accounts,
                devices=devices,
                e2ee=e2ee,
                presence=presence,
            ),
            extras=extras,
            media=media,
            media_fetcher=build_media_fetcher(core=core, transport=transport),
        )

    @property
    def outbox(self) -> FederationOutboxStore:
        """The outbound queues (the sender's store)."""
        return self.sender.store

    def stop(self) -> None:
        """Stop background work."""
        self.sender.stop()
        self.edus.presence.stop()

    def admin_endpoints(self, auth: Auth) -> list[Any]:
        """Admin API endpoints (served with the client API)."""
        return destination_endpoints(auth, DestinationAdmin(self.sender))

    def endpoints(self) -> list[Any]:
        """Every /_matrix/federation and /_matrix/key endpoint."""
        auth = self.keys.authenticator
        # Every room-scoped endpoint: the signature, then the room's ACL,
        # before the endpoint reads anything else of the request.
        room_auth = RoomRequestAuthenticator(auth, self.ingest.acl)
        handshakes = self.handshakes
        return [
            ServerKeysEndpoint(self.keys.local),
            KeyQueryEndpoint(self.keys.notary),
            BatchKeyQueryEndpoint(self.keys.notary),
            FederationVersionEndpoint(),
            FederationSendEndpoint(auth, self.ingest.transactions),
            *read_endpoints(room_auth, self.serving.reads),
            *membership_endpoints(room_auth, handshakes.resident, handshakes.invites),
            *query_endpoints(room_auth, self.serving.queries),
            FederationHierarchyEndpoint(room_auth, self.serving.hierarchy),
            *user_key_endpoints(room_auth, self.e2ee.user_keys),
            *media_endpoints(room_auth, self.media.repository, self.media.thumbnails),
            # Called by integration managers, without an X-Matrix signature.
            OpenIdUserInfoEndpoint(self.extras.openid),
        ]


def _client(core: Core) -> FederationClient:
    """The real outbound HTTPS client."""
    return FederationClient(
        server_name=core.server_name,
        signing_key=core.signing_key,
        config=core.config.federation,
        reactor=core.reactor,
        clock=core.clock,
    )


def _sender(core: Core, transport: FederationTransport) -> FederationSender:
    """The sender, following the events stream, with its outbound queues."""
    config = core.config.federation
    whitelist = config.domain_whitelist
    allowed = None if whitelist is None else frozenset(whitelist).__contains__
    return FederationSender(
        server_name=core.server_name,
        enabled=config.enabled,
        transport=transport,
        store=FederationOutboxStore(core.db, core.streams.ids(FEDERATION_OUTBOX_EDUS)),
        stream=FederationStreamStore(core.db),
        new_events=core.new_events,
        events=core.events,
        event_state=core.event_state,
        clock=core.clock,
        current_position=core.streams.ids(EVENTS).current_position,
        max_retry_interval_ms=int(config.max_retry_interval),
        request_timeout_ms=int(config.request_timeout),
        allowed=allowed,
    )
