"""URL previews over HTTP against real local web servers: Open Graph pages,
fallbacks, oEmbed, images, redirects, caps, the cache and bad input.

SSRF cases are in test_preview_ssrf.py; the parsers alone in
test_preview_parsing.py. Kit: preview_kit.py.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.media.helpers import CLIENT_MEDIA
from tests.media.preview_kit import PREVIEW, PreviewHarness
from tests.support.counting_http import (
    CountingServer,
    redirect_route,
    serve_servers,
    text_route,
)
from tests.support.server import TestServer

HTML = "text/html; charset=utf-8"


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


def page(head: str, body: str = "") -> bytes:
    return (
        f"<!doctype html><html><head>{head}</head><body>{body}</body></html>".encode()
    )


@pytest.fixture
def serve() -> Iterator[Callable[..., CountingServer]]:
    yield from serve_servers()


@pytest.fixture
def hosts_file(tmp_path: Path) -> Path:
    path = tmp_path / "hosts"
    path.write_text(
        "127.0.0.1 site.example\n127.0.0.1 video.example\n127.0.0.2 internal.example\n"
    )
    return path


@pytest.fixture
def harness(make_server: Callable[..., TestServer], hosts_file: Path) -> PreviewHarness:
    return PreviewHarness(make_server, hosts_file, ip_range_whitelist=["127.0.0.1"])


def download(harness: PreviewHarness, mxc: str) -> bytes:
    media_id = mxc.removeprefix("mxc://test/")
    resp = harness.user.get(f"{CLIENT_MEDIA}/download/test/{media_id}", expect=200)
    return resp.body


def test_disabled_by_default(server: TestServer) -> None:
    alice = server.user("alice")
    for path in (
        PREVIEW,
        "/_matrix/media/v3/preview_url",
        "/_matrix/media/r0/preview_url",
    ):
        resp = server.request("GET", f"{path}?url=http://x.example/", token=alice.token)
        assert resp.code == 404, path
        assert resp.json["errcode"] == "M_UNRECOGNIZED"


def test_open_graph_page_with_its_image_stored(
    harness: PreviewHarness, serve: Any
) -> None:
    image = png(64, 48)
    head = (
        '<meta property="og:title" content="A fine page">'
        '<meta property="og:description" content="All about it">'
        '<meta property="og:site_name" content="Example">'
        '<meta property="og:image" content="/img.png">'
        '<meta property="og:image:width" content="9999">'
        "<title>Not this</title>"
    )
    web = serve(
        page=text_route(page(head), content_type=HTML),
        **{"img.png": text_route(image, content_type="image/png")},
    )
    resp = harness.preview(f"http://site.example:{web.port}/page")
    assert resp.code == 200, resp.json
    og = resp.json
    assert og["og:title"] == "A fine page"
    assert og["og:description"] == "All about it"
    assert og["og:site_name"] == "Example"
    assert og["og:image"].startswith("mxc://test/")
    # The page's claims about the image are replaced by the stored copy's.
    assert (og["og:image:width"], og["og:image:height"]) == (64, 48)
    assert og["og:image:type"] == "image/png"
    assert og["matrix:image:size"] == len(image)
    assert download(harness, og["og:image"]) == image
    sent = web.requests[0]
    assert sent.headers["Accept-Language"] == "en"
    assert "bot" in sent.headers["User-Agent"]


def test_legacy_paths_need_an_access_token(harness: PreviewHarness, serve: Any) -> None:
    web = serve(page=text_route(page("<title>Legacy</title>"), content_type=HTML))
    url = f"http://site.example:{web.port}/page"
    for path in ("/_matrix/media/v3/preview_url", "/_matrix/media/r0/preview_url"):
        resp = harness.preview(url, path=path)
        assert resp.code == 200 and resp.json["og:title"] == "Legacy"
        anonymous = harness.server.request("GET", f"{path}?url={url}")
        assert anonymous.code == 401
        assert anonymous.json["errcode"] == "M_MISSING_TOKEN"


def test_page_with_only_a_title_falls_back(harness: PreviewHarness, serve: Any) -> None:
    body = (
        "<nav>Menu</nav><script>var x = 1;</script>"
        "<p>First   words of\nthe article.</p><p>More.</p>"
    )
    web = serve(page=text_route(page("<title> Just a title </title>", body), 200, HTML))
    og = harness.preview(f"http://site.example:{web.port}/page").json
    assert og == {
        "og:title": "Just a title",
        "og:description": "First words of the article. More.",
    }


def test_meta_description_and_first_image_fallbacks(
    harness: PreviewHarness, serve: Any
) -> None:
    head = '<meta name="description" content="Described">'
    body = (
        '<h1>Heading</h1><img src="first.png"><img src="tiny.png" width="5" '
        'height="5"><img src="big.png" width="300" height="200">'
        '<img src="small.png" width="20" height="20">'
    )
    web = serve(
        page=text_route(page(head, body), content_type=HTML),
        **{"big.png": text_route(png(300, 200), content_type="image/png")},
    )
    og = harness.preview(f"http://site.example:{web.port}/page").json
    assert og["og:title"] == "Heading"
    assert og["og:description"] == "Described"
    # The largest image that says its size (over 10x10) is the picture.
    assert (og["og:image:width"], og["og:image:height"]) == (300, 200)
    assert web.hits == {"/page": 1, "/big.png": 1}


def test_oembed_discovered_from_the_page(harness: PreviewHarness, serve: Any) -> None:
    oembed = {
        "version": "1.0",
        "type": "rich",
        "title": "From oEmbed",
        "author_name": "Someone",
        "provider_name": "Provider",
        "html": "<div><p>Embedded words</p></div>",
    }
    head = (
        '<link rel="alternate" type="application/json+oembed" href="/oembed?x=1">'
        '<meta property="og:description" content="The page says">'
    )
    web = serve(
        page=text_route(page(head), content_type=HTML),
        oembed=text_route(json.dumps(oembed).encode(), content_type="application/json"),
    )
    og = harness.preview(f"http://site.example:{web.port}/page").json
    assert og["og:title"] == "From oEmbed"
    assert og["og:site_name"] == "Provider"
    assert og["og:description"] == "The page says"  # the page's own tags win
    assert web.hits["/oembed"] == 1


def test_configured_oembed_provider_is_asked_instead_of_the_page(
    make_server: Callable[..., TestServer], hosts_file: Path, serve: Any
) -> None:
    web = serve(
        oembed=text_route(
            json.dumps(
                {
                    "version": "1.0",
                    "type": "photo",
                    "url": "/photo.png",
                    "author_name": "Photographer",
                    "cache_age": 60,
                }
            ).encode(),
            content_type="application/json",
        ),
        watch=text_route(page("<title>The page</title>"), content_type=HTML),
        **{"photo.png": text_route(png(30, 10), content_type="image/png")},
    )
    base = f"http://video.example:{web.port}"
    harness = PreviewHarness(
        make_server,
        hosts_file,
        ip_range_whitelist=["127.0.0.1"],
        oembed_providers=[
            {"endpoint": f"{base}/oembed", "url_patterns": [f"{base}/watch*"]}
        ],
    )
    og = harness.preview(f"{base}/watch?v=1").json
    assert og["og:title"] == "Photographer"  # author_name when there is no title
    assert og["og:url"] == f"{base}/watch?v=1"
    assert (og["og:image:width"], og["og:image:height"]) == (30, 10)
    assert web.hits["/watch"] == 0
    asked = web.requests[0].path
    assert "url=http%3A%2F%2Fvideo.example" in asked and "format=json" in asked


def test_image_url_previews_as_that_image(harness: PreviewHarness, serve: Any) -> None:
    image = png(12, 34)
    web = serve(pic=text_route(image, content_type="image/png"))
    og = harness.preview(f"http://site.example:{web.port}/pic").json
    assert (og["og:image:width"], og["og:image:height"]) == (12, 34)
    assert og["og:image:type"] == "image/png"
    assert og["matrix:image:size"] == len(image)
    assert download(harness, og["og:image"]) == image


def test_redirect_chain_is_followed(harness: PreviewHarness, serve: Any) -> None:
    head = '<meta property="og:title" content="Landed"><meta property="og:image" content="i.png">'
    web = serve(
        a=redirect_route("/b"),
        b=redirect_route("/c/"),
        **{
            "c/": text_route(page(head), content_type=HTML),
            "c/i.png": text_route(png(), content_type="image/png"),
        },
    )
    og = harness.preview(f"http://site.example:{web.port}/a").json
    assert og["og:title"] == "Landed"
    # The image is relative to the page it was found on, after the redirects.
    assert og["og:image"].startswith("mxc://")
    assert web.hits["/c/i.png"] == 1


def test_too_large_page_is_refused(
    make_server: Any, hosts_file: Path, serve: Any
) -> None:
    harness = PreviewHarness(
        make_server, hosts_file, ip_range_whitelist=["127.0.0.1"], max_spider_size="2K"
    )
    web = serve(big=text_route(page("<title>big</title>", "x" * 5000), 200, HTML))
    resp = harness.preview(f"http://site.example:{web.port}/big")
    assert resp.code == 502
    assert resp.json["errcode"] == "M_UNKNOWN"


def test_charset_of_header_and_meta(harness: PreviewHarness, serve: Any) -> None:
    latin = "<meta charset='iso-8859-1'><title>Caf\xe9</title>".encode("latin-1")
    sjis = "<title>日本語</title>".encode("shift_jis")
    web = serve(
        latin=text_route(
            page("").replace(b"<head>", b"<head>" + latin), 200, "text/html"
        ),
        sjis=text_route(sjis, 200, "text/html; charset=Shift_JIS"),
    )
    base = f"http://site.example:{web.port}"
    assert harness.preview(f"{base}/latin").json["og:title"] == "Café"
    assert harness.preview(f"{base}/sjis").json["og:title"] == "日本語"


def test_cached_per_url_until_it_expires(harness: PreviewHarness, serve: Any) -> None:
    web = serve(
        page=text_route(page("<title>Cached</title>"), 200, HTML),
        short=text_route(
            page("<title>Short</title>"), 200, HTML, Cache_Control="max-age=5"
        ),
    )
    base = f"http://site.example:{web.port}"
    first = harness.preview(f"{base}/page")
    again = harness.preview(f"{base}/page")
    assert first.json == again.json == {"og:title": "Cached"}
    assert web.hits["/page"] == 1
    # A time before the fetch picks the earliest preview after it.
    now = harness.server.hs.core.clock.time_msec()
    assert harness.preview(f"{base}/page", ts=now - 10_000).code == 200
    assert web.hits["/page"] == 1
    # A time after the preview expires is not answered from it.
    assert harness.preview(f"{base}/page", ts=now + 3_601_000).code == 200
    assert web.hits["/page"] == 2
    harness.preview(f"{base}/page")
    assert web.hits["/page"] == 2  # now answered from the newer fetch
    harness.server.advance(3601)  # url_preview.cache_duration: 1h by default
    harness.preview(f"{base}/page")
    assert web.hits["/page"] == 3

    harness.preview(f"{base}/short")
    harness.server.advance(4)
    harness.preview(f"{base}/short")
    assert web.hits["/short"] == 1
    harness.server.advance(2)  # past the page's max-age
    harness.preview(f"{base}/short")
    assert web.hits["/short"] == 2


def test_concurrent_previews_of_one_url_fetch_once(
    harness: PreviewHarness, serve: Any
) -> None:
    web = serve(page=text_route(page("<title>Once</title>"), 200, HTML))
    url = f"http://site.example:{web.port}/page"
    token = harness.user.token
    path = f"{PREVIEW}?url={url}"
    first = harness.server.start_request("GET", path, token=token)
    second = harness.server.start_request("GET", path, token=token)
    third = harness.preview(url)  # runs the reactor until it is answered
    for pending in (first, second):
        while not pending.done:
            harness.reactor.iterate(0.01)
        assert pending.response().json == {"og:title": "Once"}
    assert third.json == {"og:title": "Once"}
    assert web.hits["/page"] == 1


def test_a_request_that_goes_away_leaves_the_others_answered(
    harness: PreviewHarness, serve: Any
) -> None:
    web = serve(page=text_route(page("<title>Still</title>"), 200, HTML))
    url = f"http://site.example:{web.port}/page"
    gone = harness.server.start_request(
        "GET", f"{PREVIEW}?url={url}", token=harness.user.token
    )
    gone.disconnect()
    assert harness.preview(url).json == {"og:title": "Still"}
    assert web.hits["/page"] == 1
    assert harness.preview(url).json == {"og:title": "Still"}  # and cached


def test_bad_input(harness: PreviewHarness, serve: Any) -> None:
    web = serve(
        missing=text_route(b"gone", 404, "text/plain"),
        zip=text_route(b"PK\x03\x04", 200, "application/zip"),
        page=text_route(page("<title>ok</title>"), 200, HTML),
    )
    base = f"http://site.example:{web.port}"
    cases: list[tuple[str | None, str, int, str]] = [
        (None, "", 400, "M_MISSING_PARAM"),
        ("ftp://site.example/x", "", 400, "M_INVALID_PARAM"),
        ("file:///etc/passwd", "", 400, "M_INVALID_PARAM"),
        ("not a url", "", 400, "M_INVALID_PARAM"),
        (f"{base}/page", "ts=yesterday", 400, "M_INVALID_PARAM"),
        (f"{base}/missing", "", 502, "M_UNKNOWN"),
        (f"{base}/zip", "", 502, "M_UNKNOWN"),
    ]
    for url, extra, code, errcode in cases:
        resp = harness.preview(url, extra=extra)
        assert (resp.code, resp.json["errcode"]) == (code, errcode), (url, resp.json)
    # Unknown parameters are ignored.
    assert harness.preview(f"{base}/page", extra="foo=bar").code == 200


def test_guests_may_not_preview(make_server: Any, hosts_file: Path) -> None:
    harness = PreviewHarness(
        make_server, hosts_file, {"registration": {"allow_guest_access": True}}
    )
    resp = harness.server.request("POST", "/_matrix/client/v3/register?kind=guest", {})
    assert resp.code == 200, resp.json
    guest = harness.server.request(
        "GET", f"{PREVIEW}?url=http://site.example/", token=resp.json["access_token"]
    )
    assert guest.code == 403
    assert guest.json["errcode"] == "M_GUEST_ACCESS_FORBIDDEN"


def test_url_blacklist_refuses_without_fetching(
    make_server: Any, hosts_file: Path, serve: Any
) -> None:
    web = serve(page=text_route(page("<title>x</title>"), 200, HTML))
    harness = PreviewHarness(
        make_server,
        hosts_file,
        ip_range_whitelist=["127.0.0.1"],
        url_blacklist=[{"hostname": "site.example", "path": "/pa*"}, {"port": "^1$"}],
    )
    resp = harness.preview(f"http://site.example:{web.port}/page")
    assert (resp.code, resp.json["errcode"]) == (403, "M_UNKNOWN")
    assert web.connections == 0
    # Every part of an entry must match: another path is fine.
    web.routes["/other"] = text_route(page("<title>fine</title>"), 200, HTML)
    assert harness.preview(f"http://site.example:{web.port}/other").code == 200
    # A redirect to a blocked URL is refused before it is followed.
    web.routes["/hop"] = redirect_route("/page")
    resp = harness.preview(f"http://site.example:{web.port}/hop")
    assert (resp.code, resp.json["errcode"]) == (403, "M_UNKNOWN")
    assert web.hits["/hop"] == 1 and web.hits["/page"] == 0
