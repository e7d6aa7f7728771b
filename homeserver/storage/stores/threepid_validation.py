"""Email validation sessions (table ``threepid_validation_sessions``,
migration 0033): what a requestToken opened and whether its code or link
was used."""

from __future__ import annotations

import enum

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.rows import Row


@attrs.frozen(kw_only=True)
class ValidationSession:
    """One validation session (the token itself is only kept hashed)."""

    session_id: str
    purpose: str
    medium: str
    address: str
    client_secret: str
    last_send_attempt: int
    next_link: str | None
    created_at: int
    validated_at: int | None
    token_expires_at: int


class SubmitOutcome(enum.Enum):
    """What submitting a token did."""

    VALIDATED = "validated"
    # Unknown session, wrong secret, wrong, used, burnt or expired token.
    REFUSED = "refused"


_COLUMNS = (
    "session_id, purpose, medium, address, client_secret, last_send_attempt,"
    " next_link, created_at, validated_at, token_expires_at"
)


class ThreepidValidationStore:
    """Reads and writes ``threepid_validation_sessions``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_session(self, session_id: str) -> ValidationSession | None:
        """The session ``session_id``, or None."""
        row = await self.db.run_interaction(
            "get_validation_session",
            lambda txn: txn.query_one(
                f"SELECT {_COLUMNS} FROM threepid_validation_sessions"
                " WHERE session_id = ?",
                (session_id,),
            ),
        )
        return None if row is None else _session(row)

    async def get_pending_session(
        self, purpose: str, medium: str, address: str, client_secret: str
    ) -> ValidationSession | None:
        """The not yet validated session of this client secret for
        ``address``, if there is one (spec: a repeated requestToken with the
        same ``client_secret`` continues it)."""
        row = await self.db.run_interaction(
            "get_pending_validation_session",
            lambda txn: txn.query_one(
                f"SELECT {_COLUMNS} FROM threepid_validation_sessions"
                " WHERE client_secret = ? AND medium = ? AND address = ?"
                " AND purpose = ? AND validated_at IS NULL",
                (client_secret, medium, address, purpose),
            ),
        )
        return None if row is None else _session(row)

    async def upsert_session(
        self,
        session: ValidationSession,
        *,
        token_hash: str,
        code_hash: str,
    ) -> None:
        """Store ``session`` with a new token and code (a new send attempt):
        wrong codes counted so far are forgotten."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "DELETE FROM threepid_validation_sessions WHERE session_id = ?",
                (session.session_id,),
            )
            txn.execute(
                "INSERT INTO threepid_validation_sessions (session_id, purpose,"
                " medium, address, client_secret, last_send_attempt, next_link,"
                " created_at, validated_at, token_hash, code_hash,"
                " token_expires_at, failed_attempts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, 0)",
                (
                    session.session_id,
                    session.purpose,
                    session.medium,
                    session.address,
                    session.client_secret,
                    session.last_send_attempt,
                    session.next_link,
                    session.created_at,
                    token_hash,
                    code_hash,
                    session.token_expires_at,
                ),
            )

        await self.db.run_interaction("upsert_validation_session", txn_fn)

    async def submit_token(
        self,
        session_id: str,
        client_secret: str,
        submitted_hash: str,
        *,
        now: int,
        max_failures: int,
    ) -> tuple[SubmitOutcome, ValidationSession | None]:
        """Check a submitted token (the link's or the code, hashed) in one
        transaction: a match validates the session and uses the token up; a
        wrong one is counted, and ``max_failures`` of them burn the code and
        the link until the next send attempt.

        Returns:
            The outcome and, when validated, the session.
        """

        def txn_fn(
            txn: Transaction,
        ) -> tuple[SubmitOutcome, ValidationSession | None]:
            row = txn.query_one(
                f"SELECT {_COLUMNS}, token_hash, code_hash, failed_attempts"
                " FROM threepid_validation_sessions WHERE session_id = ?",
                (session_id,),
            )
            if row is None or row.client_secret != client_secret:
                return SubmitOutcome.REFUSED, None
            live = row.token_hash is not None and int(row.token_expires_at) > now
            if live and submitted_hash in (row.token_hash, row.code_hash):
                txn.execute(
                    "UPDATE threepid_validation_sessions SET validated_at = ?,"
                    " token_hash = NULL, code_hash = NULL WHERE session_id = ?",
                    (now, session_id),
                )
                return SubmitOutcome.VALIDATED, attrs.evolve(
                    _session(row), validated_at=now
                )
            if live:
                failures = int(row.failed_attempts) + 1
                if failures >= max_failures:
                    txn.execute(
                        "UPDATE threepid_validation_sessions SET failed_attempts"
                        " = ?, token_hash = NULL, code_hash = NULL"
                        " WHERE session_id = ?",
                        (failures, session_id),
                    )
                else:
                    txn.execute(
                        "UPDATE threepid_validation_sessions SET failed_attempts"
                        " = ? WHERE session_id = ?",
                        (failures, session_id),
                    )
            return SubmitOutcome.REFUSED, None

        return await self.db.run_interaction("submit_validation_token", txn_fn)

    async def consume_validated(
        self, session_id: str, client_secret: str, *, validated_since: int
    ) -> ValidationSession | None:
        """Take the validated session (deleting it, so it proves the address
        once): None unless it exists, has this secret and was validated at
        or after ``validated_since``."""

        def txn_fn(txn: Transaction) -> ValidationSession | None:
            row = txn.query_one(
                f"SELECT {_COLUMNS} FROM threepid_validation_sessions"
                " WHERE session_id = ?",
                (session_id,),
            )
            if (
                row is None
                or row.client_secret != client_secret
                or row.validated_at is None
                or int(row.validated_at) < validated_since
            ):
                return None
            txn.execute(
                "DELETE FROM threepid_validation_sessions WHERE session_id = ?",
                (session_id,),
            )
            return _session(row)

        return await self.db.run_interaction("consume_validation_session", txn_fn)

    async def delete_older_than(self, created_before: int) -> int:
        """Forget sessions created before ``created_before``; how many."""

        def txn_fn(txn: Transaction) -> int:
            txn.execute(
                "DELETE FROM threepid_validation_sessions WHERE created_at < ?",
                (created_before,),
            )
            return txn.rowcount

        return await self.db.run_interaction("expire_validation_sessions", txn_fn)


def _session(row: Row) -> ValidationSession:
    return ValidationSession(
        session_id=row.session_id,
        purpose=row.purpose,
        medium=row.medium,
        address=row.address,
        client_secret=row.client_secret,
        last_send_attempt=int(row.last_send_attempt),
        next_link=row.next_link,
        created_at=int(row.created_at),
        validated_at=None if row.validated_at is None else int(row.validated_at),
        token_expires_at=int(row.token_expires_at),
    )
