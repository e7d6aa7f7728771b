"""What the accounts domain needs of users' third-party IDs: login with an
email address (``m.id.thirdparty``), the address proved at registration and
unbinding addresses from identity servers at deactivation.
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

    async def unbind_all(self, user_id: str, id_server: str | None) -> bool:
        """Unbind every address ``user_id`` bound on identity servers (on
        ``id_server``, or where each was bound); whether all supported it.

        Raises:
            MatrixError: an identity server could not be asked.
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

    async def unbind_all(self, user_id: str, id_server: str | None) -> bool:
        return True
