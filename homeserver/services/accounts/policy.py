"""What the accounts domain asks of the plugins, and its null stand-in.

The plugin host (``homeserver/plugins/policies.py``) implements
``AccountPolicy``; the bind step plugs it into the registration and login
services' ``Port``s. Without plugins the null policy leaves every decision to
the server's own rules.
"""

from __future__ import annotations

from typing import Protocol

from homeserver.types import JsonDict


class AccountPolicy(Protocol):
    """Checks and login back ends from outside the accounts domain."""

    async def check_registration(
        self, localpart: str | None, client_ip: str, guest: bool
    ) -> None:
        """Raise a MatrixError to refuse a registration."""
        ...

    async def check_password(self, user_id: str, password: str) -> bool | None:
        """True/False: a password provider's verdict; None: the local hash
        decides."""
        ...

    def login_types(self) -> list[str]:
        """Extra login types POST /login accepts."""
        ...

    async def login(self, login_type: str, body: JsonDict, client_ip: str) -> str:
        """The user ID a login of an extra type logs in as (raise a
        MatrixError to refuse)."""
        ...

    async def check_login(self, user_id: str, login_type: str, client_ip: str) -> None:
        """Raise a MatrixError to refuse a login that was otherwise proved."""
        ...


class NoAccountPolicy:
    """No plugins: the server's own rules decide."""

    async def check_registration(
        self, localpart: str | None, client_ip: str, guest: bool
    ) -> None:
        return None

    async def check_password(self, user_id: str, password: str) -> bool | None:
        return None

    def login_types(self) -> list[str]:
        return []

    async def login(self, login_type: str, body: JsonDict, client_ip: str) -> str:
        raise AssertionError("no extra login types without plugins")

    async def check_login(self, user_id: str, login_type: str, client_ip: str) -> None:
        return None
