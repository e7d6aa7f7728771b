"""URL previews never connect to a denied address: not for the URL asked
(IP literal or a name whose DNS answer is denied), not after a redirect, and
not for the oEmbed or image URLs a page names. The web servers count the
connections they accept; a denied one must count none.

127.0.0.1 is allowlisted so that the test sites are reachable; 127.0.0.2 (also
loopback) is not, and stands for the private network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.media.preview_kit import PreviewHarness
from tests.media.test_preview import HTML, page, png
from tests.support.counting_http import (
    CountingServer,
    redirect_route,
    serve_servers,
    text_route,
)
from tests.support.server import TestServer


@pytest.fixture
def serve() -> Iterator[Callable[..., CountingServer]]:
    yield from serve_servers()


@pytest.fixture
def hosts_file(tmp_path: Path) -> Path:
    path = tmp_path / "hosts"
    path.write_text(
        "127.0.0.1 site.example\n127.0.0.1 localhost\n127.0.0.2 internal.example\n"
    )
    return path


@pytest.fixture
def harness(make_server: Callable[..., TestServer], hosts_file: Path) -> PreviewHarness:
    return PreviewHarness(make_server, hosts_file, ip_range_whitelist=["127.0.0.1"])


@pytest.fixture
def internal(serve: Any) -> CountingServer:
    """The 'private network': a server on a loopback address not allowlisted."""
    return serve(
        "127.0.0.2",
        secret=text_route(page("<title>secret</title>"), 200, HTML),
        **{"secret.png": text_route(png(), content_type="image/png")},
        oembed=text_route(
            b'{"version": "1.0", "title": "secret"}', 200, "application/json"
        ),
    )


def assert_blocked(resp: Any) -> None:
    assert resp.code == 403, resp.json
    assert resp.json["errcode"] == "M_UNKNOWN"


def test_denied_ip_literal_never_connected(
    harness: PreviewHarness, internal: CountingServer
) -> None:
    assert_blocked(harness.preview(f"http://127.0.0.2:{internal.port}/secret"))
    assert internal.connections == 0


def test_allowlist_is_per_address(
    make_server: Any, hosts_file: Path, serve: Any
) -> None:
    """The allowlisted address is reachable; the same port on another
    loopback address is not, and without an allowlist neither is."""
    for _ in range(20):  # one port on both addresses; another process may hold it
        allowed = serve(page=text_route(page("<title>ok</title>"), 200, HTML))
        try:
            denied = serve("127.0.0.2", allowed.port, page=text_route(b"x", 200, HTML))
            break
        except OSError:
            continue
    else:
        pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")
    harness = PreviewHarness(make_server, hosts_file, ip_range_whitelist=["127.0.0.1"])
    assert harness.preview(f"http://127.0.0.1:{allowed.port}/page").code == 200
    assert_blocked(harness.preview(f"http://127.0.0.2:{allowed.port}/page"))
    assert_blocked(harness.preview(f"http://[::ffff:127.0.0.2]:{allowed.port}/page"))
    assert (allowed.connections, denied.connections) == (1, 0)

    closed = PreviewHarness(make_server, hosts_file)  # the default: no allowlist
    assert_blocked(closed.preview(f"http://127.0.0.1:{allowed.port}/page"))
    assert_blocked(closed.preview(f"http://localhost:{allowed.port}/page"))
    assert allowed.connections == 1


def test_name_resolving_to_denied_address_never_connected(
    harness: PreviewHarness, internal: CountingServer
) -> None:
    assert_blocked(harness.preview(f"http://internal.example:{internal.port}/secret"))
    assert internal.connections == 0


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/secret",
        "http://internal.example:{port}/secret",
        "http://10.0.0.1:{port}/secret",
        "http://[::1]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_redirect_to_denied_address_never_connected(
    harness: PreviewHarness, internal: CountingServer, serve: Any, target: str
) -> None:
    web = serve(hop=redirect_route(target.format(port=internal.port)))
    assert_blocked(harness.preview(f"http://site.example:{web.port}/hop"))
    assert web.hits["/hop"] == 1
    assert internal.connections == 0


def test_image_and_oembed_at_denied_addresses_skipped(
    harness: PreviewHarness, internal: CountingServer, serve: Any
) -> None:
    port = internal.port
    head = (
        f'<meta property="og:title" content="Public">'
        f'<meta property="og:image" content="http://internal.example:{port}/secret.png">'
        f'<link rel="alternate" type="application/json+oembed" '
        f'href="http://127.0.0.2:{port}/oembed">'
    )
    web = serve(page=text_route(page(head), 200, HTML))
    resp = harness.preview(f"http://site.example:{web.port}/page")
    # The preview is made without them: no image, no oEmbed data.
    assert resp.code == 200, resp.json
    assert resp.json == {"og:title": "Public"}
    assert internal.connections == 0


def test_redirected_image_to_denied_address_skipped(
    harness: PreviewHarness, internal: CountingServer, serve: Any
) -> None:
    head = '<meta property="og:title" content="T"><meta property="og:image" content="/img">'
    web = serve(
        page=text_route(page(head), 200, HTML),
        img=redirect_route(f"http://127.0.0.2:{internal.port}/secret.png"),
    )
    resp = harness.preview(f"http://site.example:{web.port}/page")
    assert resp.json == {"og:title": "T"}
    assert web.hits["/img"] == 1
    assert internal.connections == 0
