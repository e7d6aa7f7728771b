"""Incoming hook tokens: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from chatly_bridge_kit.state import BridgeState

NAMESPACE = "hooks"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_hook(state: BridgeState, room_id: str) -> str:
    """A new token for ``room_id``; the caller shows it to the user once."""
    token = secrets.token_urlsafe(24)
    state.put(NAMESPACE, _digest(token), room_id)
    return token


def room_for_token(state: BridgeState, token: str) -> str | None:
    room = state.get(NAMESPACE, _digest(token))
    return None if room is None else str(room)


def revoke_hook(state: BridgeState, token: str) -> bool:
    if room_for_token(state, token) is None:
        return False
    state.delete(NAMESPACE, _digest(token))
    return True
