"""Password hashing with argon2id (default) or bcrypt, off the reactor thread."""

from __future__ import annotations

import secrets
from typing import Any

import argon2
import bcrypt

from homeserver.config.model import PasswordHashingConfig
from homeserver.storage.database import Runner


class PasswordHasher:
    """Hashes and checks passwords; verification accepts either scheme.

    Args:
        config: which scheme and cost to use for new hashes.
        runner: runs the (deliberately slow) hashing off the reactor thread.
    """

    def __init__(self, config: PasswordHashingConfig, runner: Runner) -> None:
        self.config = config
        self.runner = runner
        self._argon2 = argon2.PasswordHasher(
            time_cost=config.argon2_time_cost,
            memory_cost=config.argon2_memory_cost_kib,
            parallelism=config.argon2_parallelism,
            type=argon2.Type.ID,
        )
        # A hash of a random password, made on first use: what a password is
        # checked against when there is no real hash to check it against.
        self._dummy_hash: str | None = None

    def _hash(self, password: str) -> str:
        if self.config.scheme == "bcrypt":
            salt = bcrypt.gensalt(rounds=self.config.bcrypt_rounds)
            return bcrypt.hashpw(password.encode("utf-8"), salt).decode("ascii")
        return str(self._argon2.hash(password))

    def _verify(self, password: str, stored: str) -> bool:
        if stored.startswith("$argon2"):
            try:
                return bool(self._argon2.verify(stored, password))
            except (
                argon2.exceptions.VerificationError,
                argon2.exceptions.InvalidHashError,
            ):
                return False
        if stored.startswith("$2"):
            try:
                return bool(
                    bcrypt.checkpw(password.encode("utf-8"), stored.encode("ascii"))
                )
            except ValueError:
                return False
        return False

    def needs_rehash(self, stored: str) -> bool:
        """Whether a hash that just verified should be replaced by one of the
        configured scheme and cost (``rehash_on_login``)."""
        if not self.config.rehash_on_login:
            return False
        if self.config.scheme == "bcrypt":
            if not stored.startswith("$2"):
                return True
            cost = stored.split("$")[2] if stored.count("$") >= 3 else ""
            return cost != f"{self.config.bcrypt_rounds:02d}"
        if not stored.startswith("$argon2"):
            return True
        try:
            return bool(self._argon2.check_needs_rehash(stored))
        except argon2.exceptions.InvalidHashError:
            return True

    async def hash(self, password: str) -> str:
        """A new salted hash of ``password``."""
        result: Any = await self.runner(lambda: self._hash(password))
        return str(result)

    async def verify(self, password: str, stored: str | None) -> bool:
        """Whether ``password`` matches the stored hash.

        Without a stored hash (an unknown or deactivated account, or one with
        no password) the password is checked against a dummy hash, which it
        never matches: every check costs one hash verification, so how long a
        login takes does not tell which accounts exist.
        """
        if not stored:
            await self.verify_dummy(password)
            return False
        result: Any = await self.runner(lambda: self._verify(password, stored))
        return bool(result)

    async def verify_dummy(self, password: str) -> None:
        """Spend one hash verification on ``password``, with nothing to match."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(24))
        dummy = self._dummy_hash
        await self.runner(lambda: self._verify(password, dummy))
