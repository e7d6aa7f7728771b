"""Upload quotas and the upload rate limit (docs/media.md, "Limits").

Spec: client-server API "Content repository": POST /_matrix/media/v3/upload
and PUT .../upload/{serverName}/{mediaId} answer 403 when "the user has
reached a quota for uploaded content", 429 when rate limited. The errcode of a
quota is M_RESOURCE_LIMIT_EXCEEDED, as Synapse's ``media_upload_limits``
(Synapse answers it with 400; we use the spec's 403). Both are checked before
anything is written, so a refused upload stores nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from homeserver.config.sections.limits import RateLimit
from homeserver.config.sections.media import MediaConfig
from homeserver.errors import Codes, MatrixError
from homeserver.storage.stores.media_lifecycle import MediaLifecycleStore
from homeserver.util.clock import Clock
from homeserver.util.linearizer import Linearizer
from homeserver.util.ratelimit import RateLimited, Ratelimiter


def _quota_exceeded(what: str, admin_contact: str | None) -> MatrixError:
    # The spec asks M_RESOURCE_LIMIT_EXCEEDED to name an admin contact.
    extra = {"admin_contact": admin_contact} if admin_contact else None
    return MatrixError(
        403,
        f"Media upload limit exceeded: {what}",
        Codes.RESOURCE_LIMIT_EXCEEDED,
        additional=extra,
    )


class UploadLimits:
    """Checks one user's upload against the rate limit and the quotas.

    Args:
        config: the ``media`` config section.
        store: usage counts of local media.
        ratelimiter: the server's rate limiter.
        rate: ``rate_limiting.media_create``.
        clock: for the periods of ``media_upload_limits``.
        admin_contact: ``admin.admin_contact``, named in quota errors.
    """

    def __init__(
        self,
        *,
        config: MediaConfig,
        store: MediaLifecycleStore,
        ratelimiter: Ratelimiter,
        rate: RateLimit,
        clock: Clock,
        admin_contact: str | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.ratelimiter = ratelimiter
        self.rate = rate
        self.clock = clock
        self.admin_contact = admin_contact
        # One quota-checked upload at a time per user (in this process), so
        # that two racing uploads cannot both fit where only one does.
        self._per_user = Linearizer()
        self._quotas = config.max_stored_bytes_per_user is not None or bool(
            config.media_upload_limits
        )
        # Longest period first: when the user is well under it, shorter
        # periods cannot be exceeded either, and one query answers all.
        self._periods = sorted(
            config.media_upload_limits, key=lambda limit: -int(limit.time_period)
        )

    async def check_rate(self, requester: RateLimited) -> None:
        """Count one new media (an upload, or an ID from /create).

        Raises:
            LimitExceeded: 429 M_LIMIT_EXCEEDED with ``retry_after_ms``.
        """
        await self.ratelimiter.check_requester("media_create", requester, self.rate)

    @asynccontextmanager
    async def quota(self, user_id: str, size: int) -> AsyncIterator[None]:
        """Check that ``user_id`` may store ``size`` more bytes, and hold that
        until the block (the write) ends: the user's next upload waits.

        Raises:
            MatrixError: 403 M_RESOURCE_LIMIT_EXCEEDED past a quota.
        """
        if not self._quotas:
            yield
            return
        async with self._per_user.queue(user_id):
            await self.check_quota(user_id, size)
            yield

    async def check_quota(self, user_id: str, size: int) -> None:
        """Whether ``user_id`` may store ``size`` more bytes.

        Raises:
            MatrixError: 403 M_RESOURCE_LIMIT_EXCEEDED past a quota.
        """
        total = self.config.max_stored_bytes_per_user
        if total is not None:
            stored = await self.store.get_stored_bytes(user_id)
            if stored + size > int(total):
                raise _quota_exceeded(
                    f"at most {int(total)} bytes may be stored", self.admin_contact
                )
        now = self.clock.time_msec()
        uploaded: int | None = None
        for limit in self._periods:
            if uploaded is None or uploaded + size > int(limit.max_size):
                uploaded = await self.store.get_uploaded_bytes_since(
                    user_id, now - int(limit.time_period)
                )
            if uploaded + size > int(limit.max_size):
                raise _quota_exceeded(
                    f"at most {int(limit.max_size)} bytes per "
                    f"{int(limit.time_period) // 1000} seconds",
                    self.admin_contact,
                )
