"""What the accounts domain needs of users' third-party IDs: login with an
email address (``m.id.thirdparty``) and the address proved at registration.
Filled in by the bind step with ``services/threepids``; without it, nobody
has an address."""

from __future__ import annotations

from typing import Protocol


class AccountThreepids(Protocol):
    """Users' third-party IDs, as accounts sees them."""

    async def user_of(self, medium: str, address: str) -> str | None:
        """The user holding ``address``, if any."""
        ...

    async def add_registered(
        self, user_id: str, medium: str, address: str, validated_at: int
    ) -> None:
        """Give a newly registered user the address it proved.

        Raises:
            MatrixError: 400 M_THREEPID_IN_USE if another user holds it.
        """
        ...


class NoThreepids:
    """No third-party IDs (the null object)."""

    async def user_of(self, medium: str, address: str) -> str | None:
        return None

    async def add_registered(
        self, user_id: str, medium: str, address: str, validated_at: int
    ) -> None:
        return None
