"""What end-to-end encryption needs from other servers (federation)."""

from __future__ import annotations

from typing import Protocol

from homeserver.types import JsonDict


class RemoteKeysUnavailable(Exception):
    """The other server could not be asked (down, refused, timed out)."""


class RemoteKeysPort(Protocol):
    """Other servers' users' keys."""

    async def query_keys(
        self, destination: str, device_keys: dict[str, list[str]], timeout_ms: int
    ) -> JsonDict:
        """``device_keys``, ``master_keys`` and ``self_signing_keys`` of
        ``destination``'s users (from the device list cache when it is up to
        date, else asked of the server).

        Raises:
            RemoteKeysUnavailable: the server could not be asked.
        """
        ...

    async def claim_keys(
        self,
        destination: str,
        one_time_keys: dict[str, dict[str, str]],
        timeout_ms: int,
    ) -> JsonDict:
        """The ``one_time_keys`` ``destination`` hands out for its devices.

        Raises:
            RemoteKeysUnavailable: the server could not be asked.
        """
        ...


class NoRemoteKeys:
    """Federation off: other servers cannot be asked."""

    async def query_keys(
        self, destination: str, device_keys: dict[str, list[str]], timeout_ms: int
    ) -> JsonDict:
        raise RemoteKeysUnavailable("Federation is disabled")

    async def claim_keys(
        self,
        destination: str,
        one_time_keys: dict[str, dict[str, str]],
        timeout_ms: int,
    ) -> JsonDict:
        raise RemoteKeysUnavailable("Federation is disabled")
