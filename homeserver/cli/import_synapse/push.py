"""Steps: push rules (users' own rules, and their changes to the
server-default rules) and pushers.

Synapse names a rule ``global/<kind>/<rule_id>`` and ranks rules by
``priority_class`` (5 override ... 1 underride) and then by ``priority``,
highest first; Chatly evaluates ascending priority first, so the priority is
negated. A pusher starts after the last imported event: imported history is
never pushed again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from homeserver.cli.import_synapse.steps import (
    Context,
    Row,
    Step,
    copy_rows,
    insert_ignore_txn,
)
from homeserver.storage.database import Transaction
from homeserver.streams.registry import ACCOUNT_DATA

KINDS = ("override", "content", "room", "sender", "underride")


def _split(rule_id: str) -> tuple[str, str] | None:
    """(kind, rule ID) of a Synapse rule ID, or None for another scope."""
    parts = rule_id.split("/", 2)
    if len(parts) != 3 or parts[0] != "global" or parts[1] not in KINDS:
        return None
    return parts[1], parts[2]


def _own_rules(ctx: Context) -> Iterator[Row]:
    enabled = {
        (r["user_name"], r["rule_id"]): r["enabled"]
        for r in ctx.source.rows(
            "SELECT user_name, rule_id, enabled FROM push_rules_enable"
        )
    }
    for r in ctx.source.rows(
        "SELECT user_name, rule_id, priority_class, priority, conditions, actions"
        " FROM push_rules ORDER BY user_name, priority_class DESC, priority DESC"
    ):
        split = _split(r["rule_id"])
        if split is None:
            continue
        kind, rule_id = split
        on = enabled.get((r["user_name"], r["rule_id"]))
        yield {
            **r,
            "kind": kind,
            "short_id": rule_id,
            "enabled": None if on is None else bool(on),
        }
    for (user, full_id), on in enabled.items():
        split = _split(full_id)
        if split and split[1].startswith("."):
            yield {
                "user_name": user,
                "kind": split[0],
                "short_id": split[1],
                "actions": None,
                "enabled": None if on is None else bool(on),
                "conditions": None,
                "priority": 0,
                "default_only": True,
            }


def _rule_values(r: Row) -> tuple[object, ...]:
    conditions = json.loads(r["conditions"] or "[]")
    pattern = None
    stored_conditions = None
    if r["kind"] == "content":
        pattern = next(
            (c.get("pattern") for c in conditions if c.get("key") == "content.body"),
            None,
        )
    elif r["kind"] in ("override", "underride"):
        stored_conditions = json.dumps(conditions)
    return (
        r["user_name"],
        r["kind"],
        r["short_id"],
        -int(r["priority"] or 0),
        stored_conditions,
        pattern,
        r["actions"],
        1 if r["enabled"] is None or r["enabled"] else 0,
    )


def _push_rules(ctx: Context) -> int:
    ids = ctx.target.core.streams.ids(ACCOUNT_DATA)

    def write(txn: Transaction, batch: list[Row]) -> None:
        own = [r for r in batch if not r["short_id"].startswith(".")]
        defaults = [r for r in batch if r["short_id"].startswith(".")]
        insert_ignore_txn(
            txn,
            "push_rules",
            (
                "user_id",
                "kind",
                "rule_id",
                "priority",
                "conditions",
                "pattern",
                "actions",
                "enabled",
            ),
            [_rule_values(r) for r in own],
            ("user_id", "kind", "rule_id"),
        )
        # A default rule's actions and its enabled flag come as two rows.
        for r in defaults:
            txn.execute(
                "INSERT INTO push_rule_defaults (user_id, kind, rule_id, enabled,"
                " actions) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, kind, rule_id)"
                " DO UPDATE SET enabled = COALESCE(excluded.enabled,"
                " push_rule_defaults.enabled), actions = COALESCE(excluded.actions,"
                " push_rule_defaults.actions)",
                (
                    r["user_name"],
                    r["kind"],
                    r["short_id"],
                    None if r["enabled"] is None else int(r["enabled"]),
                    r["actions"],
                ),
            )
        for user in sorted({r["user_name"] for r in batch}):
            txn.execute(
                "INSERT INTO push_rules_stream (user_id, stream_id) VALUES (?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET stream_id = excluded.stream_id",
                (user, ids.allocate_raw()),
            )

    return copy_rows(ctx, "push_rules", _own_rules(ctx), write)


def _pushers(ctx: Context) -> int:
    now = int(time.time() * 1000)

    def write(txn: Transaction, batch: list[Row]) -> None:
        row = txn.query_one("SELECT MAX(stream_ordering) AS top FROM events")
        top = int(row.top) if row and row.top is not None else 0
        insert_ignore_txn(
            txn,
            "pushers",
            (
                "user_id",
                "device_id",
                "kind",
                "app_id",
                "pushkey",
                "app_display_name",
                "device_display_name",
                "profile_tag",
                "lang",
                "data",
                "pushkey_ts",
                "last_stream_ordering",
                "last_success_ts",
                "failing_since",
            ),
            [
                (
                    r["user_name"],
                    r["device_id"],
                    r["kind"],
                    r["app_id"],
                    r["pushkey"],
                    r["app_display_name"],
                    r["device_display_name"],
                    r["profile_tag"] or None,
                    r["lang"],
                    r["data"] or "{}",
                    r["ts"] or now,
                    top,
                    r["last_success"],
                    r["failing_since"],
                )
                for r in batch
            ],
            ("user_id", "app_id", "pushkey"),
        )

    rows = ctx.source.rows(
        "SELECT user_name, device_id, kind, app_id, pushkey, app_display_name,"
        " device_display_name, profile_tag, lang, data, ts, last_success,"
        " failing_since FROM pushers WHERE enabled IS NULL OR enabled ORDER BY id"
    )
    return copy_rows(ctx, "pushers", rows, write, ctx.source.count("pushers"))


STEPS = [Step("push_rules", _push_rules), Step("pushers", _pushers)]
