"""Kit of the URL preview tests: a test server whose previews fetch through
the real guarded client (``preview_client``) on a real reactor, from real
local HTTP servers (``tests/support/counting_http``), with DNS answered from
a hosts file.

The homeserver itself runs on the fake reactor as every in-process test
server does; a preview request is started there and the real reactor is run
until the answer is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from twisted.internet._resolver import SimpleResolverComplexifier
from twisted.internet.selectreactor import SelectReactor
from twisted.names import hosts

from homeserver.config import parse_config
from homeserver.http_client.untrusted import hostname_resolver, preview_client
from tests.media.helpers import CLIENT_MEDIA
from tests.support import User
from tests.support.server import FakeResponse, TestServer, test_config_dict

PREVIEW = f"{CLIENT_MEDIA}/preview_url"
# A safety net for a broken test, never an assertion about timing.
SAFETY_NET_S = 60.0


class PreviewHarness:
    """A test server with previews on, its real reactor and its DNS table.

    Args:
        make_server: the ``make_server`` fixture.
        hosts_file: the DNS table previews resolve names with.
        other: more config overrides, outside ``url_preview``.
        url_preview: the ``url_preview`` section (``enabled`` is added).
    """

    def __init__(
        self,
        make_server: Callable[..., TestServer],
        hosts_file: Path,
        other: dict[str, Any] | None = None,
        **url_preview: Any,
    ) -> None:
        self.reactor = SelectReactor()
        overrides = {**(other or {}), "url_preview": {"enabled": True, **url_preview}}
        section = parse_config(test_config_dict(overrides)).url_preview
        resolver: Any = hosts.Resolver(file=str(hosts_file).encode())
        client = preview_client(
            self.reactor,
            section,
            resolve_host=hostname_resolver(SimpleResolverComplexifier(resolver)),
        )
        self.server = make_server(overrides, preview_http=client)
        self.user = self.server.user("alice")

    def preview(
        self,
        url: str | None,
        ts: int | None = None,
        path: str = PREVIEW,
        user: User | None = None,
        extra: str = "",
    ) -> FakeResponse:
        """GET ``path?url=...&ts=...`` as ``user`` (alice by default)."""
        query = [] if url is None else [f"url={quote(url, safe='')}"]
        if ts is not None:
            query.append(f"ts={ts}")
        if extra:
            query.append(extra)
        token = (user or self.user).token
        pending = self.server.start_request(
            "GET", f"{path}?{'&'.join(query)}", token=token
        )
        deadline = time.monotonic() + SAFETY_NET_S
        while not pending.done:
            assert time.monotonic() < deadline, "the preview never finished"
            self.reactor.iterate(0.01)
            self.server.reactor.advance(0)
        return pending.response()
