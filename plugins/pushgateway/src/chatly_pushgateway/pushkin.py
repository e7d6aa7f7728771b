"""The back-end interface (Sygnal's "Pushkin" pattern): one ``Pushkin`` per
configured app ID, with one async ``dispatch(notification, device)`` that
delivers to one device and returns the pushkeys the push service rejected
for good.

A back end never opens HTTP/1.1 connections of its own: it sends through
``PushkinContext.http``, which is the server's guarded client in process
(``PluginAPI.http_request``) and the same guarded client in the stand-alone
gateway, so user-supplied URLs (WebPush endpoints) never reach a denied
address.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, Protocol

import attrs

from chatly_pushgateway.model import Device, Notification


class TemporaryFailure(Exception):
    """The notification could not be delivered now (a 5xx or 429 from the
    push service, no connection, a timeout): the sender should retry later.
    The pushkey is not rejected."""


class TransportError(Exception):
    """No HTTP answer at all (denied address, connection failure, timeout)."""


class HttpResponse(Protocol):
    """An HTTP answer (``PluginHttpResponse`` has this shape)."""

    @property
    def code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def body(self) -> bytes: ...


class HttpSender(Protocol):
    """One outbound HTTP/1.1 request; raises ``TransportError`` when there
    is no answer."""

    def __call__(
        self, method: str, url: str, *, body: bytes | None, headers: dict[str, str]
    ) -> Awaitable[HttpResponse]: ...


@attrs.frozen(kw_only=True)
class PushkinContext:
    """What a back end gets from its host (the plugin or the stand-alone
    gateway).

    Attributes:
        http: the guarded HTTP/1.1 client.
        reactor: the Twisted reactor, for back ends that keep connections of
            their own (APNs over HTTP/2) and for timeouts.
        logger: where to log.
        timeout_s: how long one request to a push service may take.
        now: wall-clock time in seconds (token lifetimes, JWT ``iat``/``exp``).
    """

    http: HttpSender
    reactor: Any
    logger: logging.Logger
    timeout_s: float = 10.0
    now: Callable[[], float] = time.time


class Pushkin(abc.ABC):
    """The base of every back end. A subclass sets ``CONFIG`` (a frozen attrs
    class: its settings, validated at start-up) and implements ``dispatch``.

    Args:
        app_id: the app ID it serves.
        config: an instance of ``CONFIG``.
        context: the host's HTTP client, reactor and logger.
    """

    CONFIG: ClassVar[type]

    def __init__(self, app_id: str, config: Any, context: PushkinContext) -> None:
        self.app_id = app_id
        self.config = config
        self.context = context
        self.log = context.logger

    @abc.abstractmethod
    async def dispatch(self, notification: Notification, device: Device) -> list[str]:
        """Deliver ``notification`` to ``device``.

        Returns:
            The pushkeys the push service refused for good (the device is
            gone: the homeserver removes those pushers); ``[]`` when
            delivered or dropped on purpose.

        Raises:
            TemporaryFailure: not delivered now; try again later.
        """

    async def close(self) -> None:  # noqa: B027 (optional, not abstract)
        """Release connections (the host is stopping). Default: nothing."""
