"""Result rows that are read by column name, the same on both engines.

A ``Row`` is a tuple (so positional access, unpacking and comparison with plain
tuples keep working) whose columns are also attributes: ``row.event_id``. The
class for one list of column names is made once and cached; making a row is
one tuple allocation, as a ``namedtuple`` is.

Names come from the cursor's description, lower-cased because PostgreSQL folds
unquoted names to lower case and SQLite keeps them as written. A column that is
not a plain identifier (``COUNT(*)`` on SQLite, ``max`` on PostgreSQL) gets a
positional name (``_0``...), so give such a column an alias (``AS n``) to read
it by name. A repeated name keeps its first column.
"""

from __future__ import annotations

import collections
import functools
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar


class Row(tuple[Any, ...]):
    """One result row: a tuple whose columns are also attributes."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            """A column by name (typed as Any; a wrong name raises AttributeError)."""


@functools.lru_cache(maxsize=2048)
def row_class(names: tuple[str, ...]) -> type[Row]:
    """The ``Row`` subclass whose attributes are ``names``, made once per list."""
    base = collections.namedtuple(  # type: ignore[misc]
        "Row", [name.lower() for name in names], rename=True
    )
    return type("Row", (base, Row), {"__slots__": ()})


_NAME = operator.itemgetter(0)


def class_for(description: Sequence[Sequence[Any]] | None) -> type[Row]:
    """The row class for a cursor's ``description`` (cached by column names)."""
    if description is None:  # a statement that returns no columns
        return Row
    return row_class(tuple(map(_NAME, description)))
