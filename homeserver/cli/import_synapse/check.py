"""The self-check at the end of an import: counts per table, and a sample of
imported events whose ID, content hash and this server's signature still
verify (with the imported signing key)."""

from __future__ import annotations

import json

import attrs
from signedjson.key import get_verify_key

from homeserver.cli.import_synapse.steps import Context
from homeserver.config.keyfile import read_signing_key
from homeserver.events.hashing import check_content_hash, compute_event_id
from homeserver.events.room_versions import get_room_version
from homeserver.events.signing import key_id_of, verify_event_signature

SAMPLE = 200

# (what, Synapse table and condition, Chatly table): the source rows that are
# imported one to one.
COUNTS = [
    ("users", "users", "", "users"),
    ("devices", "devices", "hidden IS NULL OR NOT hidden", "devices"),
    (
        "access tokens",
        "access_tokens",
        "device_id IS NOT NULL AND puppets_user_id IS NULL",
        "access_tokens",
    ),
    ("rooms", "rooms", "", "rooms"),
    ("events", "events", "", "events"),
    ("room aliases", "room_aliases", "", "room_aliases"),
    ("media", "local_media_repository", "url_cache IS NULL", "local_media"),
]


@attrs.define
class CheckResult:
    """What the check found."""

    problems: list[str] = attrs.Factory(list)
    lines: list[str] = attrs.Factory(list)


def _count(ctx: Context, table: str) -> int:
    row = ctx.target.run(
        "import_check_count",
        lambda txn: txn.query_one(f"SELECT COUNT(*) AS n FROM {table}"),
    )
    return int(row.n) if row else 0


def _counts(ctx: Context, result: CheckResult) -> None:
    for what, source_table, where, target_table in COUNTS:
        source = ctx.source.count(source_table, where)
        target = _count(ctx, target_table)
        mark = "ok" if target >= source else "MISSING"
        result.lines.append(f"  {what}: Synapse {source}, Chatly {target} {mark}")
        if target < source:
            result.problems.append(f"{source - target} {what} missing")


def _sample(ctx: Context, result: CheckResult) -> None:
    key_path = ctx.target.signing_key_path
    key = read_signing_key(key_path) if key_path.exists() else None
    key_id = key_id_of(key) if key is not None else None
    rows = ctx.target.run(
        "import_check_sample",
        lambda txn: txn.query(
            "SELECT e.event_id, e.json, e.redacted_by, r.room_version"
            " FROM events AS e JOIN rooms AS r USING (room_id)"
            " ORDER BY e.stream_ordering DESC LIMIT ?",
            (SAMPLE,),
        ),
    )
    signed = 0
    for row in rows:
        version = get_room_version(row.room_version)
        pdu = json.loads(row.json)
        if version is None:
            continue
        if compute_event_id(pdu, version) != row.event_id:
            result.problems.append(f"{row.event_id}: its ID does not match its hash")
        if row.redacted_by is None and not check_content_hash(pdu):
            result.problems.append(f"{row.event_id}: its content hash does not match")
        ours = pdu.get("signatures", {}).get(ctx.source_server, {})
        if key is not None and key_id in ours:
            signed += 1
            if not verify_event_signature(
                pdu, version, ctx.source_server, get_verify_key(key)
            ):
                result.problems.append(f"{row.event_id}: our signature does not verify")
    result.lines.append(
        f"  sample of {len(rows)} events: IDs and hashes checked, {signed}"
        " signatures of this server verified with the imported key"
    )


def self_check(ctx: Context) -> CheckResult:
    """Compare counts and verify a sample of events."""
    result = CheckResult()
    _counts(ctx, result)
    _sample(ctx, result)
    return result
