"""User-interactive authentication (UIA).

Spec: client-server API, "User-Interactive Authentication API".
"""

from __future__ import annotations

from typing import Protocol

import attrs

from homeserver.errors import Codes, Forbidden, InteractiveAuthIncomplete, MatrixError
from homeserver.services.accounts.auth import Requester
from homeserver.storage.stores.ui_auth import UiAuthSession, UiAuthStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.tokens import random_string

# The serverdict key of a session that has ended (kept to answer repeats).
_ENDED = "ended"


class StageFailed(Exception):
    """A UIA stage was attempted and failed; the 401 body carries this error."""

    def __init__(self, errcode: str, error: str) -> None:
        super().__init__(error)
        self.errcode = errcode
        self.error = error


class StageChecker(Protocol):
    """Checks one UIA stage type."""

    async def check(
        self, auth: JsonDict, requester: Requester | None, session: UiAuthSession
    ) -> JsonDict:
        """Verify the stage; return server-side data to keep in the session.

        Raises:
            StageFailed: the credentials were wrong.
        """

    async def on_session_ended(self, session: UiAuthSession, completed: bool) -> None:
        """Release whatever the stage reserved for the session."""


@attrs.frozen(kw_only=True)
class UiaOperation:
    """What a UIA session is bound to: the method and path of the request that
    started it. A later round for another operation is refused (spec: "the
    server must ensure the request is for the same operation")."""

    method: str
    path: str


@attrs.frozen
class UiAuthResult:
    """A finished UIA: the original request parameters and server-side data."""

    session_id: str
    clientdict: JsonDict
    serverdict: JsonDict


class UserInteractiveAuth:
    """Runs UIA flows, keeping sessions in the database."""

    def __init__(
        self,
        store: UiAuthStore,
        checkers: dict[str, StageChecker],
        clock: Clock,
        session_timeout_ms: int,
    ) -> None:
        self.store = store
        self.checkers = checkers
        self.clock = clock
        self.session_timeout_ms = session_timeout_ms

    async def authenticate(
        self,
        operation: UiaOperation,
        auth: JsonDict | None,
        clientdict: JsonDict,
        flows: list[list[str]],
        requester: Requester | None = None,
        params: JsonDict | None = None,
        server_data: JsonDict | None = None,
    ) -> UiAuthResult:
        """Advance UIA for this request; return once some flow is complete.

        Args:
            operation: the request's method and path.
            auth: the request's ``auth`` object (its ``type``, ``session`` and
                the stage's own fields), if it has one.
            clientdict: the request's other parameters. They are kept in the
                session so later rounds may leave them out; secrets belong in
                ``server_data`` instead (e.g. a password hash), which is kept
                server-side and returned in ``UiAuthResult.serverdict``.
            flows: the flows that complete the operation.
            requester: who is asking, for operations on one's own account.
            params: the ``params`` of the 401 answer.
            server_data: kept in the session, never sent.

        Raises:
            InteractiveAuthIncomplete: 401 with the flows and progress so far.
            MatrixError: the session is unknown or was for another request.
        """
        session = await self._get_or_create_session(operation, auth, clientdict)
        # Later requests in a session may leave out the original parameters.
        clientdict = {**session.clientdict, **clientdict}
        completed = list(session.completed)
        serverdict = dict(session.serverdict)
        if server_data:
            serverdict.update(server_data)
            await self.store.update_session(session.session_id, completed, serverdict)
        failure: StageFailed | None = None
        stage = auth.get("type") if auth else None
        if stage is not None:
            allowed = {s for flow in flows for s in flow}
            if stage not in allowed or stage not in self.checkers:
                raise MatrixError(
                    400, f"Unknown auth stage type {stage!r}", Codes.UNRECOGNIZED
                )
            try:
                checker = self.checkers[stage]
                serverdict.update(
                    await checker.check(dict(auth or {}), requester, session)
                )
                if stage not in completed:
                    completed.append(stage)
                await self.store.update_session(
                    session.session_id, completed, serverdict
                )
            except StageFailed as exc:
                failure = exc
        if any(all(s in completed for s in flow) for flow in flows):
            return UiAuthResult(session.session_id, clientdict, serverdict)
        body_401: JsonDict = {
            "flows": [{"stages": flow} for flow in flows],
            "params": params or {},
            "session": session.session_id,
        }
        if completed or auth is not None:
            # As Synapse: once the client has attempted a stage, every 401
            # says which stages are done (spec: "completed").
            body_401["completed"] = completed
        if failure is not None:
            body_401.update(errcode=failure.errcode, error=failure.error)
        raise InteractiveAuthIncomplete(body_401)

    async def finish(
        self,
        result: UiAuthResult,
        succeeded: bool = True,
        outcome: JsonDict | None = None,
    ) -> None:
        """End a session whose request went through (or definitively failed).

        Args:
            result: the finished UIA.
            succeeded: whether the operation was carried out.
            outcome: if given, the session is kept (until it expires) as an
                ended one holding this, so that a repeat of the request can be
                answered the same way (``ended_session``); it can no longer
                authenticate anything.
        """
        session = await self.store.get_session(result.session_id)
        if session is None:
            return
        if outcome is None:
            await self.store.delete_session(result.session_id)
        else:
            await self.store.update_session(
                session.session_id, session.completed, {**outcome, _ENDED: True}
            )
        for checker in self.checkers.values():
            await checker.on_session_ended(session, succeeded)

    async def ended_session(
        self, operation: UiaOperation, auth: JsonDict | None
    ) -> UiAuthSession | None:
        """The session ``auth`` names if it ended with an ``outcome`` (see
        ``finish``) for this same operation and has not expired; else None."""
        session_id = auth.get("session") if auth else None
        if not isinstance(session_id, str):
            return None
        session = await self.store.get_session(session_id)
        if (
            session is None
            or not session.serverdict.get(_ENDED)
            or session.creation_ts + self.session_timeout_ms < self.clock.time_msec()
            or (session.uri, session.method) != (operation.path, operation.method)
        ):
            return None
        return session

    async def _get_or_create_session(
        self, operation: UiaOperation, auth: JsonDict | None, clientdict: JsonDict
    ) -> UiAuthSession:
        session_id = auth.get("session") if auth else None
        now = self.clock.time_msec()
        if session_id is None:
            await self._expire_sessions(now)
            session = UiAuthSession(
                random_string(24),
                now,
                operation.path,
                operation.method,
                clientdict,
                [],
                {},
            )
            await self.store.create_session(session)
            return session
        found = await self.store.get_session(session_id)
        if found is None or found.creation_ts + self.session_timeout_ms < now:
            raise MatrixError(400, "Unknown or expired auth session", Codes.UNKNOWN)
        session = found
        if session.serverdict.get(_ENDED):
            raise MatrixError(400, "This auth session has ended", Codes.UNKNOWN)
        if session.uri != operation.path or session.method != operation.method:
            raise Forbidden(
                "Requested operation has changed during the UI authentication session."
            )
        return session

    async def _expire_sessions(self, now: int) -> None:
        for session in await self.store.pop_expired_sessions(
            now - self.session_timeout_ms
        ):
            for checker in self.checkers.values():
                await checker.on_session_ended(session, False)


class DummyStage:
    """m.login.dummy: always passes."""

    async def check(
        self, auth: JsonDict, requester: Requester | None, session: UiAuthSession
    ) -> JsonDict:
        return {}

    async def on_session_ended(self, session: UiAuthSession, completed: bool) -> None:
        return None
