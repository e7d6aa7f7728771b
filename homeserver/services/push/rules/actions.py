"""Push rule actions (spec v1.19 "Push Rules: Actions").

Actions are kept in their JSON form: the string ``"notify"`` or an object such
as ``{"set_tweak": "sound", "value": "default"}``. The historical actions
``dont_notify`` and ``coalesce`` are accepted and stripped (the spec says a
rule with ``["dont_notify"]`` is one with no actions).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Action = str | dict[str, Any]

NOTIFY = "notify"
LEGACY_ACTIONS = frozenset({"dont_notify", "coalesce"})


class InvalidActionError(ValueError):
    """An action list a client sent is not valid; the message names why."""


def validate_actions(actions: object) -> list[Action]:
    """Check a client's action list and return it as given.

    Raises:
        InvalidActionError: not a list, or an action that is neither
            ``notify``, a historical action nor a ``set_tweak`` object.
    """
    if not isinstance(actions, list):
        raise InvalidActionError("'actions' must be a list")
    for action in actions:
        if isinstance(action, str):
            if action != NOTIFY and action not in LEGACY_ACTIONS:
                raise InvalidActionError(f"Unrecognised action {action!r}")
        elif isinstance(action, dict):
            if not isinstance(action.get("set_tweak"), str):
                raise InvalidActionError(
                    "an action object must have a string 'set_tweak'"
                )
        else:
            raise InvalidActionError(f"Unrecognised action {action!r}")
    return actions


def strip_legacy(actions: Iterable[Action]) -> list[Action]:
    """The actions without the historical ``dont_notify`` and ``coalesce``."""
    return [a for a in actions if not (isinstance(a, str) and a in LEGACY_ACTIONS)]


def notifies(actions: Sequence[Action]) -> bool:
    """Whether the actions make a notification (they contain ``notify``)."""
    return NOTIFY in actions


def highlights(actions: Sequence[Action]) -> bool:
    """Whether the actions set the ``highlight`` tweak (a missing value is true)."""
    for action in actions:
        if isinstance(action, dict) and action.get("set_tweak") == "highlight":
            return action.get("value", True) is True
    return False


def tweaks(actions: Sequence[Action]) -> dict[str, Any]:
    """The tweaks the actions set, by name (``highlight`` without value: true)."""
    found: dict[str, Any] = {}
    for action in actions:
        if isinstance(action, dict) and isinstance(action.get("set_tweak"), str):
            name = action["set_tweak"]
            found[name] = action.get("value", True if name == "highlight" else None)
    return found
