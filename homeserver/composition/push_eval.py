"""Push rules (the /pushrules/ API and m.push_rules account data), their
evaluation on every new event, the stored push actions, unread counts and GET
/notifications (docs/push.md, "Push rules", "Unread counts and
notifications")."""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.api.client.notifications import notification_endpoints
from homeserver.api.client.push_rules import push_rule_endpoints
from homeserver.composition.core import Core
from homeserver.composition.reading import ReadingBundle
from homeserver.composition.sync_data import SyncDataBundle
from homeserver.services.accounts.auth import Auth
from homeserver.services.push.evaluation import PushEvaluator
from homeserver.services.push.ignores import IgnoredBy
from homeserver.services.push.notifications import (
    NotificationsService,
    ReadActionsPruner,
)
from homeserver.services.push.rule_service import PushRuleService
from homeserver.storage.stores.push_actions import PushActionsStore
from homeserver.storage.stores.push_rooms import PushRoomStore
from homeserver.storage.stores.push_rules import PushRulesStore
from homeserver.streams.registry import ACCOUNT_DATA


@attrs.frozen(kw_only=True)
class PushEvalBundle:
    """Push rules, evaluation, push actions, notifications."""

    rules: PushRuleService
    evaluator: PushEvaluator
    ignored_by: IgnoredBy
    actions: PushActionsStore
    notifications: NotificationsService
    pruner: ReadActionsPruner

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        sync_data: SyncDataBundle,
        reading: ReadingBundle,
    ) -> PushEvalBundle:
        server_name = core.server_name

        def is_local(user_id: str) -> bool:
            return user_id.partition(":")[2] == server_name

        ignored_by = IgnoredBy(sync_data.account_data.store)
        rules = PushRuleService(
            store=PushRulesStore(core.db, core.streams.ids(ACCOUNT_DATA)),
            notifier=core.notifier,
            changed=core.signals.account_data_changed,
        )
        evaluator = PushEvaluator(
            rooms=PushRoomStore(core.db, is_local),
            rules=rules,
            ignored_by=ignored_by,
            is_local=is_local,
            clock=core.clock,
            stored=core.signals.push_actions_stored,
        )
        actions = PushActionsStore(core.db)
        return cls(
            rules=rules,
            evaluator=evaluator,
            ignored_by=ignored_by,
            actions=actions,
            notifications=NotificationsService(
                actions=actions, events=core.events, serializer=reading.serializer
            ),
            pruner=ReadActionsPruner(actions, core.clock),
        )

    def client_endpoints(self, auth: Auth) -> list[Any]:
        """GET /notifications and /pushrules/."""
        return [
            *notification_endpoints(auth, self.notifications),
            *push_rule_endpoints(auth, self.rules),
        ]
