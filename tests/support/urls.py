"""Client-API paths: the prefixes, path-segment quoting and query strings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

CLIENT = "/_matrix/client/v3"
V1 = "/_matrix/client/v1"


def q(value: str) -> str:
    """Quote a path segment (IDs hold ``!``, ``$``, ``@``, ``#`` and ``:``)."""
    return quote(value, safe="")


def client_path(path: str) -> str:
    """``path`` under ``CLIENT`` unless it already names a full ``/_...`` path."""
    return path if path.startswith("/_") else f"{CLIENT}{path}"


def query_string(query: Mapping[str, Any]) -> str:
    """``?k=v&...`` with values quoted; dicts and lists become JSON, ``None``
    drops the key; empty when nothing is left."""
    params = []
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, dict | list):
            value = json.dumps(value)
        params.append(f"{key}={quote(str(value), safe='')}")
    return ("?" + "&".join(params)) if params else ""
