"""Push rule evaluation of every new event, the stored push actions, unread
counts and GET /notifications (docs/push.md, "Unread counts and
notifications")."""

from __future__ import annotations

import attrs

from homeserver.composition.core import Core
from homeserver.composition.sync_data import SyncDataBundle
from homeserver.services.push.default_source import DefaultRuleSource
from homeserver.services.push.evaluation import PushEvaluator, RuleSource
from homeserver.services.push.ignores import IgnoredBy
from homeserver.storage.stores.push_actions import PushActionsStore
from homeserver.storage.stores.push_rooms import PushRoomStore


@attrs.frozen(kw_only=True)
class PushEvalBundle:
    """Evaluation, push actions, notifications."""

    evaluator: PushEvaluator
    ignored_by: IgnoredBy
    actions: PushActionsStore

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        sync_data: SyncDataBundle,
        rules: RuleSource | None = None,
    ) -> PushEvalBundle:
        server_name = core.server_name

        def is_local(user_id: str) -> bool:
            return user_id.partition(":")[2] == server_name

        ignored_by = IgnoredBy(sync_data.account_data.store)
        evaluator = PushEvaluator(
            rooms=PushRoomStore(core.db, is_local),
            rules=rules or DefaultRuleSource(),
            ignored_by=ignored_by,
            is_local=is_local,
            clock=core.clock,
            stored=core.signals.push_actions_stored,
        )
        return cls(
            evaluator=evaluator,
            ignored_by=ignored_by,
            actions=PushActionsStore(core.db),
        )
