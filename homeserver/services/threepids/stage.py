"""The UIA stage m.login.email.identity: the client proves an address with a
validated session (``threepid_creds``: ``sid`` and ``client_secret``).

Spec: client-server API, "Email-based (identity / homeserver)".
"""

from __future__ import annotations

from homeserver.errors import Codes
from homeserver.services.accounts.auth import Requester
from homeserver.services.accounts.ui_auth import StageFailed
from homeserver.services.threepids.validation import ThreepidValidationService
from homeserver.storage.stores.ui_auth import UiAuthSession
from homeserver.types import JsonDict

EMAIL_IDENTITY = "m.login.email.identity"
# Where the stage keeps the proved address in the UIA session.
THREEPID_KEY = "threepid"


class EmailIdentityStage:
    """Checks m.login.email.identity against our own validation sessions."""

    def __init__(self, validation: ThreepidValidationService) -> None:
        self.validation = validation

    async def check(
        self, auth: JsonDict, requester: Requester | None, session: UiAuthSession
    ) -> JsonDict:
        creds = auth.get("threepid_creds") or auth.get("threepidCreds")
        if not isinstance(creds, dict):
            raise StageFailed(Codes.MISSING_PARAM, "Missing threepid_creds")
        sid, secret = creds.get("sid"), creds.get("client_secret")
        if not isinstance(sid, str) or not isinstance(secret, str):
            raise StageFailed(Codes.MISSING_PARAM, "Missing sid or client_secret")
        held = session.serverdict.get(THREEPID_KEY)
        if isinstance(held, dict) and held.get("sid") == sid:
            return {}
        try:
            validated = await self.validation.take_validated(sid, secret)
        except Exception:  # noqa: BLE001 - a bad secret is a failed stage
            validated = None
        if validated is None:
            # As Synapse: 401 M_UNAUTHORIZED until the mail's code or link
            # was used (clients poll this).
            raise StageFailed(Codes.UNAUTHORIZED, "Unable to get validated threepid")
        return {
            THREEPID_KEY: {
                "sid": sid,
                "medium": validated.medium,
                "address": validated.address,
                "validated_at": validated.validated_at,
            }
        }

    async def on_session_ended(self, session: UiAuthSession, completed: bool) -> None:
        return None
