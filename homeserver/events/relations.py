"""Event relationships read out of event content (pure).

Spec: client-server API, "Event relationships" (``m.relates_to``),
"Threading", "Event replacements", "Reference relations"; annotations
(reactions) are MSC2677, which clients use and the spec names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


class RelationTypes:
    """The relationship types the server aggregates or checks."""

    ANNOTATION = "m.annotation"
    REPLACE = "m.replace"
    REFERENCE = "m.reference"
    THREAD = "m.thread"


# An annotation key longer than this is refused (as Synapse).
MAX_AGGREGATION_KEY_LENGTH = 500


@attrs.frozen
class Relation:
    """An event's ``m.relates_to`` with a ``rel_type``.

    Args:
        parent_id: the event it relates to.
        rel_type: the relationship type.
        key: an annotation's aggregation key (None if absent or not a string).
    """

    parent_id: str
    rel_type: str
    key: str | None = None


def relation_of(content: Mapping[str, Any]) -> Relation | None:
    """The relation in ``content``, or None if it has none (or a malformed one).

    Rich replies (``m.in_reply_to`` without a ``rel_type``) are not relations.
    """
    relates_to = content.get("m.relates_to")
    if not isinstance(relates_to, Mapping):
        return None
    rel_type = relates_to.get("rel_type")
    parent_id = relates_to.get("event_id")
    if not isinstance(rel_type, str) or not isinstance(parent_id, str):
        return None
    if not rel_type or not parent_id:
        return None
    key = relates_to.get("key")
    if rel_type != RelationTypes.ANNOTATION or not isinstance(key, str):
        key = None
    return Relation(parent_id=parent_id, rel_type=rel_type, key=key)


def has_relation(content: Mapping[str, Any]) -> bool:
    """Whether ``content`` relates to another event (with a ``rel_type``)."""
    return relation_of(content) is not None
