"""Server-default push rules only, compiled and cached per user: the rule
source until the rules' PushRuleService is there (no user rules)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from homeserver.services.push.rules.defaults import default_rules
from homeserver.services.push.rules.evaluator import CompiledRules, compile_rules
from homeserver.util.caches import LruCache


class DefaultRuleSource:
    """Each user's compiled default rules."""

    def __init__(self) -> None:
        self._compiled: LruCache[str, CompiledRules] = LruCache(
            "push_default_rules", 100_000
        )

    async def compiled_rules_for(
        self, user_ids: Collection[str]
    ) -> Mapping[str, CompiledRules]:
        found: dict[str, CompiledRules] = {}
        for user_id in user_ids:
            rules = self._compiled.get(user_id)
            if rules is None:
                rules = compile_rules(default_rules(user_id))
                self._compiled.set(user_id, rules)
            found[user_id] = rules
        return found
