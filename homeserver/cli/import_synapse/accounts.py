"""Steps: users (with their password hashes, guest, shadow-ban, lock and
erasure flags), profiles, devices, access tokens, third-party IDs and
registration tokens.

Synapse hashes passwords with bcrypt, which Chatly verifies as it is (and
re-hashes on the next login when ``password_hashing.scheme`` is argon2id).
Synapse keeps access tokens in the clear; Chatly keeps only their SHA-256,
so each is hashed here and clients stay logged in.
"""

from __future__ import annotations

import time

from homeserver.cli.import_synapse.steps import (
    Context,
    Row,
    Step,
    copy_rows,
    insert_ignore_txn,
    local_user_id,
)
from homeserver.storage.database import Transaction
from homeserver.util.tokens import hash_token


def _users(ctx: Context) -> int:
    def write(txn: Transaction, rows: list[Row]) -> None:
        insert_ignore_txn(
            txn,
            "users",
            (
                "user_id",
                "password_hash",
                "created_ts",
                "admin",
                "deactivated",
                "user_type",
                "is_guest",
                "shadow_banned",
                "locked",
                "erased",
            ),
            [
                (
                    r["name"],
                    r["password_hash"] or None,
                    # Synapse counts seconds here.
                    int(r["creation_ts"] or 0) * 1000,
                    bool(r["admin"]),
                    bool(r["deactivated"]),
                    r["user_type"],
                    bool(r["is_guest"]),
                    bool(r["shadow_banned"]),
                    bool(r["locked"]),
                    r["erased"] is not None,
                )
                for r in rows
            ],
            ("user_id",),
        )

    rows = ctx.source.rows(
        "SELECT u.name, u.password_hash, u.creation_ts, u.admin, u.deactivated,"
        " u.user_type, u.is_guest, u.shadow_banned, u.locked, e.user_id AS erased"
        " FROM users AS u LEFT JOIN erased_users AS e ON e.user_id = u.name"
        " ORDER BY u.name"
    )
    return copy_rows(ctx, "users", rows, write, ctx.source.count("users"))


def _profiles(ctx: Context) -> int:
    def write(txn: Transaction, rows: list[Row]) -> None:
        insert_ignore_txn(
            txn,
            "profiles",
            ("user_id", "displayname", "avatar_url"),
            [
                (
                    r["full_user_id"] or local_user_id(ctx, r["user_id"]),
                    r["displayname"],
                    r["avatar_url"],
                )
                for r in rows
            ],
            ("user_id",),
        )

    rows = ctx.source.rows(
        "SELECT user_id, full_user_id, displayname, avatar_url FROM profiles"
        " ORDER BY user_id"
    )
    return copy_rows(ctx, "profiles", rows, write, ctx.source.count("profiles"))


def _devices(ctx: Context) -> int:
    def write(txn: Transaction, rows: list[Row]) -> None:
        insert_ignore_txn(
            txn,
            "devices",
            (
                "user_id",
                "device_id",
                "display_name",
                "last_seen_ts",
                "last_seen_ip",
                "last_seen_user_agent",
            ),
            [
                (
                    r["user_id"],
                    r["device_id"],
                    r["display_name"],
                    r["last_seen"],
                    r["ip"],
                    r["user_agent"],
                )
                for r in rows
            ],
            ("user_id", "device_id"),
        )

    # Hidden devices are Synapse's bookkeeping for cross-signing keys.
    rows = ctx.source.rows(
        "SELECT user_id, device_id, display_name, last_seen, ip, user_agent"
        " FROM devices WHERE hidden IS NULL OR NOT hidden ORDER BY user_id, device_id"
    )
    return copy_rows(ctx, "devices", rows, write, ctx.source.count("devices"))


def _access_tokens(ctx: Context) -> int:
    now = int(time.time() * 1000)

    def write(txn: Transaction, rows: list[Row]) -> None:
        insert_ignore_txn(
            txn,
            "access_tokens",
            ("token_hash", "user_id", "device_id", "created_ts", "valid_until_ts"),
            [
                (
                    hash_token(r["token"]),
                    r["user_id"],
                    r["device_id"],
                    r["last_validated"] or now,
                    r["valid_until_ms"],
                )
                for r in rows
            ],
            ("token_hash",),
        )

    # Tokens without a device (admin "login as" puppets) are left out.
    rows = ctx.source.rows(
        "SELECT token, user_id, device_id, valid_until_ms, last_validated"
        " FROM access_tokens WHERE device_id IS NOT NULL AND puppets_user_id IS NULL"
        " ORDER BY id"
    )
    return copy_rows(
        ctx, "access_tokens", rows, write, ctx.source.count("access_tokens")
    )


def _threepids(ctx: Context) -> int:
    def write(txn: Transaction, rows: list[Row]) -> None:
        insert_ignore_txn(
            txn,
            "user_threepids",
            ("user_id", "medium", "address", "validated_at", "added_at"),
            [
                (
                    r["user_id"],
                    r["medium"],
                    r["address"],
                    r["validated_at"],
                    r["added_at"],
                )
                for r in rows
            ],
            ("medium", "address"),
        )

    rows = ctx.source.rows(
        "SELECT user_id, medium, address, validated_at, added_at FROM user_threepids"
        " ORDER BY medium, address"
    )
    return copy_rows(ctx, "threepids", rows, write, ctx.source.count("user_threepids"))


def _registration_tokens(ctx: Context) -> int:
    def write(txn: Transaction, rows: list[Row]) -> None:
        insert_ignore_txn(
            txn,
            "registration_tokens",
            ("token", "uses_allowed", "pending", "completed", "expiry_time"),
            [
                # Registrations in progress on Synapse do not continue here.
                (r["token"], r["uses_allowed"], 0, r["completed"], r["expiry_time"])
                for r in rows
            ],
            ("token",),
        )

    rows = ctx.source.rows(
        "SELECT token, uses_allowed, completed, expiry_time FROM registration_tokens"
        " ORDER BY token"
    )
    return copy_rows(
        ctx, "registration_tokens", rows, write, ctx.source.count("registration_tokens")
    )


STEPS = [
    Step("users", _users),
    Step("profiles", _profiles),
    Step("devices", _devices),
    Step("access_tokens", _access_tokens),
    Step("threepids", _threepids),
    Step("registration_tokens", _registration_tokens),
]
