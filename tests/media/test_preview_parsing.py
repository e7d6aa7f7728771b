"""The pure parts of URL previews: HTML to Open Graph, charsets, oEmbed,
the URL blacklist and cache lifetimes."""

from __future__ import annotations

import json

import pytest

from homeserver.config.sections.outbound import OEmbedProviderConfig
from homeserver.services.media.preview.html import (
    decode_html,
    oembed_link,
    open_graph,
    parse_html,
    summarize,
)
from homeserver.services.media.preview.oembed import (
    OEmbedProviders,
    parse_oembed,
    pattern_regex,
)
from homeserver.services.media.preview.rules import cache_lifetime_ms, url_blocked

URL = "https://example.org/a/page.html"


def og_of(markup: str, content_type: str = "text/html") -> dict:
    tree = parse_html(markup.encode(), content_type)
    assert tree is not None
    return open_graph(tree, URL)


def test_open_graph_tags_first_value_wins_and_image_made_absolute() -> None:
    og = og_of(
        '<meta property="og:title" content="One"><meta property="og:title" '
        'content="Two"><meta name="og:type" content="article">'
        '<meta property="og:image" content=" ../img/x.png ">'
    )
    assert og["og:title"] == "One"
    assert og["og:type"] == "article"
    assert og["og:image"] == "https://example.org/img/x.png"


def test_twitter_card_tags_fill_in() -> None:
    og = og_of(
        '<meta name="twitter:title" content="Tw"><meta name="twitter:image" '
        'content="https://cdn.example/i.jpg"><meta property="og:description" '
        'content="Og wins"><meta name="twitter:description" content="no">'
    )
    assert og == {
        "og:title": "Tw",
        "og:image": "https://cdn.example/i.jpg",
        "og:description": "Og wins",
    }


def test_icon_is_the_last_image_fallback() -> None:
    og = og_of('<title>t</title><link rel="shortcut icon" href="/favicon.ico">')
    assert og["og:image"] == "https://example.org/favicon.ico"


def test_empty_and_broken_documents() -> None:
    assert parse_html(b"", "text/html") is None
    assert parse_html(b"   \n", "text/html") is None
    og = og_of("<title>Broken<p>unclosed <b>tags")
    assert og["og:title"].startswith("Broken")


def test_description_from_text_is_summarised() -> None:
    text = " ".join(["word"] * 200)
    og = og_of(f"<title>t</title><body><footer>no</footer><p>{text}</p></body>")
    description = og["og:description"]
    assert description.endswith("…") and len(description) <= 501
    assert "no" not in description
    assert summarize(iter(["x" * 600])) == "x" * 499 + "…"
    assert summarize(iter(["  "])) is None


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("Café".encode("cp1252"), "text/html", "Café"),  # not UTF-8: cp1252
        ("Café".encode(), "text/html", "Café"),
        ('<meta charset="koi8-r">Привет'.encode("koi8-r"), "text/html", "Привет"),
        # The header beats the page's own declaration, as in browsers.
        (
            '<meta charset="utf-8">Café'.encode("latin-1"),
            "text/html; charset=latin-1",
            "Café",
        ),
        (b"\xef\xbb\xbfCaf\xc3\xa9", "text/html; charset=latin-1", "Café"),  # BOM first
        ("Café".encode(), 'text/html; charset="no-such-codec"', "Café"),
        (
            '<?xml version="1.0" encoding="iso-8859-15"?><p>€</p>'.encode(
                "iso-8859-15"
            ),
            "application/xhtml+xml",
            "€",
        ),
    ],
)
def test_charsets(body: bytes, content_type: str, expected: str) -> None:
    assert expected in decode_html(body, content_type)


def test_xml_declaration_page_parses() -> None:
    body = '<?xml version="1.0" encoding="utf-8"?><html><title>X</title></html>'
    tree = parse_html(body.encode(), "application/xhtml+xml")
    assert tree is not None and open_graph(tree, URL)["og:title"] == "X"


def test_oembed_link_discovery() -> None:
    for rel in ("alternate", "alternative"):
        tree = parse_html(
            f'<link rel="{rel}" type="application/json+oembed" href="/o?u=1">'.encode(),
            "text/html",
        )
        assert oembed_link(tree, URL) == "https://example.org/o?u=1"
    xml_only = parse_html(
        b'<link rel="alternate" type="text/xml+oembed" href="/o.xml"><title>x</title>',
        "text/html",
    )
    assert oembed_link(xml_only, URL) is None


def test_oembed_video_and_rich() -> None:
    video = {
        "version": "1.0",
        "type": "video",
        "title": "A &amp; B",
        "thumbnail_url": "https://i.example/t.jpg",
        "width": 640,
        "height": "360",
        "html": '<iframe src="x"></iframe><p>Watch this</p>',
        "cache_age": "3600",
    }
    result = parse_oembed(URL, json.dumps(video).encode())
    assert result.og == {
        "og:url": URL,
        "og:title": "A & B",
        "og:image": "https://i.example/t.jpg",
        "og:type": "video.other",
        "og:video:width": 640,
        "og:description": "Watch this",
    }
    assert result.cache_age_ms == 3_600_000


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1]", b'{"version": "2.0", "title": "x"}', b"\xff\xfe"],
)
def test_oembed_that_is_not_oembed_gives_nothing(body: bytes) -> None:
    result = parse_oembed(URL, body)
    assert (result.og, result.author_name, result.cache_age_ms) == ({}, None, None)


def test_oembed_providers_match_within_the_host() -> None:
    providers = OEmbedProviders(
        [
            OEmbedProviderConfig(
                endpoint="https://p.example/{format}",
                url_patterns=["https://*.v.example/*"],
            )
        ]
    )
    assert providers.oembed_url("https://www.v.example/watch?x=1") == (
        "https://p.example/json?url=https%3A%2F%2Fwww.v.example%2Fwatch%3Fx%3D1"
        "&format=json"
    )
    assert providers.oembed_url("https://evil.example/.v.example/") is None
    assert providers.oembed_url(
        "https://youtu.be/abc",
    ).startswith("https://www.youtube.com/oembed?")
    assert providers.oembed_url("https://x.com/someone/status/1") is not None
    assert providers.oembed_url("https://example.org/") is None
    assert pattern_regex("https://a.example/*").fullmatch("https://a.example/x/y")


def test_url_blacklist_entries() -> None:
    rules = [
        {"hostname": "*.internal.example"},
        {"scheme": "http", "netloc": "plain.example"},
        {"path": "^/admin(/|$)"},
        {"port": "8080"},
    ]
    assert url_blocked("https://a.internal.example/x", rules)
    assert url_blocked("http://plain.example/", rules)
    assert not url_blocked("https://plain.example/", rules)  # both parts must match
    assert url_blocked("https://ok.example/admin/x", rules)
    assert not url_blocked("https://ok.example/administrator", rules)
    assert url_blocked("https://ok.example:8080/", rules)
    assert not url_blocked("https://ok.example/", rules)
    assert url_blocked("https://ok.example:99999/", [])  # a bad port: refused


@pytest.mark.parametrize(
    ("cache_control", "expires", "date", "expected"),
    [
        (None, None, None, 1000),
        ("max-age=5", None, None, 5000),
        ("public, s-maxage=7, max-age=5", None, None, 7000),
        ("no-store", None, None, 0),
        ("no-cache, max-age=60", None, None, 0),
        ("max-age=999999", None, None, 60_000),
        ("max-age=bogus", None, None, 1000),
        (
            None,
            "Sat, 05 Dec 2026 12:00:30 GMT",
            "Sat, 05 Dec 2026 12:00:00 GMT",
            30_000,
        ),
        (None, "0", "Sat, 05 Dec 2026 12:00:00 GMT", 0),
        (
            "max-age=2",
            "Sat, 05 Dec 2026 12:00:30 GMT",
            "Sat, 05 Dec 2026 12:00:00 GMT",
            2000,
        ),
    ],
)
def test_cache_lifetime(
    cache_control: str | None, expires: str | None, date: str | None, expected: int
) -> None:
    assert cache_lifetime_ms(cache_control, expires, date, 1000, 60_000) == expected
