"""Where cached remote media lives in the MediaStorage: relative paths built
only from validated parts.

``remote_content/<server>/ab/cd/<rest>`` for a file and
``remote_thumbnails/<server>/ab/cd/<rest>/<w>-<h>-<type>-<method>[-animated]``
for a thumbnail, where ``abcd<rest>`` is our own random filesystem ID (never the
remote's media ID) and ``<server>`` is a server name checked against the
spec's grammar, so no part can step outside the store.
"""

from __future__ import annotations

from homeserver.events.ids import is_valid_server_name
from homeserver.services.media.storage import MEDIA_ID_RE


def check_server_name(server_name: str) -> str:
    """``server_name`` if it is safe as one directory name.

    Raises:
        ValueError: not a server name (or one such as ``..`` that names a
            directory it must not).
    """
    if (
        not is_valid_server_name(server_name)
        or server_name.startswith(".")
        or ".." in server_name
        or "/" in server_name
    ):
        raise ValueError(f"invalid server name {server_name!r}")
    return server_name


def _sharded(filesystem_id: str) -> str:
    if not MEDIA_ID_RE.match(filesystem_id) or len(filesystem_id) < 5:
        raise ValueError(f"invalid filesystem ID {filesystem_id!r}")
    return f"{filesystem_id[0:2]}/{filesystem_id[2:4]}/{filesystem_id[4:]}"


def remote_media_path(server_name: str, filesystem_id: str) -> str:
    """The relative path of a cached remote file."""
    return f"remote_content/{check_server_name(server_name)}/{_sharded(filesystem_id)}"


def remote_thumbnail_path(
    server_name: str,
    filesystem_id: str,
    width: int,
    height: int,
    media_type: str,
    method: str,
    animated: bool = False,
) -> str:
    """The relative path of a thumbnail of a cached remote file (``-animated``
    added for one made for an ``animated=true`` request)."""
    kind = media_type.replace("/", "-")
    if not MEDIA_ID_RE.match(kind) or method not in ("scale", "crop"):
        raise ValueError(f"invalid thumbnail type {media_type!r} or method {method!r}")
    if width < 1 or height < 1:
        raise ValueError(f"invalid thumbnail size {width}x{height}")
    return (
        f"remote_thumbnails/{check_server_name(server_name)}/"
        f"{_sharded(filesystem_id)}/{int(width)}-{int(height)}-{kind}-{method}"
        + ("-animated" if animated else "")
    )
