"""Users' push rules: their own rules, in order within each kind, and their
changes to the server-default rules (schema 0029_push_rules.sql).

Every write takes a position on the account_data stream and records it as
the user's last push rule change, in the same transaction, so /sync can send
``m.push_rules`` exactly when the rules changed after the client's token.
The compiled rules are cached by ``PushRuleService``, which is told of every
write through ``on_change``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.id_generators import StreamIdGenerator
from homeserver.types import JsonDict


@attrs.frozen(kw_only=True)
class StoredRule:
    """One of a user's own rules as stored.

    Attributes:
        conditions: override and underride rules only.
        pattern: content rules only.
    """

    kind: str
    rule_id: str
    actions: tuple[Any, ...]
    enabled: bool
    conditions: tuple[JsonDict, ...] | None = None
    pattern: str | None = None


@attrs.frozen(kw_only=True)
class DefaultRuleChange:
    """What a user changed on a server-default rule (None: unchanged)."""

    enabled: bool | None
    actions: tuple[Any, ...] | None


@attrs.frozen(kw_only=True)
class UserRuleRows:
    """Everything stored about one user's push rules.

    Attributes:
        own: the user's rules, each kind's in evaluation order.
        defaults: changes to default rules by ``(kind, rule_id)``.
        position: the account_data position of the last change (0: never).
    """

    own: tuple[StoredRule, ...] = ()
    defaults: dict[tuple[str, str], DefaultRuleChange] = attrs.field(factory=dict)
    position: int = 0


class AnchorNotFoundError(Exception):
    """``before``/``after`` names no rule of the user of that kind."""


def _loads(text: str | None) -> tuple[Any, ...] | None:
    return None if text is None else tuple(json.loads(text))


def _load_txn(txn: Transaction, user_ids: Sequence[str]) -> dict[str, UserRuleRows]:
    own: dict[str, list[StoredRule]] = {}
    for row in txn.query_in(
        "SELECT user_id, kind, rule_id, conditions, pattern, actions, enabled"
        " FROM push_rules WHERE user_id IN (?*) ORDER BY user_id, kind, priority",
        user_ids,
    ):
        own.setdefault(row.user_id, []).append(
            StoredRule(
                kind=row.kind,
                rule_id=row.rule_id,
                actions=tuple(json.loads(row.actions)),
                enabled=bool(row.enabled),
                conditions=_loads(row.conditions),
                pattern=row.pattern,
            )
        )
    defaults: dict[str, dict[tuple[str, str], DefaultRuleChange]] = {}
    for row in txn.query_in(
        "SELECT user_id, kind, rule_id, enabled, actions FROM push_rule_defaults"
        " WHERE user_id IN (?*)",
        user_ids,
    ):
        defaults.setdefault(row.user_id, {})[(row.kind, row.rule_id)] = (
            DefaultRuleChange(
                enabled=None if row.enabled is None else bool(row.enabled),
                actions=_loads(row.actions),
            )
        )
    positions = {
        row.user_id: int(row.stream_id)
        for row in txn.query_in(
            "SELECT user_id, stream_id FROM push_rules_stream WHERE user_id IN (?*)",
            user_ids,
        )
    }
    return {
        user_id: UserRuleRows(
            own=tuple(own.get(user_id, ())),
            defaults=defaults.get(user_id, {}),
            position=positions.get(user_id, 0),
        )
        for user_id in user_ids
    }


def _mark_changed_txn(txn: Transaction, user_id: str, stream_id: int) -> None:
    txn.execute(
        "INSERT INTO push_rules_stream (user_id, stream_id) VALUES (?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET stream_id = excluded.stream_id",
        (user_id, stream_id),
    )


def _priority_txn(
    txn: Transaction, user_id: str, kind: str, rule_id: str
) -> int | None:
    row = txn.query_one(
        "SELECT priority FROM push_rules WHERE user_id = ? AND kind = ? AND rule_id = ?",
        (user_id, kind, rule_id),
    )
    return None if row is None else int(row.priority)


def _new_priority_txn(
    txn: Transaction,
    user_id: str,
    rule: StoredRule,
    before: str | None,
    after: str | None,
) -> int:
    """Where the rule goes: next to its anchor (making room), else the
    priority it already has, else first of its kind."""
    anchor = before if before is not None else after
    kind = rule.kind
    if anchor is None:
        current = _priority_txn(txn, user_id, kind, rule.rule_id)
        if current is not None:
            return current
        row = txn.query_one(
            "SELECT MIN(priority) AS low FROM push_rules WHERE user_id = ? AND kind = ?",
            (user_id, kind),
        )
        return 0 if row is None or row.low is None else int(row.low) - 1
    if anchor == rule.rule_id:
        raise AnchorNotFoundError(f"A rule cannot be placed next to itself: {anchor}")
    at = _priority_txn(txn, user_id, kind, anchor)
    if at is None:
        raise AnchorNotFoundError(f"No {kind} rule {anchor!r} to place it next to")
    if after is not None and before is None:
        at += 1
    txn.execute(
        "UPDATE push_rules SET priority = priority + 1"
        " WHERE user_id = ? AND kind = ? AND priority >= ?",
        (user_id, kind, at),
    )
    return at


class PushRulesStore:
    """Reads and writes users' push rules.

    Args:
        db: the database.
        stream_ids: the account_data stream's ID generator.
    """

    def __init__(self, db: Database, stream_ids: StreamIdGenerator) -> None:
        self.db = db
        self.stream_ids = stream_ids
        # Called with the user ID after each committed write (the service's
        # cache invalidation).
        self.on_change: Callable[[str], None] = lambda user_id: None

    async def get_user_rules(
        self, user_ids: Collection[str]
    ) -> dict[str, UserRuleRows]:
        """Every given user's stored rules, in one transaction (three queries)."""
        users = sorted(set(user_ids))
        if not users:
            return {}
        return await self.db.run_interaction("get_push_rules", _load_txn, users)

    async def _write(
        self, name: str, user_id: str, fn: Callable[[Transaction], bool]
    ) -> int | None:
        """Run ``fn`` and, when it changed something, record the change.

        Returns:
            The stream position of the change, None if nothing changed.
        """

        def write_txn(txn: Transaction, stream_id: int) -> bool:
            if not fn(txn):
                return False
            _mark_changed_txn(txn, user_id, stream_id)
            txn.call_after(lambda: self.on_change(user_id))
            return True

        with self.stream_ids.allocate() as stream_id:
            changed = await self.db.run_interaction(name, write_txn, stream_id)
        return stream_id if changed else None

    async def upsert_rule(
        self,
        user_id: str,
        rule: StoredRule,
        *,
        before: str | None = None,
        after: str | None = None,
    ) -> int:
        """Add a rule of the user's, or replace the one with its kind and ID
        (which keeps its enabled flag and, without an anchor, its place).

        Args:
            before: put it just before this rule of the same kind.
            after: put it just after this rule of the same kind.

        Raises:
            AnchorNotFoundError: ``before``/``after`` names no such rule.
        """

        def upsert(txn: Transaction) -> bool:
            priority = _new_priority_txn(txn, user_id, rule, before, after)
            txn.execute(
                "INSERT INTO push_rules (user_id, kind, rule_id, priority,"
                " conditions, pattern, actions, enabled)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 1)"
                " ON CONFLICT (user_id, kind, rule_id) DO UPDATE SET"
                " priority = excluded.priority, conditions = excluded.conditions,"
                " pattern = excluded.pattern, actions = excluded.actions",
                (
                    user_id,
                    rule.kind,
                    rule.rule_id,
                    priority,
                    None if rule.conditions is None else json.dumps(rule.conditions),
                    rule.pattern,
                    json.dumps(rule.actions),
                ),
            )
            return True

        position = await self._write("upsert_push_rule", user_id, upsert)
        assert position is not None
        return position

    async def delete_rule(self, user_id: str, kind: str, rule_id: str) -> int | None:
        """Delete one of the user's rules; None if there was no such rule."""

        def delete(txn: Transaction) -> bool:
            txn.execute(
                "DELETE FROM push_rules WHERE user_id = ? AND kind = ? AND rule_id = ?",
                (user_id, kind, rule_id),
            )
            return txn.rowcount > 0

        return await self._write("delete_push_rule", user_id, delete)

    async def update_rule(
        self,
        user_id: str,
        kind: str,
        rule_id: str,
        *,
        default: bool,
        enabled: bool | None = None,
        actions: Sequence[Any] | None = None,
    ) -> int | None:
        """Set the enabled flag or the actions of a rule.

        Args:
            default: a server-default rule (the caller has checked that it
                exists): the user's change to it is recorded. Else one of the
                user's own rules.

        Returns:
            The stream position; None if the user has no such rule.
        """
        column, value = _attribute(enabled, actions)
        if default:
            sql = (
                f"INSERT INTO push_rule_defaults (user_id, kind, rule_id, {column})"
                " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, kind, rule_id)"
                f" DO UPDATE SET {column} = excluded.{column}"
            )
            args: tuple[Any, ...] = (user_id, kind, rule_id, value)
        else:
            sql = (
                f"UPDATE push_rules SET {column} = ?"
                " WHERE user_id = ? AND kind = ? AND rule_id = ?"
            )
            args = (value, user_id, kind, rule_id)

        def update(txn: Transaction) -> bool:
            txn.execute(sql, args)
            return txn.rowcount > 0

        return await self._write("update_push_rule", user_id, update)

    async def delete_all_of_user(self, user_id: str) -> None:
        """Forget a deactivated user's own rules and changes to the defaults
        (as Synapse does). No stream position is taken: nobody syncs as that
        user again. ``push_rules_stream`` keeps its row, because the
        account_data stream's start after a restart is read from it too."""

        def delete_txn(txn: Transaction) -> None:
            txn.execute("DELETE FROM push_rules WHERE user_id = ?", (user_id,))
            txn.execute("DELETE FROM push_rule_defaults WHERE user_id = ?", (user_id,))
            txn.call_after(lambda: self.on_change(user_id))

        await self.db.run_interaction("delete_push_rules_of_user", delete_txn)


def _attribute(enabled: bool | None, actions: Sequence[Any] | None) -> tuple[str, Any]:
    """The column and stored value of one rule attribute."""
    if enabled is not None:
        return "enabled", int(enabled)
    if actions is not None:
        return "actions", json.dumps(list(actions))
    raise ValueError("neither enabled nor actions given")
