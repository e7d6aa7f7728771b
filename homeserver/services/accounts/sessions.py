"""Issuing, refreshing and revoking login sessions (device + tokens).

Spec: client-server API, "Login", "Refreshing access tokens", "Logout".
"""

from __future__ import annotations

import attrs

from homeserver.config.model import AuthConfig
from homeserver.services.accounts.auth import Requester, unknown_token
from homeserver.storage.stores.devices import DeviceStore
from homeserver.storage.stores.tokens import TokenStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.tokens import hash_token, new_token, random_string


@attrs.frozen
class Session:
    """The credentials a login or registration hands out."""

    user_id: str
    device_id: str
    access_token: str
    refresh_token: str | None
    expires_in_ms: int | None

    def to_json(self, server_name: str) -> JsonDict:
        """The login/register response body."""
        body: JsonDict = {
            "user_id": self.user_id,
            "access_token": self.access_token,
            "device_id": self.device_id,
            "home_server": server_name,
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
            body["expires_in_ms"] = self.expires_in_ms
        return body


class SessionService:
    """Creates devices with tokens, rotates refresh tokens and logs out."""

    def __init__(
        self, config: AuthConfig, tokens: TokenStore, devices: DeviceStore, clock: Clock
    ) -> None:
        self.config = config
        self.tokens = tokens
        self.devices = devices
        self.clock = clock

    async def create_session(
        self,
        user_id: str,
        device_id: str | None,
        display_name: str | None,
        ip: str | None,
        with_refresh_token: bool = False,
    ) -> Session:
        """Make (or reuse) a device and give it a new access token.

        Args:
            user_id: the account.
            device_id: the client's chosen device ID, or None for a new one.
            display_name: the initial device display name.
            ip: the client's address, for the device list.
            with_refresh_token: issue an expiring access token plus a refresh token.
        """
        device_id = device_id or random_string(10).upper()
        now = self.clock.time_msec()
        await self.devices.upsert_device(user_id, device_id, display_name, now, ip)
        access_token = new_token("cht")
        refresh_token = None
        valid_until = None
        if with_refresh_token:
            refresh_token = new_token("chr")
            valid_until = now + self.config.access_token_lifetime
            await self.tokens.insert_refresh_token(
                hash_token(refresh_token),
                user_id,
                device_id,
                now,
                self._refresh_expiry(now),
            )
        await self.tokens.insert_access_token(
            hash_token(access_token),
            user_id,
            device_id,
            now,
            valid_until,
            hash_token(refresh_token) if refresh_token else None,
        )
        return Session(
            user_id,
            device_id,
            access_token,
            refresh_token,
            int(self.config.access_token_lifetime) if refresh_token else None,
        )

    def _refresh_expiry(self, now: int) -> int | None:
        lifetime = self.config.refresh_token_lifetime
        return now + lifetime if lifetime is not None else None

    async def refresh(self, refresh_token: str) -> JsonDict:
        """Swap a refresh token for a new access and refresh token pair.

        Raises:
            MatrixError: 401 M_UNKNOWN_TOKEN if the refresh token is unknown, used or expired.
        """
        token_hash = hash_token(refresh_token)
        info = await self.tokens.get_refresh_token(token_hash)
        now = self.clock.time_msec()
        if info is None:
            raise unknown_token("Unknown refresh token")
        if info.expiry_ts is not None and info.expiry_ts < now:
            raise unknown_token("Refresh token has expired")
        await self.tokens.retire_predecessors(token_hash)
        new_refresh, new_access = new_token("chr"), new_token("cht")
        ok = await self.tokens.rotate_refresh_token(
            info,
            hash_token(new_refresh),
            hash_token(new_access),
            now,
            self._refresh_expiry(now),
            now + self.config.access_token_lifetime,
        )
        if not ok:
            raise unknown_token("Refresh token has been used")
        return {
            "access_token": new_access,
            "refresh_token": new_refresh,
            "expires_in_ms": int(self.config.access_token_lifetime),
        }

    async def logout(self, requester: Requester) -> None:
        """Revoke the requester's token and delete its device (an
        application service's ``as_token`` is not revoked: nothing happens)."""
        if requester.app_service_id is not None:
            return
        await self.devices.delete_devices(requester.user_id, [requester.device_id])

    async def logout_all(self, requester: Requester) -> None:
        """Revoke every token and delete every device of the requester's account."""
        await self.devices.delete_all_devices(requester.user_id)
