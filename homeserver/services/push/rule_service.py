"""Each user's push rules: the server defaults merged with the user's own
rules and changes, served to clients (spec v1.19 "Push Rules: API"), as
``m.push_rules`` account data, and compiled for evaluation.

The merged and compiled rules of a user are cached (``push_rules`` LRU); the
evaluator asks for a room's members at once and the users not cached are
loaded in one transaction. Every write invalidates the user's entry when it
commits, wakes the user's syncs and emits ``account_data_changed``. A
deactivated account's rules are deleted.

Writes are checked where they arrive and made through the ``writer`` port:
here (one process, or the account_data stream's writer, whose positions push
rules take), or on that writer over internal HTTP in a worker deployment.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Literal, Protocol

import attrs

from homeserver.errors import InvalidParam, NotFound
from homeserver.services.accounts.auth import Requester
from homeserver.services.push.rules.defaults import default_rules, merged_rules
from homeserver.services.push.rules.evaluator import CompiledRules, compile_rules
from homeserver.services.push.rules.model import PushRule, rule_set_to_json
from homeserver.services.push.rules.validation import (
    ENABLED,
    check_attribute,
    check_kind,
    check_scope,
    parse_actions,
    parse_enabled,
    parse_rule,
)
from homeserver.signals import AccountDataChanged, AccountDeactivated, Signal
from homeserver.storage.stores.push_rules import (
    AnchorNotFoundError,
    PushRulesStore,
    StoredRule,
    UserRuleRows,
)
from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import ACCOUNT_DATA
from homeserver.types import JsonDict
from homeserver.util.caches import LruCache
from homeserver.util.linearizer import Linearizer
from homeserver.util.ports import Port

PUSH_RULES_TYPE = "m.push_rules"
CACHE_SIZE = 100_000


@attrs.frozen(kw_only=True)
class UserRules:
    """A user's rules, merged (evaluation order) and compiled.

    Attributes:
        position: the account_data position of the last change (0: never).
    """

    rules: tuple[PushRule, ...]
    compiled: CompiledRules
    position: int


def _push_rule(stored: StoredRule) -> PushRule:
    return PushRule(**attrs.asdict(stored, recurse=False))


def _stored(rule: PushRule) -> StoredRule:
    fields = attrs.asdict(rule, recurse=False)
    del fields["default"]
    return StoredRule(**fields)


def _user_rules(user_id: str, rows: UserRuleRows) -> UserRules:
    merged = merged_rules(
        user_id,
        (_push_rule(r) for r in rows.own),
        {key: (c.enabled, c.actions) for key, c in rows.defaults.items()},
    )
    return UserRules(
        rules=tuple(merged), compiled=compile_rules(merged), position=rows.position
    )


def _is_default(user_id: str, kind: str, rule_id: str) -> bool:
    return any(r.kind == kind and r.rule_id == rule_id for r in default_rules(user_id))


@attrs.frozen(kw_only=True)
class RuleWrite:
    """One checked push rule write: ``put`` (``rule`` as the client sent it,
    ``before``/``after``), ``delete``, or ``set_attribute`` (``enabled`` or
    ``actions``)."""

    op: Literal["put", "delete", "set_attribute"]
    user_id: str
    kind: str
    rule_id: str
    rule: JsonDict = attrs.field(factory=dict)
    before: str | None = None
    after: str | None = None
    enabled: bool | None = None
    actions: list[Any] | None = None


class PushRuleWriter(Protocol):
    """Push rule writes on the account_data stream's writer."""

    async def write(self, change: RuleWrite) -> int | None:
        """Make ``change``; its account_data position, None if there is no
        such rule to delete or change.

        Raises:
            MatrixError: 400 for an anchor that names no rule; 503
                (retryable) when the writer cannot be reached.
        """
        ...


class LocalPushRuleWriter:
    """The null ``PushRuleWriter``: this process writes the rules."""

    def __init__(self, service: PushRuleService) -> None:
        self.write = service.write_here


class PushRuleService:
    """Users' push rules (``evaluator.rules`` and the /pushrules/ API).

    Args:
        store: where the users' own rules and changes live.
        notifier: woken (account_data stream) for the user on every change.
        changed: ``account_data_changed``, emitted for ``m.push_rules``.
    """

    def __init__(
        self,
        *,
        store: PushRulesStore,
        notifier: Notifier,
        changed: Signal[AccountDataChanged],
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.changed = changed
        self._cache: LruCache[str, UserRules] = LruCache("push_rules", CACHE_SIZE)
        # Bumped on every committed write: a load that began before it does
        # not cache what it read.
        self._generation = 0
        self._writes = Linearizer()
        store.on_change = self._invalidate
        self.writer: Port[PushRuleWriter] = Port(LocalPushRuleWriter(self))

    @property
    def cache(self) -> LruCache[str, UserRules]:
        """Each user's rules (shared between the processes of a deployment)."""
        return self._cache

    def forget_replicated(self, user_ids: list[str]) -> None:
        """Another process changed these users' rules (none: anyone's)."""
        self._generation += 1
        self._cache.forget_keys(user_ids)

    def _invalidate(self, user_id: str) -> None:
        self._generation += 1
        self._cache.invalidate(user_id)

    async def rules_of(self, user_ids: Collection[str]) -> dict[str, UserRules]:
        """Each user's rules: from the cache, the others in one transaction."""
        found = self._cache.get_many(user_ids)
        missing = [u for u in user_ids if u not in found]
        if missing:
            generation = self._generation
            rows = await self.store.get_user_rules(missing)
            for user_id, user_rows in rows.items():
                entry = _user_rules(user_id, user_rows)
                if generation == self._generation:
                    self._cache.set(user_id, entry)
                found[user_id] = entry
        return found

    async def compiled_rules_for(
        self, user_ids: Collection[str]
    ) -> Mapping[str, CompiledRules]:
        """Each user's compiled rule set (the evaluator's ``RuleSource``)."""
        return {u: r.compiled for u, r in (await self.rules_of(user_ids)).items()}

    async def _rules(self, user_id: str) -> UserRules:
        return (await self.rules_of([user_id]))[user_id]

    # -- account data -------------------------------------------------------

    async def rules_content(self, user_id: str) -> JsonDict:
        """The ``m.push_rules`` content: ``{"global": ruleset}``."""
        return {"global": rule_set_to_json((await self._rules(user_id)).rules)}

    async def account_data_changes(
        self, user_id: str, since: int | None, upto: int
    ) -> dict[str, JsonDict]:
        """``m.push_rules`` for /sync: always in an initial sync, else when
        the rules changed after ``since``.

        A change after ``upto`` (still being written) is sent now and again
        with the next token: sending it twice is harmless, missing it is not.
        """
        if since is not None and (await self._rules(user_id)).position <= since:
            return {}
        return {PUSH_RULES_TYPE: await self.rules_content(user_id)}

    async def account_data_content(
        self, user_id: str, data_type: str
    ) -> JsonDict | None:
        """GET /user/{userId}/account_data/m.push_rules reads the rules (as
        Synapse); None for any other type."""
        if data_type != PUSH_RULES_TYPE:
            return None
        return await self.rules_content(user_id)

    # -- client API ---------------------------------------------------------

    async def get_all(self, requester: Requester) -> JsonDict:
        """GET /pushrules/."""
        return await self.rules_content(requester.user_id)

    async def get_scope(self, requester: Requester, scope: str) -> JsonDict:
        """GET /pushrules/global/."""
        check_scope(scope)
        content = await self.rules_content(requester.user_id)
        return content["global"]  # type: ignore[no-any-return]

    async def get_kind(
        self, requester: Requester, scope: str, kind: str
    ) -> list[JsonDict]:
        """GET /pushrules/global/{kind}/: the rules of one kind, in order (a
        JSON array). Not in the spec's list of endpoints, but Synapse serves
        it and clients have used it."""
        check_scope(scope)
        check_kind(kind)
        content = await self.rules_content(requester.user_id)
        return content["global"][kind]  # type: ignore[no-any-return]

    async def _find(
        self, user_id: str, scope: str, kind: str, rule_id: str
    ) -> PushRule:
        check_scope(scope)
        check_kind(kind)
        for rule in (await self._rules(user_id)).rules:
            if rule.kind == kind and rule.rule_id == rule_id:
                return rule
        raise NotFound(f"No {kind} push rule {rule_id!r}")

    async def get_rule(
        self, requester: Requester, scope: str, kind: str, rule_id: str
    ) -> JsonDict:
        """GET /pushrules/global/{kind}/{ruleId}."""
        rule = await self._find(requester.user_id, scope, kind, rule_id)
        return rule.to_json()

    async def get_attribute(
        self, requester: Requester, scope: str, kind: str, rule_id: str, attr: str
    ) -> JsonDict:
        """GET /pushrules/global/{kind}/{ruleId}/enabled or /actions."""
        check_attribute(attr)
        rule = await self._find(requester.user_id, scope, kind, rule_id)
        if attr == ENABLED:
            return {"enabled": rule.enabled}
        return {"actions": list(rule.actions)}

    async def put_rule(
        self,
        requester: Requester,
        scope: str,
        kind: str,
        rule_id: str,
        body: JsonDict,
        *,
        before: str | None,
        after: str | None,
    ) -> JsonDict:
        """PUT /pushrules/global/{kind}/{ruleId}: add or replace a rule."""
        check_scope(scope)
        parse_rule(kind, rule_id, body)
        await self.writer.get().write(
            RuleWrite(
                op="put",
                user_id=requester.user_id,
                kind=kind,
                rule_id=rule_id,
                rule=body,
                before=before,
                after=after,
            )
        )
        return {}

    async def delete_rule(
        self, requester: Requester, scope: str, kind: str, rule_id: str
    ) -> JsonDict:
        """DELETE /pushrules/global/{kind}/{ruleId}: a user's own rule only.

        A server-default rule is not the user's to delete: 404 M_NOT_FOUND,
        as Synapse answers (it looks only among the user's own rules) and as
        clients expect of a rule that cannot go; it can be disabled."""
        check_scope(scope)
        check_kind(kind)
        user_id = requester.user_id
        if _is_default(user_id, kind, rule_id):
            raise NotFound(
                f"{rule_id!r} is a server-default rule: it cannot be deleted,"
                " only disabled"
            )
        change = RuleWrite(op="delete", user_id=user_id, kind=kind, rule_id=rule_id)
        if await self.writer.get().write(change) is None:
            raise NotFound(f"No {kind} push rule {rule_id!r}")
        return {}

    async def set_attribute(
        self,
        requester: Requester,
        scope: str,
        kind: str,
        rule_id: str,
        attr: str,
        body: JsonDict,
    ) -> JsonDict:
        """PUT /pushrules/global/{kind}/{ruleId}/enabled or /actions."""
        check_scope(scope)
        check_kind(kind)
        check_attribute(attr)
        enabled = parse_enabled(body) if attr == ENABLED else None
        actions = None if attr == ENABLED else parse_actions(body.get("actions"))
        change = RuleWrite(
            op="set_attribute",
            user_id=requester.user_id,
            kind=kind,
            rule_id=rule_id,
            enabled=enabled,
            actions=actions,
        )
        if await self.writer.get().write(change) is None:
            raise NotFound(f"No {kind} push rule {rule_id!r}")
        return {}

    async def on_account_deactivated(self, deactivated: AccountDeactivated) -> None:
        """A deactivated account's rules go, as Synapse purges them with the
        account data: its rules are the defaults again."""
        user_id = deactivated.user_id
        async with self._writes.queue(user_id):
            await self.store.delete_all_of_user(user_id)

    # -- PushRuleWriter: the writes themselves, on this process -------------

    async def write_here(self, change: RuleWrite) -> int | None:
        """Make a checked write here (see ``PushRuleWriter.write``)."""
        user_id, kind, rule_id = change.user_id, change.kind, change.rule_id
        async with self._writes.queue(user_id):
            if change.op == "put":
                rule = _stored(parse_rule(kind, rule_id, change.rule))
                try:
                    position: int | None = await self.store.upsert_rule(
                        user_id, rule, before=change.before, after=change.after
                    )
                except AnchorNotFoundError as exc:
                    raise InvalidParam(str(exc)) from None
            elif change.op == "delete":
                position = await self.store.delete_rule(user_id, kind, rule_id)
            else:
                position = await self.store.update_rule(
                    user_id,
                    kind,
                    rule_id,
                    default=_is_default(user_id, kind, rule_id),
                    enabled=change.enabled,
                    actions=change.actions,
                )
        if position is not None:
            self._changed(user_id, position)
        return position

    def _changed(self, user_id: str, position: int) -> None:
        self.notifier.notify(ACCOUNT_DATA.name, users=[user_id])
        self.changed.emit(
            AccountDataChanged(
                user_id=user_id,
                room_id=None,
                data_type=PUSH_RULES_TYPE,
                stream_id=position,
            )
        )
