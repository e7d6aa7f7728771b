"""``/pushrules/`` (spec v1.19, "Push Notifications", "Push Rules: API";
data/api/client-server/pushrules.yaml). Served under r0 too, where it was.

The scope in the path must be ``global`` (400 otherwise); ``before`` and
``after`` place a new rule next to another of the user's rules. Like Synapse,
``GET /pushrules/global/{kind}/`` lists the rules of one kind.
"""

from __future__ import annotations

from typing import Any

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.push.rule_service import PushRuleService
from homeserver.types import JsonDict


class PushRulesEndpoint:
    """GET /pushrules/: every rule of the requester, ``{"global": ...}``."""

    PATTERNS = client_patterns("/pushrules/")

    def __init__(self, auth: Auth, rules: PushRuleService) -> None:
        self.auth = auth
        self.rules = rules

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.rules.get_all(requester)


class PushRuleScopeEndpoint:
    """GET /pushrules/global/: the ruleset of the scope."""

    PATTERNS = client_patterns("/pushrules/{scope}/")

    def __init__(self, auth: Auth, rules: PushRuleService) -> None:
        self.auth = auth
        self.rules = rules

    async def on_GET(self, request: ApiRequest, scope: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.rules.get_scope(requester, scope)


class PushRuleKindEndpoint:
    """GET /pushrules/global/{kind}/: the rules of one kind (as Synapse)."""

    PATTERNS = client_patterns("/pushrules/{scope}/{kind}/")

    def __init__(self, auth: Auth, rules: PushRuleService) -> None:
        self.auth = auth
        self.rules = rules

    async def on_GET(
        self, request: ApiRequest, scope: str, kind: str
    ) -> list[JsonDict]:
        requester = await requester_of(self.auth, request)
        return await self.rules.get_kind(requester, scope, kind)


class PushRuleEndpoint:
    """GET, PUT and DELETE /pushrules/global/{kind}/{ruleId}."""

    PATTERNS = client_patterns("/pushrules/{scope}/{kind}/{rule_id}")

    def __init__(self, auth: Auth, rules: PushRuleService) -> None:
        self.auth = auth
        self.rules = rules

    async def on_GET(
        self, request: ApiRequest, scope: str, kind: str, rule_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.rules.get_rule(requester, scope, kind, rule_id)

    async def on_PUT(
        self, request: ApiRequest, scope: str, kind: str, rule_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.rules.put_rule(
            requester,
            scope,
            kind,
            rule_id,
            request.json(),
            # Empty is absent, as Synapse reads them.
            before=request.query_str("before") or None,
            after=request.query_str("after") or None,
        )

    async def on_DELETE(
        self, request: ApiRequest, scope: str, kind: str, rule_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.rules.delete_rule(requester, scope, kind, rule_id)


class PushRuleAttributeEndpoint:
    """GET and PUT /pushrules/global/{kind}/{ruleId}/enabled and /actions."""

    PATTERNS = client_patterns("/pushrules/{scope}/{kind}/{rule_id}/{attr}")

    def __init__(self, auth: Auth, rules: PushRuleService) -> None:
        self.auth = auth
        self.rules = rules

    async def on_GET(
        self, request: ApiRequest, scope: str, kind: str, rule_id: str, attr: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.rules.get_attribute(requester, scope, kind, rule_id, attr)

    async def on_PUT(
        self, request: ApiRequest, scope: str, kind: str, rule_id: str, attr: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.rules.set_attribute(
            requester, scope, kind, rule_id, attr, request.json()
        )


def push_rule_endpoints(auth: Auth, service: PushRuleService) -> list[Any]:
    """The endpoints of the push rules API."""
    return [
        cls(auth, service)
        for cls in (
            PushRulesEndpoint,
            PushRuleScopeEndpoint,
            PushRuleKindEndpoint,
            PushRuleEndpoint,
            PushRuleAttributeEndpoint,
        )
    ]
