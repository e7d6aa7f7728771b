"""The bind step: every connection between domains, in one place.

Each domain is built on its own (``composition/<domain>.py``); here the
receivers are connected to the signals, in the order they are called, and
the federation wing is plugged into the ports the services declare. Nothing
else in the code connects a receiver or plugs a port.
"""

from __future__ import annotations

import attrs

from homeserver.composition.federation import FederationBundle
from homeserver.composition.server import HomeServer
from homeserver.federation.handshakes.third_party import ThirdPartyInviteForwarder
from homeserver.plugins.push import PluginPushDelivery
from homeserver.services.accounts.profile import RemoteProfilePort
from homeserver.services.e2ee.ports import RemoteKeysPort
from homeserver.services.media.ports import RemoteMediaFetcher
from homeserver.services.reading.pagination import HistoryBackfill
from homeserver.services.rooms.ports import (
    RemoteAliasPort,
    RemoteMembershipPort,
    RemotePublicRoomsPort,
)
from homeserver.services.rooms.third_party_invites import RemoteThirdPartyInvitePort
from homeserver.services.spaces.ports import RemoteHierarchyPort
from homeserver.services.sync_data.to_device import RemoteToDevicePort
from homeserver.signals import (
    AccountDeactivated,
    DevicesChanged,
    PushActionsStored,
    ReceiptStored,
    Signals,
)
from homeserver.util.ports import Port


def bind(hs: HomeServer, *, federation_on: bool) -> None:
    """Connect the built domains to each other, then, when ``federation_on``,
    the federation wing to them."""
    signals = hs.core.signals
    # Rooms an admin blocked are closed to local joins and invites.
    hs.rooms.membership.blocks.plug(hs.room_admin.store)
    # Before a new events position is visible: sync's change caches.
    signals.event_persisted.connect(hs.sync.changes.on_event_persisted)
    # A visible new event wakes syncs; a leave ends the leaver's typing; it
    # is activity for presence.
    signals.new_event.connect(hs.sync.changes.on_new_event)
    signals.new_event.connect(hs.sync_data.typing.on_new_event)
    signals.new_event.connect(hs.presence.service.on_new_event)
    # Guest access withdrawn: local guests leave the room.
    signals.new_event.connect(hs.extras.guest_membership.on_new_event)
    signals.membership_changed.connect(hs.sync.changes.on_membership_changed)
    # Device rows changed (sessions, the device API): the device_lists stream.
    signals.devices_changed.connect(hs.devices.lists.on_devices_changed)
    # A deleted device's sliding-sync connections go with it.
    signals.devices_changed.connect(hs.sync.sliding.connections.on_devices_changed)
    signals.room_forgotten.connect(hs.sync.sliding.room_list.on_room_forgotten)
    signals.receipt_stored.connect(hs.sync.sliding.on_receipt_stored)
    signals.cross_signing_changed.connect(hs.devices.lists.on_cross_signing_changed)
    # The user directory learns other servers' users and public rooms.
    signals.membership_changed.connect(hs.user_directory.index.on_membership_changed)
    signals.new_event.connect(hs.user_directory.index.on_new_event)
    # A display name or avatar change updates the user's member events.
    hs.accounts.profiles.member_events.plug(hs.rooms.profile_propagation)
    # Relations: aggregations bundled wherever events are served, and the
    # checks on relations local users send.
    hs.reading.serializer.aggregations.plug(hs.relations.aggregations)
    hs.rooms.room_events.relations.plug(hs.relations.validator)
    # What each user chose not to see (ignored users, hidden events) is left
    # out of relations, threads, aggregations and search results too.
    hs.relations.viewer.hider.plug(hs.reading.personal)
    hs.search.service.user_filter.plug(hs.reading.personal)
    # Push rules: every new live event is evaluated as it is persisted; who
    # ignores whom is kept current for it.
    hs.core.persister.push.plug(hs.push_eval.evaluator)
    # The rules are m.push_rules account data: in /sync (and sliding sync's
    # extension, which reads the same source) and GET account_data.
    hs.sync_data.account_data.managed.plug(hs.push_eval.rules)
    signals.account_data_changed.connect(
        hs.push_eval.ignored_by.on_account_data_changed
    )
    signals.account_deactivated.connect(hs.push_eval.rules.on_account_deactivated)
    # Login by email address, the address proved at registration, and
    # unbinding from identity servers at deactivation.
    hs.accounts.registration.threepids.plug(hs.threepids.account)
    hs.accounts.login.threepids.plug(hs.threepids.account)
    hs.accounts.accounts.threepids.plug(hs.threepids.account)
    signals.account_deactivated.connect(hs.threepids.account.on_account_deactivated)
    # Thumbnails of each image are made as soon as it is uploaded.
    hs.media.repository.uploaded.plug(hs.media.thumbnails)
    # Thumbnails of other servers' media: made from the remote media cache.
    hs.media.thumbnails.remote.plug(hs.media.remote_thumbnails)
    _bind_appservices(hs)
    _bind_pushers(hs)
    _bind_plugins(hs)
    if not federation_on:
        return
    _bind_federation(
        hs.federation,
        signals=signals,
        ports=FederationPorts(
            remote_membership=hs.rooms.membership.remote,
            remote_third_party_invites=hs.third_party_invites.service.remote,
            remote_aliases=hs.rooms.directory.remote,
            remote_public_rooms=hs.rooms.room_list.remote,
            remote_profiles=hs.accounts.profiles.remote,
            backfill=hs.reading.pagination.backfiller,
            remote_to_device=hs.sync_data.to_device.remote,
            remote_keys=hs.e2ee.query.remote,
            remote_hierarchy=hs.spaces.hierarchy.remote,
            remote_media=hs.media.repository.remote.fetcher,
        ),
    )


def _bind_appservices(hs: HomeServer) -> None:
    """Application services follow the events stream and get the ephemeral
    data they asked for."""
    signals = hs.core.signals
    outbound = hs.appservice_outbound
    # The outbound side sends to the registered application services.
    outbound.registrations.plug(hs.appservices.registry)
    # Before a new events position is visible: read the stream next turn.
    signals.event_persisted.connect(outbound.sender.on_persisted)
    ephemeral = outbound.ephemeral
    signals.typing_changed.connect(ephemeral.on_typing)
    signals.receipt_stored.connect(ephemeral.on_receipt)
    signals.presence_changed.connect(ephemeral.on_presence)
    signals.to_device_delivered.connect(ephemeral.on_to_device)
    signals.device_list_changed.connect(ephemeral.on_device_list)
    signals.remote_device_list_changed.connect(ephemeral.on_device_list)
    signals.membership_changed.connect(ephemeral.on_membership)
    # Unknown users and aliases of an AS's namespaces: ask it first.
    hs.accounts.profiles.unknown_users.plug(outbound.queries)
    hs.rooms.membership.unknown_users.plug(outbound.queries)
    hs.rooms.directory.unknown_aliases.plug(outbound.queries)


def _bind_pushers(hs: HomeServer) -> None:
    """Pushers are woken by stored push actions and receipts, and go away
    with the device that set them or the deactivated account."""
    signals = hs.core.signals
    pool = hs.pushers.pool

    def on_actions(stored: PushActionsStored) -> None:
        pool.on_new_push_actions(stored.user_ids, stored.stream_ordering)

    def on_receipt(stored: ReceiptStored) -> None:
        pool.on_read(stored.receipt.user_id, stored.receipt.room_id)

    def on_devices(changed: DevicesChanged) -> None:
        if changed.deleted:
            pool.on_devices_deleted(changed.user_id, changed.device_ids)

    def on_deactivated(deactivated: AccountDeactivated) -> None:
        pool.on_account_deactivated(deactivated.user_id)

    signals.push_actions_stored.connect(on_actions)
    signals.receipt_stored.connect(on_receipt)
    signals.devices_changed.connect(on_devices)
    signals.account_deactivated.connect(on_deactivated)


def _bind_plugins(hs: HomeServer) -> None:
    """The plugins' hooks: on the signals (after every built-in receiver, so
    a plugin sees what the server already did), and in the services' checks
    (only when a plugin is loaded)."""
    plugins = hs.plugins
    plugins.plug_media_storage(hs.media.storage)
    if not plugins.active:
        return
    signals = hs.core.signals
    signals.new_event.connect(plugins.receivers.on_new_event)
    signals.membership_changed.connect(plugins.receivers.on_membership_changed)
    signals.presence_changed.connect(plugins.receivers.on_presence_changed)
    signals.profile_changed.connect(plugins.receivers.on_profile_changed)
    hs.rooms.room_events.policy.plug(plugins.rooms)
    hs.rooms.room_creation.policy.plug(plugins.rooms)
    assert plugins.accounts is not None
    hs.accounts.registration.policy.plug(plugins.accounts)
    hs.accounts.login.policy.plug(plugins.accounts)
    hs.pushers.plugins.plug(PluginPushDelivery(plugins.hooks))


@attrs.frozen(kw_only=True)
class FederationPorts:
    """The ports services declare for what only federation provides."""

    remote_membership: Port[RemoteMembershipPort]
    remote_third_party_invites: Port[RemoteThirdPartyInvitePort]
    remote_aliases: Port[RemoteAliasPort]
    remote_public_rooms: Port[RemotePublicRoomsPort]
    remote_profiles: Port[RemoteProfilePort]
    backfill: Port[HistoryBackfill]
    remote_to_device: Port[RemoteToDevicePort]
    remote_keys: Port[RemoteKeysPort]
    remote_hierarchy: Port[RemoteHierarchyPort]
    remote_media: Port[RemoteMediaFetcher]


def _bind_federation(
    federation: FederationBundle, *, signals: Signals, ports: FederationPorts
) -> None:
    # What local users do, sent to other servers.
    signals.event_persisted.connect(federation.sender.on_persisted)
    edus = federation.edus
    signals.membership_changed.connect(edus.presence.on_membership)
    signals.presence_changed.connect(edus.presence.on_presence)
    signals.typing_changed.connect(edus.typing.on_typing)
    signals.receipt_stored.connect(edus.receipts.on_receipt)
    signals.device_list_changed.connect(federation.e2ee.device_lists.on_local_change)
    signals.cross_signing_changed.connect(
        federation.e2ee.signing_keys.on_cross_signing_changed
    )
    # What services ask of other servers.
    queries = federation.serving.remote_queries
    ports.remote_membership.plug(federation.handshakes.remote)
    ports.remote_third_party_invites.plug(
        ThirdPartyInviteForwarder(federation.server_name, federation.transport)
    )
    ports.remote_aliases.plug(queries)
    ports.remote_public_rooms.plug(queries)
    ports.remote_profiles.plug(queries)
    ports.backfill.plug(federation.ingest.backfiller)
    ports.remote_to_device.plug(edus.to_device)
    ports.remote_keys.plug(federation.e2ee.remote_keys)
    ports.remote_hierarchy.plug(federation.serving.remote_hierarchy)
    ports.remote_media.plug(federation.media_fetcher)
