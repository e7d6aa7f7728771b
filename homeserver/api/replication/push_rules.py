"""Internal: a push rule write on the account_data stream's writer.

``POST /_chatly/replication/push_rule``: a ``RuleWrite`` (``op`` ``put``,
``delete`` or ``set_attribute``), sent by
``workers.remote_user_writes.RemotePushRules`` after the receiving process
checked the request (the rule is parsed again here).
Answers ``{"position": N}`` of the change, null if there was no such rule
to delete or change.
"""

from __future__ import annotations

from typing import Any, Literal

from homeserver.api.http.body import JsonObject, RequestBody, Str
from homeserver.api.replication.resource import InternalPost
from homeserver.services.push.rule_service import PushRuleService, RuleWrite
from homeserver.types import JsonDict


class PushRuleWriteBody(RequestBody):
    """One push rule operation and its arguments."""

    op: Literal["put", "delete", "set_attribute"]
    user_id: Str
    kind: Str
    rule_id: Str
    rule: JsonObject = {}
    before: Str | None = None
    after: Str | None = None
    enabled: bool | None = None
    actions: list[Any] | None = None


class PushRuleWriteEndpoint(InternalPost[PushRuleService, PushRuleWriteBody]):
    """POST /_chatly/replication/push_rule."""

    ENDPOINT = "push_rule"
    BODY = PushRuleWriteBody

    async def handle(self, body: PushRuleWriteBody) -> JsonDict:
        return {
            "position": await self.target.write_here(RuleWrite(**body.model_dump()))
        }
