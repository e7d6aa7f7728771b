"""Many new rows into one table with PostgreSQL's ``COPY ... FROM STDIN``.

One event into a big room writes a push action row for each member who gets
notified: 1,000 rows for a 1,000-member room. As a multi-row ``INSERT``, the
driver first formats 8,000 arguments into SQL text and the server then parses
it; ``COPY`` streams the rows as tab-separated text instead, which both sides
handle in a fraction of the time (docs/performance.md, "Push actions by
COPY"). ``COPY`` has no ``ON CONFLICT``: use it only for rows that cannot be
there yet (those of an event being created now). A ``COPY`` is a round trip
of its own, which for a few rows costs more than it saves, so below
``COPY_MIN_ROWS`` (and on SQLite, in-process) the caller inserts them as it
would have.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from homeserver.storage.database import Transaction

# Fewer rows than this go in as INSERT ... VALUES.
COPY_MIN_ROWS = 64

# COPY's text format: a backslash, a tab, a newline or a carriage return in a
# value is written as its backslash escape; NULL is \N.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(rows: Sequence[Sequence[Any]]) -> str:
    """``rows`` in COPY's text format: a line per row, tab-separated.

    A value repeated down the rows (an event's ID in each of its 1,000 push
    actions) is escaped once; the exact types go first, checked by identity
    (a quarter of the time of an ``isinstance`` chain per value).
    """
    escaped: dict[str, str] = {}
    lines = []
    for row in rows:
        fields = []
        for value in row:
            kind = type(value)
            if kind is str:
                text = escaped.get(value)
                if text is None:
                    text = escaped[value] = value.translate(_ESCAPES)
                fields.append(text)
            elif kind is int:
                fields.append(str(value))
            elif value is None:
                fields.append("\\N")
            elif isinstance(value, bool):
                fields.append("t" if value else "f")
            elif isinstance(value, str):
                fields.append(value.translate(_ESCAPES))
            elif isinstance(value, int):
                fields.append(str(int(value)))
            else:
                raise TypeError(f"COPY of a {type(value).__name__} value")
        lines.append("\t".join(fields))
    return "\n".join(lines) + "\n" if lines else ""


def copy_new_rows(
    txn: Transaction,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> bool:
    """Insert ``rows``, none of which can conflict with a stored row, by
    ``COPY`` when that is worth it (PostgreSQL, many rows); False if not, and
    the caller inserts them. The queued writes of ``txn``
    (``execute_later``) go first, keeping their order."""
    if txn.engine.single_threaded or len(rows) < COPY_MIN_ROWS:
        return False
    txn.send_pending()
    txn.statements += 1
    txn.round_trips += 1
    txn.cursor.copy_expert(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(copy_text(rows))
    )
    return True
