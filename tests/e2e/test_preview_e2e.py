"""URL previews on a real server process (synctl), as deployed: the preview
client built from the config with the system resolver, parsing in the thread
pool. A local web server (127.0.0.1, allowlisted) serves an Open Graph page
and its image; matrix-nio downloads the stored image; a page on 127.0.0.2
(not allowlisted) is refused without a connection."""

from __future__ import annotations

import asyncio
import io
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nio
import pytest
from PIL import Image

from tests.e2e.conftest import RunningServer, synctl_server
from tests.e2e.nio_clients import registered_client
from tests.support.counting_http import CountingServer, serve_servers, text_route

pytestmark = pytest.mark.integration


@pytest.fixture
def serve() -> Iterator[Callable[..., CountingServer]]:
    yield from serve_servers()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (50, 40), (0, 128, 255)).save(out, "PNG")
    return out.getvalue()


def _preview(server: RunningServer, token: str, url: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{server.url}/_matrix/client/v1/media/preview_url?url={quote(url, safe='')}",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_preview_on_a_running_server(tmp_path: Path, serve: Any) -> None:
    image = _png()
    head = (
        '<meta property="og:title" content="Real page">'
        '<meta property="og:image" content="/pic.png">'
    )
    web = serve(
        page=text_route(
            f"<html><head>{head}</head><body>hi</body></html>".encode(),
            content_type="text/html",
        ),
        **{"pic.png": text_route(image, content_type="image/png")},
    )
    internal = serve("127.0.0.2", page=text_route(b"<title>secret</title>"))
    settings = {
        "url_preview.enabled": "true",
        "url_preview.ip_range_whitelist": "['127.0.0.1/32']",
    }
    with synctl_server(tmp_path / "data", settings) as server:
        asyncio.run(_story(server, web, internal, image))


async def _story(
    server: RunningServer, web: CountingServer, internal: CountingServer, image: bytes
) -> None:
    alice = await registered_client(server, "alice")
    try:
        code, og = await asyncio.to_thread(
            _preview, server, alice.access_token, f"http://127.0.0.1:{web.port}/page"
        )
        assert code == 200, og
        assert og["og:title"] == "Real page"
        assert (og["og:image:width"], og["og:image:height"]) == (50, 40)
        got = await alice.download(mxc=og["og:image"])
        assert isinstance(got, nio.MemoryDownloadResponse), got
        assert got.body == image

        code, refused = await asyncio.to_thread(
            _preview,
            server,
            alice.access_token,
            f"http://127.0.0.2:{internal.port}/page",
        )
        assert code == 403, refused
        assert internal.connections == 0
    finally:
        await alice.close()
