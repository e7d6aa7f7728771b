"""User admin API endpoints at Synapse's paths
(``docs/admin_api/user_admin_api.md``): list, query, create or modify,
deactivate, reset password, admin flag, shadow-ban, whois, rooms and devices.
A user's media is in ``media.py``."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from homeserver.api.admin.user_bodies import (
    AdminFlagBody,
    DeactivateBody,
    DeleteDevicesBody,
    LoginAsBody,
    NewDeviceBody,
    RenameDeviceBody,
    ResetPasswordBody,
    UserUpsertBody,
)
from homeserver.api.http.auth import admin_of
from homeserver.api.http.request import ApiRequest
from homeserver.errors import InvalidParam
from homeserver.services.accounts.auth import Auth
from homeserver.services.accounts.user_admin import UserAdmin, local_user
from homeserver.services.accounts.user_admin_actions import UserAdminActions
from homeserver.services.devices.admin import DeviceAdmin
from homeserver.services.devices.devices import DeviceService
from homeserver.storage.stores.user_admin import (
    MEDIA_ORDER_COLUMNS,
    ORDER_COLUMNS,
    MediaUsageQuery,
    UserQuery,
)
from homeserver.types import JsonDict

ADMIN_V1 = "/_synapse/admin/v1"
ADMIN_V2 = "/_synapse/admin/v2"


def _optional_bool(request: ApiRequest, name: str) -> bool | None:
    return None if request.query_str(name) is None else request.query_bool(name)


def _page(
    request: ApiRequest, orders: Collection[str], default: str
) -> tuple[int, int, str, bool]:
    """``from``, ``limit``, ``order_by`` (one of ``orders``) and whether
    ``dir`` is ``b``; 400 M_INVALID_PARAM for anything else."""
    start = request.query_int("from", 0) or 0
    limit = request.query_int("limit", 100)
    if start < 0:
        raise InvalidParam("Query parameter from must be a positive integer.")
    if limit is None or limit < 0:
        raise InvalidParam("Query parameter limit must be a positive integer.")
    order_by = request.query_str("order_by", default) or default
    if order_by not in orders:
        raise InvalidParam(f"Query parameter order_by must be one of {sorted(orders)}")
    direction = request.query_str("dir", "f")
    if direction not in ("f", "b"):
        raise InvalidParam("Query parameter dir must be one of ['b', 'f']")
    return start, limit, order_by, direction == "b"


def user_query(request: ApiRequest, deactivated: bool | None) -> UserQuery:
    """The filters, order and page of GET /_synapse/admin/v2|v3/users."""
    start, limit, order_by, backwards = _page(request, ORDER_COLUMNS, "name")
    return UserQuery(
        start=start,
        limit=limit,
        user_id=request.query_str("user_id"),
        name=request.query_str("name"),
        guests=request.query_bool("guests", True),
        deactivated=deactivated,
        admins=_optional_bool(request, "admins"),
        locked=request.query_bool("locked", False),
        not_user_types=request.query.get("not_user_type", []),
        order_by=order_by,
        backwards=backwards,
    )


def media_usage_query(request: ApiRequest) -> MediaUsageQuery:
    """The filters, order and page of GET .../statistics/users/media."""
    start, limit, order_by, backwards = _page(request, MEDIA_ORDER_COLUMNS, "user_id")
    from_ts = request.query_int("from_ts")
    until_ts = request.query_int("until_ts")
    for name, value in (("from_ts", from_ts), ("until_ts", until_ts)):
        if value is not None and value < 0:
            raise InvalidParam(f"Query parameter {name} must be a positive integer.")
    if from_ts is not None and until_ts is not None and until_ts <= from_ts:
        raise InvalidParam("Query parameter until_ts must be greater than from_ts.")
    return MediaUsageQuery(
        start=start,
        limit=limit,
        order_by=order_by,
        backwards=backwards,
        from_ts=from_ts,
        until_ts=until_ts,
        search_term=request.query_str("search_term"),
    )


class _Users:
    def __init__(self, auth: Auth, users: UserAdmin) -> None:
        self.auth = auth
        self.users = users


class UsersV2Endpoint(_Users):
    """GET /_synapse/admin/v2/users: ``deactivated=true`` includes the
    deactivated accounts, which are left out otherwise."""

    PATTERNS = [f"{ADMIN_V2}/users"]

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await admin_of(self.auth, request)
        deactivated = None if request.query_bool("deactivated") else False
        return await self.users.list_users(user_query(request, deactivated))


class UsersV3Endpoint(_Users):
    """GET /_synapse/admin/v3/users: ``deactivated`` true or false keeps
    only those; absent, all."""

    PATTERNS = ["/_synapse/admin/v3/users"]

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await admin_of(self.auth, request)
        query = user_query(request, _optional_bool(request, "deactivated"))
        return await self.users.list_users(query)


class UserMediaStatisticsEndpoint(_Users):
    """GET /_synapse/admin/v1/statistics/users/media: local media per user."""

    PATTERNS = [f"{ADMIN_V1}/statistics/users/media"]

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.users.media_usage(media_usage_query(request))


class UserEndpoint(_Users):
    """GET and PUT (create or modify) /_synapse/admin/v2/users/{userId}."""

    PATTERNS = [f"{ADMIN_V2}/users/{{user_id}}"]

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.users.get_user(user_id)

    async def on_PUT(self, request: ApiRequest, user_id: str) -> tuple[int, JsonDict]:
        requester = await admin_of(self.auth, request)
        body = request.parse(UserUpsertBody)
        return await self.users.upsert_user(requester, user_id, body)


class _Actions:
    def __init__(self, auth: Auth, actions: UserAdminActions) -> None:
        self.auth = auth
        self.actions = actions


class DeactivateEndpoint(_Actions):
    """POST /_synapse/admin/v1/deactivate/{userId} {erase}."""

    PATTERNS = [f"{ADMIN_V1}/deactivate/{{user_id}}"]

    async def on_POST(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        body = request.parse(DeactivateBody, allow_empty=True)
        return await self.actions.deactivate(user_id, body.erase)


class ResetPasswordEndpoint(_Actions):
    """POST /_synapse/admin/v1/reset_password/{userId}."""

    PATTERNS = [f"{ADMIN_V1}/reset_password/{{user_id}}"]

    async def on_POST(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        body = request.parse(ResetPasswordBody)
        return await self.actions.reset_password(
            user_id, body.new_password, body.logout_devices
        )


class UserAdminFlagEndpoint(_Actions):
    """GET and PUT /_synapse/admin/v1/users/{userId}/admin."""

    PATTERNS = [f"{ADMIN_V1}/users/{{user_id}}/admin"]

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.actions.is_admin(user_id)

    async def on_PUT(self, request: ApiRequest, user_id: str) -> JsonDict:
        requester = await admin_of(self.auth, request)
        body = request.parse(AdminFlagBody)
        return await self.actions.set_admin(requester, user_id, body.admin)


class ShadowBanEndpoint(_Actions):
    """POST (ban) and DELETE (lift) /_synapse/admin/v1/users/{userId}/shadow_ban."""

    PATTERNS = [f"{ADMIN_V1}/users/{{user_id}}/shadow_ban"]

    async def on_POST(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.actions.shadow_ban(user_id, True)

    async def on_DELETE(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.actions.shadow_ban(user_id, False)


class JoinedRoomsEndpoint(_Actions):
    """GET /_synapse/admin/v1/users/{userId}/joined_rooms."""

    PATTERNS = [f"{ADMIN_V1}/users/{{user_id}}/joined_rooms"]

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.actions.joined_rooms(user_id)


class MembershipsEndpoint(_Actions):
    """GET /_synapse/admin/v1/users/{userId}/memberships."""

    PATTERNS = [f"{ADMIN_V1}/users/{{user_id}}/memberships"]

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.actions.memberships(user_id)


class PushersEndpoint(_Actions):
    """GET /_synapse/admin/v1/users/{userId}/pushers."""

    PATTERNS = [f"{ADMIN_V1}/users/{{user_id}}/pushers"]

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.actions.list_pushers(user_id)


class AccountDataEndpoint(_Actions):
    """GET /_synapse/admin/v1/users/{userId}/accountdata."""

    PATTERNS = [f"{ADMIN_V1}/users/{{user_id}}/accountdata"]

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.actions.get_account_data(user_id)


class UsernameAvailableEndpoint(_Actions):
    """GET /_synapse/admin/v1/username_available?username=."""

    PATTERNS = [f"{ADMIN_V1}/username_available"]

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await admin_of(self.auth, request)
        username = request.query_str("username", required=True) or ""
        return await self.actions.username_available(username)


class LoginAsEndpoint(_Actions):
    """POST /_synapse/admin/v1/users/{userId}/login {valid_until_ms}."""

    PATTERNS = [f"{ADMIN_V1}/users/{{user_id}}/login"]

    async def on_POST(self, request: ApiRequest, user_id: str) -> JsonDict:
        requester = await admin_of(self.auth, request)
        body = request.parse(LoginAsBody, allow_empty=True)
        return await self.actions.login_as(requester, user_id, body.valid_until_ms)


class AdminWhoisEndpoint:
    """GET /_synapse/admin/v1/whois/{userId} (the client API's whois, for
    local users)."""

    PATTERNS = [f"{ADMIN_V1}/whois/{{user_id}}"]

    def __init__(self, auth: Auth, devices: DeviceService, server_name: str) -> None:
        self.auth = auth
        self.devices = devices
        self.server_name = server_name

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        requester = await admin_of(self.auth, request)
        local_user(self.server_name, user_id, "whois")
        return await self.devices.whois(requester, user_id)


class _Devices:
    def __init__(self, auth: Auth, devices: DeviceAdmin) -> None:
        self.auth = auth
        self.devices = devices


class UserDevicesEndpoint(_Devices):
    """GET (list) and POST (create) /_synapse/admin/v2/users/{userId}/devices."""

    PATTERNS = [f"{ADMIN_V2}/users/{{user_id}}/devices"]

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.devices.list_devices(user_id)

    async def on_POST(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        body = request.parse(NewDeviceBody)
        return await self.devices.create_device(user_id, body.device_id)


class DeleteDevicesEndpoint(_Devices):
    """POST /_synapse/admin/v2/users/{userId}/delete_devices."""

    PATTERNS = [f"{ADMIN_V2}/users/{{user_id}}/delete_devices"]

    async def on_POST(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        body = request.parse(DeleteDevicesBody)
        return await self.devices.delete_devices(user_id, body.devices)


class UserDeviceEndpoint(_Devices):
    """GET, PUT and DELETE /_synapse/admin/v2/users/{userId}/devices/{deviceId}."""

    PATTERNS = [f"{ADMIN_V2}/users/{{user_id}}/devices/{{device_id}}"]

    async def on_GET(
        self, request: ApiRequest, user_id: str, device_id: str
    ) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.devices.get_device(user_id, device_id)

    async def on_PUT(
        self, request: ApiRequest, user_id: str, device_id: str
    ) -> JsonDict:
        await admin_of(self.auth, request)
        body = request.parse(RenameDeviceBody, allow_empty=True)
        return await self.devices.rename_device(user_id, device_id, body.display_name)

    async def on_DELETE(
        self, request: ApiRequest, user_id: str, device_id: str
    ) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.devices.delete_devices(user_id, [device_id])


def user_admin_endpoints(
    auth: Auth,
    users: UserAdmin,
    actions: UserAdminActions,
    devices: DeviceAdmin,
    whois: DeviceService,
) -> list[Any]:
    """Every user admin endpoint (a user's media: ``media.py``)."""
    return [
        UsersV2Endpoint(auth, users),
        UsersV3Endpoint(auth, users),
        UserEndpoint(auth, users),
        UserMediaStatisticsEndpoint(auth, users),
        *(
            cls(auth, actions)
            for cls in (
                DeactivateEndpoint,
                ResetPasswordEndpoint,
                UserAdminFlagEndpoint,
                ShadowBanEndpoint,
                JoinedRoomsEndpoint,
                MembershipsEndpoint,
                PushersEndpoint,
                AccountDataEndpoint,
                UsernameAvailableEndpoint,
                LoginAsEndpoint,
            )
        ),
        AdminWhoisEndpoint(auth, whois, users.server_name),
        UserDevicesEndpoint(auth, devices),
        DeleteDevicesEndpoint(auth, devices),
        UserDeviceEndpoint(auth, devices),
    ]
