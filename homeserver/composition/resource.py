"""The endpoints of each listener, over the built services.

Client endpoints are listed in one fixed order (the router takes the first
route that matches), grouped by the domain that serves them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from twisted.web.resource import Resource

from homeserver.api.admin import endpoints as admin
from homeserver.api.admin import server_notices
from homeserver.api.admin.media import media_admin_endpoints
from homeserver.api.admin.reports import report_admin_endpoints
from homeserver.api.admin.rooms import room_admin_endpoints
from homeserver.api.admin.server import server_admin_endpoints
from homeserver.api.admin.users import user_admin_endpoints
from homeserver.api.client import (
    account,
    account_data,
    dehydrated,
    devices,
    directory,
    events,
    hidden_events,
    initial_sync,
    key_backup,
    keys,
    login,
    openid,
    presence,
    profile,
    receipts,
    register,
    relations,
    reports,
    room_read,
    room_send,
    room_upgrade,
    rooms,
    search,
    sliding_sync,
    spaces,
    sync,
    to_device,
    typing,
    user_directory,
    versions,
    voip,
)
from homeserver.api.client import filter as filter_api
from homeserver.api.federation.openid import OpenIdUserInfoEndpoint
from homeserver.api.federation.well_known import WellKnownServerEndpoint
from homeserver.api.http.router import Router
from homeserver.api.http.site import HomeserverResource
from homeserver.api.media.endpoints import LegacyDownloadEndpoint, media_endpoints
from homeserver.api.media.preview import PreviewUrlEndpoint
from homeserver.api.media.thumbnails import LegacyThumbnailEndpoint, thumbnail_endpoints
from homeserver.api.metrics import MetricsEndpoint
from homeserver.api.plugin_routes import PluginRoutesEndpoint
from homeserver.api.websocket.resource import with_websocket
from homeserver.api.websocket.session import SessionDeps
from homeserver.composition.worker_writes import write_endpoints
from homeserver.federation.transport.room_auth import RoomRequestAuthenticator

if TYPE_CHECKING:
    from homeserver.composition.server import HomeServer


def build_resource(
    hs: HomeServer,
    resources: Sequence[str],
    cors_origins: list[str] | None,
    x_forwarded: bool,
) -> Resource:
    """The root resource for a listener serving ``resources``: HTTP, plus the
    WebSocket transport on client listeners when it is enabled."""
    config = hs.config
    router = Router()
    if "client" in resources:
        for endpoint in client_endpoints(hs):
            router.add_endpoint(endpoint)
    if "federation" in resources:
        for endpoint in federation_endpoints(hs):
            router.add_endpoint(endpoint)
        if "client" not in resources:
            # Older servers fetch our media with the legacy download on the
            # federation port (Synapse serves /_matrix/media there too).
            for endpoint in legacy_media_endpoints(hs):
                router.add_endpoint(endpoint)
    elif "openid" in resources:
        router.add_endpoint(OpenIdUserInfoEndpoint(hs.extras.openid))
    if "replication" in resources or "client" in resources:
        # The internal API of a worker deployment (none in one process):
        # main serves it on its client listeners, secret-protected; the
        # generated proxy config never routes it.
        for endpoint in hs.workers.endpoints(
            duty_wake=hs.duties.inbox,
            writes=lambda auth: write_endpoints(hs, auth),
        ):
            router.add_endpoint(endpoint)
    if config.metrics.enabled and (
        "metrics" in resources
        or not any("metrics" in lst.resources for lst in config.listeners)
    ):
        router.add_endpoint(MetricsEndpoint())
    http = HomeserverResource(
        router,
        cors_origins if cors_origins is not None else config.http.cors_allowed_origins,
        x_forwarded,
    )
    if "client" not in resources or not config.websocket.enabled:
        return http
    deps = SessionDeps(
        auth=hs.accounts.auth,
        sync=hs.sync.service,
        router=router,
        clock=hs.core.clock,
        config=config.websocket,
        max_body_size=int(config.http.max_request_body_size),
        sliding=hs.sync.sliding,
    )
    return with_websocket(http, router, deps, x_forwarded, hs.core.reactor)


def federation_endpoints(hs: HomeServer) -> list[Any]:
    """Every endpoint of a federation listener: the federation wing's, and
    the third-party invite ones (``/3pid/onbind``,
    ``exchange_third_party_invite``) of the rooms domain."""
    room_auth = RoomRequestAuthenticator(
        hs.federation.keys.authenticator, hs.federation.ingest.acl
    )
    return [
        *hs.federation.endpoints(),
        *hs.third_party_invites.federation_endpoints(room_auth),
    ]


def legacy_media_endpoints(hs: HomeServer) -> list[Any]:
    """The unauthenticated legacy media download and thumbnail routes, for
    federation listeners (docs/media.md, "Remote media over federation")."""
    auth, media = hs.accounts.auth, hs.media
    return [
        LegacyDownloadEndpoint(auth, media.repository),
        LegacyThumbnailEndpoint(auth, media.thumbnails),
    ]


def client_endpoints(hs: HomeServer) -> list[Any]:
    """Every client-server and admin endpoint."""
    return [
        *_account_endpoints(hs),
        *_room_endpoints(hs),
        *_sync_data_endpoints(hs),
        *_e2ee_endpoints(hs),
        *_extras_endpoints(hs),
        *media_endpoints(hs.accounts.auth, hs.media.repository),
        *thumbnail_endpoints(hs.accounts.auth, hs.media.thumbnails),
        *_preview_endpoints(hs),
        *hs.appservice_outbound.client_endpoints(hs.accounts.auth),
        *hs.pushers.client_endpoints(hs.accounts.auth),
        *hs.push_eval.client_endpoints(hs.accounts.auth),
        *hs.push_email.client_endpoints(),
        *hs.threepids.client_endpoints(hs.accounts.auth),
        *_admin_endpoints(hs),
        PluginRoutesEndpoint(hs.accounts.auth, hs.plugin_services.routes),
    ]


def _preview_endpoints(hs: HomeServer) -> list[Any]:
    """URL previews, routed only when enabled (else 404 M_UNRECOGNIZED, as
    Synapse answers)."""
    if hs.media.previewer is None:
        return []
    return [PreviewUrlEndpoint(hs.accounts.auth, hs.media.previewer)]


def _account_endpoints(hs: HomeServer) -> list[Any]:
    config, a = hs.config, hs.accounts
    auth = a.auth
    return [
        versions.VersionsEndpoint(),
        versions.WellKnownClientEndpoint(config),
        WellKnownServerEndpoint(config.well_known.server),
        versions.CapabilitiesEndpoint(config, auth),
        login.LoginEndpoint(a.login),
        login.LogoutEndpoint(auth, a.sessions),
        login.LogoutAllEndpoint(auth, a.sessions),
        login.RefreshEndpoint(a.sessions),
        login.LoginTokenEndpoint(auth, a.login),
        register.RegisterEndpoint(a.registration),
        register.RegisterAvailableEndpoint(a.registration),
        register.RegistrationTokenValidityEndpoint(a.registration),
        account.WhoamiEndpoint(auth),
        account.PasswordEndpoint(auth, a.accounts, a.uia, hs.threepids.password_reset),
        account.DeactivateEndpoint(auth, hs.user_admin.actions, a.uia),
        devices.DevicesEndpoint(auth, hs.devices.service),
        devices.DeviceEndpoint(auth, hs.devices.service),
        devices.DeleteDevicesEndpoint(auth, hs.devices.service),
        devices.WhoisEndpoint(auth, hs.devices.service),
        profile.ProfileEndpoint(a.profiles),
        profile.ProfileFieldEndpoint(auth, a.profiles),
    ]


def _room_endpoints(hs: HomeServer) -> list[Any]:
    auth, r = hs.accounts.auth, hs.rooms
    reads, pages = hs.reading.room_reads, hs.reading.pagination
    return [
        rooms.CreateRoomEndpoint(auth, r.room_creation),
        rooms.JoinedRoomsEndpoint(auth, r.membership),
        rooms.JoinEndpoint(auth, r.membership, hs.third_party_invites.service),
        rooms.KnockEndpoint(auth, r.membership),
        rooms.LeaveEndpoint(auth, r.membership),
        rooms.MembershipChangeEndpoint(
            auth, r.membership, hs.third_party_invites.service
        ),
        rooms.ForgetEndpoint(auth, r.membership),
        sync.SyncEndpoint(auth, hs.sync.service),
        sliding_sync.SlidingSyncEndpoint(auth, hs.sync.sliding),
        presence.PresenceStatusEndpoint(auth, hs.presence.service),
        filter_api.CreateFilterEndpoint(auth, hs.sync.filters),
        filter_api.GetFilterEndpoint(auth, hs.sync.filters),
        room_send.SendEventEndpoint(auth, r.room_events),
        room_send.SetStateEndpoint(auth, r.room_events),
        room_send.RedactEndpoint(auth, r.room_events),
        room_send.SendEventNoTxnEndpoint(auth, r.room_events),
        room_send.RedactNoTxnEndpoint(auth, r.room_events),
        room_upgrade.RoomUpgradeEndpoint(auth, r.room_upgrades),
        directory.RoomAliasEndpoint(auth, r.directory),
        directory.RoomAliasesEndpoint(auth, r.directory),
        directory.DirectoryVisibilityEndpoint(auth, r.directory),
        directory.AppServiceDirectoryEndpoint(auth, r.directory),
        directory.PublicRoomsEndpoint(
            auth,
            r.room_list,
            hs.config.room_directory.allow_public_rooms_without_auth,
        ),
        room_read.RoomEventEndpoint(auth, reads),
        room_read.RoomStateEndpoint(auth, reads),
        room_read.RoomStateEventEndpoint(auth, reads),
        room_read.RoomMembersEndpoint(auth, reads),
        room_read.JoinedMembersEndpoint(auth, reads),
        room_read.MessagesEndpoint(auth, pages),
        room_read.ContextEndpoint(auth, pages),
        room_read.TimestampToEventEndpoint(auth, reads),
        search.SearchEndpoint(auth, hs.search.service),
        relations.RelationsEndpoint(auth, hs.relations.service),
        relations.ThreadsEndpoint(auth, hs.relations.service),
        spaces.HierarchyEndpoint(auth, hs.spaces.hierarchy),
        hidden_events.HiddenEventEndpoint(auth, hs.reading.hidden),
        hidden_events.RoomHiddenEventsEndpoint(auth, hs.reading.hidden),
        hidden_events.HiddenEventsEndpoint(auth, hs.reading.hidden),
        reports.ReportEventEndpoint(auth, hs.reports.service),
        reports.ReportRoomEndpoint(auth, hs.reports.service),
        reports.ReportUserEndpoint(auth, hs.reports.service),
        user_directory.UserDirectorySearchEndpoint(auth, hs.user_directory.search),
        user_directory.MutualRoomsEndpoint(auth, hs.user_directory.mutual_rooms),
    ]


def _sync_data_endpoints(hs: HomeServer) -> list[Any]:
    auth, data = hs.accounts.auth, hs.sync_data
    return [
        account_data.AccountDataEndpoint(auth, data.account_data),
        account_data.RoomAccountDataEndpoint(auth, data.account_data),
        account_data.TagsEndpoint(auth, data.tags),
        account_data.TagEndpoint(auth, data.tags),
        receipts.ReceiptEndpoint(auth, data.receipts),
        receipts.ReadMarkersEndpoint(auth, data.receipts),
        typing.TypingEndpoint(auth, data.typing),
        to_device.SendToDeviceEndpoint(auth, data.to_device),
    ]


def _e2ee_endpoints(hs: HomeServer) -> list[Any]:
    auth, e = hs.accounts.auth, hs.e2ee
    return [
        keys.KeysUploadEndpoint(auth, e.keys),
        keys.KeysQueryEndpoint(auth, e.query),
        keys.KeysClaimEndpoint(auth, e.query),
        keys.KeyChangesEndpoint(auth, e.changes),
        keys.DeviceSigningUploadEndpoint(auth, e.cross_signing),
        keys.SignaturesUploadEndpoint(auth, e.cross_signing),
        key_backup.BackupVersionsEndpoint(auth, e.backups),
        key_backup.BackupVersionEndpoint(auth, e.backups),
        key_backup.BackupKeysEndpoint(auth, e.backups),
        key_backup.BackupRoomKeysEndpoint(auth, e.backups),
        key_backup.BackupSessionKeyEndpoint(auth, e.backups),
        dehydrated.DehydratedDeviceEndpoint(auth, e.dehydrated),
        dehydrated.DehydratedEventsEndpoint(auth, e.dehydrated),
    ]


def _extras_endpoints(hs: HomeServer) -> list[Any]:
    auth, x = hs.accounts.auth, hs.extras
    return [
        openid.OpenIdRequestTokenEndpoint(auth, x.openid),
        voip.TurnServerEndpoint(auth, x.turn),
        events.EventStreamEndpoint(auth, x.event_stream),
        events.EventEndpoint(auth, x.event_stream),
        initial_sync.InitialSyncEndpoint(auth, x.initial_sync),
        initial_sync.RoomInitialSyncEndpoint(auth, x.initial_sync),
    ]


def _admin_endpoints(hs: HomeServer) -> list[Any]:
    auth, a = hs.accounts.auth, hs.accounts
    return [
        admin.SharedSecretRegisterEndpoint(a.shared_secret_registration),
        admin.RegistrationTokensEndpoint(auth, a.registration_token_admin),
        admin.NewRegistrationTokenEndpoint(auth, a.registration_token_admin),
        admin.RegistrationTokenEndpoint(auth, a.registration_token_admin),
        server_notices.SendServerNoticeEndpoint(auth, hs.extras.server_notices),
        server_notices.SendServerNoticeTxnEndpoint(auth, hs.extras.server_notices),
        *hs.federation.admin_endpoints(auth),
        *hs.appservice_outbound.admin_endpoints(auth),
        *report_admin_endpoints(auth, hs.reports.admin),
        *media_admin_endpoints(auth, hs.media_admin.admin, hs.media_admin.deletion),
        *user_admin_endpoints(
            auth,
            hs.user_admin.users,
            hs.user_admin.actions,
            hs.user_admin.devices,
            hs.devices.service,
        ),
        *room_admin_endpoints(
            auth, hs.room_admin.rooms, hs.room_admin.shutdown, hs.room_admin.purges
        ),
        *server_admin_endpoints(auth, hs.room_admin.tasks, hs.room_admin.redaction),
    ]
