"""The ``email`` pusher kind: who may add one, and the unsubscribe links.

An email pusher's pushkey is the address; it must be one of the user's
validated email third-party IDs (as Synapse: 400 M_THREEPID_NOT_FOUND
otherwise).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from homeserver.errors import Codes, MatrixError
from homeserver.services.mail.templates import MailTemplates
from homeserver.services.push.email.unsubscribe import PusherKey, UnsubscribeSigner
from homeserver.storage.stores.threepids import ThreepidStore

KIND = "email"


class NewPusherLike(Protocol):
    """A pusher about to be stored (``NewPusher``)."""

    @property
    def user_id(self) -> str: ...
    @property
    def pushkey(self) -> str: ...


class EmailPusherValidator:
    """Checks ``POST /pushers/set`` bodies of kind ``email``."""

    def __init__(self, threepids: ThreepidStore) -> None:
        self._threepids = threepids

    async def __call__(self, pusher: NewPusherLike) -> None:
        """Raises:
        MatrixError: 400 M_THREEPID_NOT_FOUND when the pushkey is not a
            validated email address of the user.
        """
        found = await self._threepids.get_threepid("email", pusher.pushkey)
        if found is None or found.user_id != pusher.user_id:
            raise MatrixError(
                400,
                "The pushkey of an email pusher must be one of your validated "
                "email addresses",
                Codes.THREEPID_NOT_FOUND,
            )


# Deletes the pusher (user_id, app_id, pushkey) and stops its runner.
RemovePusher = Callable[[str, str, str], Awaitable[None]]


class EmailUnsubscribeService:
    """The unsubscribe link of email notifications (docs/api.md).

    GET shows a confirmation page (link scanners fetch links: a GET never
    deletes); POST, from that page or a mail client's one-click (RFC 8058),
    deletes the pusher the signed token names.
    """

    def __init__(
        self,
        *,
        signer: UnsubscribeSigner,
        templates: MailTemplates,
        remove_pusher: RemovePusher,
        app_name: str,
    ) -> None:
        self._signer = signer
        self._templates = templates
        self._remove_pusher = remove_pusher
        self._app_name = app_name

    def _key(self, token: str | None) -> PusherKey:
        key = self._signer.verify(token) if token else None
        if key is None:
            raise MatrixError(
                400, "This unsubscribe link is not valid", Codes.INVALID_PARAM
            )
        return key

    def confirmation_page(self, token: str | None) -> str:
        """The HTML page that asks to confirm.

        Raises:
            MatrixError: 400 M_INVALID_PARAM for a missing or forged token.
        """
        key = self._key(token)
        return self._templates.render_page(
            "unsubscribe_confirm", {"address": key.pushkey, "app_name": self._app_name}
        )

    async def unsubscribe(self, token: str | None) -> str:
        """Delete the pusher (done already: nothing to do); the HTML page
        that says so.

        Raises:
            MatrixError: 400 M_INVALID_PARAM for a missing or forged token.
        """
        key = self._key(token)
        await self._remove_pusher(key.user_id, key.app_id, key.pushkey)
        return self._templates.render_page(
            "unsubscribe_done", {"address": key.pushkey, "app_name": self._app_name}
        )
