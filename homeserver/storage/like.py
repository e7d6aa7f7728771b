"""``LIKE`` patterns that take a piece of text literally.

Use with ``LIKE ? ESCAPE '\\'``. SQLite's ``LIKE`` ignores ASCII case, so a
caller that must be exact checks the rows it gets back (``has_domain``).
"""

from __future__ import annotations

_ESCAPES = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})


def literal(text: str) -> str:
    """``text`` with the characters ``LIKE`` reserves escaped."""
    return text.translate(_ESCAPES)


def of_server(server_name: str) -> str:
    """Matches the IDs of ``server_name``'s users (``...:server_name``)."""
    return "%:" + literal(server_name)
