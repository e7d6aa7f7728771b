"""The reverse-proxy route map: which role serves which request path.

Pure data, read by ``synctl workers generate`` to write an nginx or HAProxy
config. Every process can serve every endpoint (a reader hands a write to the
writer of its stream over internal HTTP), so this map is an optimisation, never
a correctness requirement: a path missing here simply goes to ``main``.

The choice follows the endpoint lists Synapse documents for its worker types
(docs/workers.md of Synapse), mapped onto our roles:

- reads that clients poll or page through (``/sync``, ``/events``,
  ``/messages``, ``/context``, members, state, profile and directory reads,
  ``/keys/query``, ``/search`` ...) and the WebSocket transport go to
  ``client_reader``; ``/sync``-like long polls and the WebSocket stick to one
  reader per user (hash of the access token), so a user's sync position and
  caches stay warm in one process;
- writes that only touch one stream (typing, receipts, presence, account data,
  to-device) go to that stream's writer when ``workers.stream_writers`` names
  one; every other write (``/send``, state ``PUT``, ``/createRoom``,
  ``/join``...) goes to ``main``, which hands events to their event persister;
- inbound federation (``/_matrix/federation/*``, ``/_matrix/key/*``) goes to
  ``federation_reader``;
- media (``/_matrix/media/*``, ``/_matrix/client/v1/media/*``, federation
  media, the media admin API) goes to ``media``;
- everything else goes to ``main``.

``/_chatly/replication/`` and ``/metrics`` are never routed (see ``BLOCKED``).
Routes are tried in order; the first whose pattern and methods match wins.
"""

from __future__ import annotations

import re
from functools import cache

import attrs

MAIN = "main"
CLIENT_READER = "client_reader"
FEDERATION_READER = "federation_reader"
MEDIA = "media"

# Path prefixes a proxy must refuse (404): internal replication calls carry the
# replication secret between processes, and metrics are for the scraper on the
# internal network, not for the internet.
BLOCKED: tuple[str, ...] = ("/_chatly/replication/", "/metrics", "/_synapse/metrics")

DEFAULT_WEBSOCKET_PATH = "/_chatly/client/v1/ws"

READ = frozenset({"GET", "HEAD"})
WRITE = frozenset({"PUT", "POST", "DELETE"})
ANY: frozenset[str] = frozenset()

# The client-server API version prefixes, as regex groups.
_C = r"^/_matrix/client/(api/v1|r0|v1|v3|unstable)"
_R = _C + r"/rooms/[^/]+"


@attrs.frozen
class Route:
    """One entry of the route map.

    Attributes:
        pattern: a regular expression matched against the request path (no
            query string); anchored with ``^``, and with ``$`` where the
            endpoint is exact.
        role: the role whose instances serve it (``main`` when there are none).
        methods: the HTTP methods it applies to; empty means any method.
        sticky: pin each user to one instance (hash of the access token).
        websocket: the request upgrades to a WebSocket.
        stream: for a write that only touches this stream, the stream name:
            the request goes to the stream's writer (``workers.stream_writers``)
            instead of ``role``.
    """

    pattern: str
    role: str
    methods: frozenset[str] = ANY
    sticky: bool = False
    websocket: bool = False
    stream: str | None = None

    def matches(self, path: str, method: str) -> bool:
        """Whether a request for ``path`` with ``method`` takes this route."""
        if self.methods and method.upper() not in self.methods:
            return False
        return _compiled(self.pattern).search(path) is not None


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _reader(pattern: str, methods: frozenset[str] = READ) -> Route:
    return Route(pattern, CLIENT_READER, methods)


def _writer(pattern: str, stream: str) -> Route:
    return Route(pattern, MAIN, WRITE, stream=stream)


_SYNC_ROUTES = (
    Route(_C + r"/sync$", CLIENT_READER, READ, sticky=True),
    Route(_C + r"/events$", CLIENT_READER, READ, sticky=True),
    Route(
        r"^/_matrix/client/(unstable/org\.matrix\.simplified_msc3575|v4)/sync$",
        CLIENT_READER,
        frozenset({"POST"}),
        sticky=True,
    ),
    Route(_C + r"/initialSync$", CLIENT_READER, READ, sticky=True),
    _reader(_R + r"/initialSync$"),
)

_ROOM_READS = tuple(
    _reader(_R + suffix)
    for suffix in (
        r"/messages$",
        r"/context/[^/]+$",
        r"/members$",
        r"/joined_members$",
        r"/state$",
        r"/state/[^/]+(/[^/]*)?$",
        r"/event/[^/]+$",
        r"/aliases$",
        r"/relations/",
        r"/threads$",
        r"/hierarchy$",
        r"/timestamp_to_event$",
    )
)

_CLIENT_READS = (
    _reader(_C + r"/events/[^/]+$"),
    _reader(_C + r"/joined_rooms$"),
    _reader(_C + r"/profile/[^/]+(/[^/]+)?$"),
    _reader(_C + r"/directory/room/[^/]+$"),
    _reader(_C + r"/directory/list/room/[^/]+$"),
    _reader(_C + r"/publicRooms$", frozenset({"GET", "HEAD", "POST"})),
    _reader(_C + r"/user_directory/search$", frozenset({"POST"})),
    _reader(_C + r"/search$", frozenset({"POST"})),
    _reader(_C + r"/keys/query$", frozenset({"POST"})),
    _reader(_C + r"/keys/changes$"),
    _reader(_C + r"/account/whoami$"),
    _reader(_C + r"/account/3pid$"),
    _reader(_C + r"/devices$"),
    _reader(_C + r"/capabilities$"),
    _reader(_C + r"/notifications$"),
    _reader(_C + r"/voip/turnServer$"),
    _reader(_C + r"/user/[^/]+/filter/[^/]+$"),
    _reader(_C + r"/user/[^/]+/account_data/[^/]+$"),
    _reader(_C + r"/user/[^/]+/rooms/[^/]+/account_data/[^/]+$"),
    _reader(_C + r"/user/[^/]+/rooms/[^/]+/tags$"),
    _reader(_C + r"/pushrules/"),
    _reader(_C + r"/presence/[^/]+/status$"),
    _reader(_C + r"/thirdparty/"),
    _reader(_C + r"/mutual_rooms$"),
    _reader(_C + r"/user/mutual_rooms$"),
    _reader(r"^/_matrix/client/versions$"),
)

# Writes that touch one stream only: to that stream's writer, if one is named.
_STREAM_WRITES = (
    _writer(_R + r"/typing/[^/]+$", "typing"),
    _writer(_R + r"/receipt/", "receipts"),
    _writer(_R + r"/read_markers$", "receipts"),
    _writer(_C + r"/presence/[^/]+/status$", "presence"),
    _writer(_C + r"/user/[^/]+/account_data/", "account_data"),
    _writer(_C + r"/user/[^/]+/rooms/[^/]+/account_data/", "account_data"),
    _writer(_C + r"/user/[^/]+/rooms/[^/]+/tags", "account_data"),
    _writer(_C + r"/pushrules/", "account_data"),
    _writer(_C + r"/sendToDevice/", "to_device"),
)

_FEDERATION = (
    Route(r"^/_matrix/federation/", FEDERATION_READER),
    Route(r"^/_matrix/key/", FEDERATION_READER),
)

_MEDIA = (
    Route(r"^/_matrix/media/", MEDIA),
    Route(r"^/_matrix/client/v1/media/", MEDIA),
    Route(r"^/_matrix/federation/v1/media/", MEDIA),
    Route(r"^/_synapse/admin/v1/(purge_media_cache|quarantine_media/)", MEDIA),
    Route(r"^/_synapse/admin/v1/media/", MEDIA),
    Route(r"^/_synapse/admin/v1/(room|user|users)/[^/]+/media", MEDIA),
)


def websocket_route(path: str = DEFAULT_WEBSOCKET_PATH) -> Route:
    """The route of the WebSocket transport at ``path`` (``websocket.path``)."""
    return Route(
        "^" + re.escape(path) + "$", CLIENT_READER, READ, sticky=True, websocket=True
    )


def route_map(websocket_path: str = DEFAULT_WEBSOCKET_PATH) -> tuple[Route, ...]:
    """The whole route map, in matching order (first match wins).

    Media comes before federation (federation media belongs to the media
    worker); the read routes come after the stream writes, which take the
    non-GET methods of the same paths. Anything unmatched goes to ``main``.
    """
    return (
        (websocket_route(websocket_path),)
        + _MEDIA
        + _FEDERATION
        + _SYNC_ROUTES
        + _STREAM_WRITES
        + _ROOM_READS
        + _CLIENT_READS
    )


def is_blocked(path: str) -> bool:
    """Whether a proxy must refuse ``path`` (internal replication, metrics)."""
    return any(
        path == prefix.rstrip("/") or path.startswith(prefix) for prefix in BLOCKED
    )


def resolve(
    path: str, method: str, routes: tuple[Route, ...] | None = None
) -> Route | None:
    """The first route matching a request, or None (it goes to ``main``).

    Args:
        path: the request path, without the query string.
        method: the HTTP method.
        routes: the route map; default ``route_map()``.
    """
    for route in routes if routes is not None else route_map():
        if route.matches(path, method):
            return route
    return None
