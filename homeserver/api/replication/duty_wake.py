"""POST /_chatly/replication/duty_wake: work for a duty another process does.

A background duty runs in exactly one process of a worker deployment
(docs/scaling.md): the federation senders (each for its shard of the
destinations), the application-service sender, the pushers. What another
process produces for them is handed over here, batched per reactor turn by
``workers/duty_relay.py``::

    {"federation": {
        "edus": [{"destinations": ["b.example"], "type": "m.typing",
                  "content": {...}}],
        "wake": ["c.example"],
        "alive": ["e.example"],
        "relayed": [{"event_id": "$x", "origin": "d.example"}]},
     "appservices": ["bridge"],
     "pushers": ["@alice:example.com"]}

Every part is optional; the answer is ``{}``. Waking is idempotent, and an
ephemeral EDU delivered twice is harmless, so the caller may retry.
"""

from __future__ import annotations

from typing import Protocol

import attrs
from pydantic import Field

from homeserver.api.http.body import JsonObject, NonEmptyStr, RequestBody
from homeserver.api.replication.resource import InternalPost
from homeserver.types import JsonDict

ENDPOINT = "duty_wake"


@attrs.frozen(kw_only=True)
class RelayedEdu:
    """An ephemeral EDU for destinations of the receiving sender."""

    destinations: tuple[str, ...]
    edu_type: str
    content: JsonDict


@attrs.frozen(kw_only=True)
class DutyWake:
    """Work handed to the process that does a duty."""

    edus: tuple[RelayedEdu, ...] = ()
    wake_destinations: tuple[str, ...] = ()
    alive: tuple[str, ...] = ()
    """Destinations that just talked to another process."""
    relayed: tuple[tuple[str, str], ...] = ()
    """(event ID, origin) of other servers' events to pass on."""
    appservices: tuple[str, ...] = ()
    pusher_users: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(
            self.edus
            or self.wake_destinations
            or self.alive
            or self.relayed
            or self.appservices
            or self.pusher_users
        )

    def to_json(self) -> JsonDict:
        """The body of the request (the endpoint parses it back)."""
        body: JsonDict = {}
        federation: JsonDict = {}
        if self.edus:
            federation["edus"] = [
                {
                    "destinations": list(e.destinations),
                    "type": e.edu_type,
                    "content": e.content,
                }
                for e in self.edus
            ]
        if self.wake_destinations:
            federation["wake"] = list(self.wake_destinations)
        if self.alive:
            federation["alive"] = list(self.alive)
        if self.relayed:
            federation["relayed"] = [
                {"event_id": e, "origin": o} for e, o in self.relayed
            ]
        if federation:
            body["federation"] = federation
        if self.appservices:
            body["appservices"] = list(self.appservices)
        if self.pusher_users:
            body["pushers"] = list(self.pusher_users)
        return body


class _EduBody(RequestBody):
    destinations: list[NonEmptyStr]
    type: NonEmptyStr
    content: JsonObject


class _RelayedBody(RequestBody):
    event_id: NonEmptyStr
    origin: NonEmptyStr


class _FederationBody(RequestBody):
    edus: list[_EduBody] = Field(default_factory=list)
    wake: list[NonEmptyStr] = Field(default_factory=list)
    alive: list[NonEmptyStr] = Field(default_factory=list)
    relayed: list[_RelayedBody] = Field(default_factory=list)


class DutyWakeBody(RequestBody):
    """The request body (see the module docstring)."""

    federation: _FederationBody | None = None
    appservices: list[NonEmptyStr] = Field(default_factory=list)
    pushers: list[NonEmptyStr] = Field(default_factory=list)

    def to_wake(self) -> DutyWake:
        federation = self.federation or _FederationBody()
        return DutyWake(
            edus=tuple(
                RelayedEdu(
                    destinations=tuple(e.destinations),
                    edu_type=e.type,
                    content=e.content,
                )
                for e in federation.edus
            ),
            wake_destinations=tuple(federation.wake),
            alive=tuple(federation.alive),
            relayed=tuple((r.event_id, r.origin) for r in federation.relayed),
            appservices=tuple(self.appservices),
            pusher_users=tuple(self.pushers),
        )


class DutyWakeTarget(Protocol):
    """The duties of this process (``workers/duty_inbox.py``)."""

    def receive(self, wake: DutyWake) -> None:
        """Hand the work to the duties this process does."""


class DutyWakeEndpoint(InternalPost[DutyWakeTarget, DutyWakeBody]):
    """POST /_chatly/replication/duty_wake."""

    ENDPOINT = ENDPOINT
    BODY = DutyWakeBody

    async def handle(self, body: DutyWakeBody) -> JsonDict:
        self.target.receive(body.to_wake())
        return {}
