"""Body of POST /user_directory/search.

Spec: client-server API, "User directory".
"""

from __future__ import annotations

from homeserver.api.http.body import Int, RequestBody, Str


class UserDirectorySearchBody(RequestBody):
    """``search_term`` (required) and ``limit`` (default 10; the service
    clamps it to 0..50, as Synapse does)."""

    search_term: Str
    limit: Int = 10
