"""Open Graph data of an HTML page, with fallbacks for pages that have none.

Pure functions over bytes (no I/O), run off the reactor thread by the
previewer. Parsing is lxml's HTML parser in recover mode, which copes with the
broken markup of the real web. See docs/media.md ("URL previews").
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from lxml import etree

# A page's own declaration, looked for in its first bytes (HTML's prescan).
_META_CHARSET = re.compile(
    rb'<\s*meta[^>]*charset\s*=\s*["\']?\s*([a-zA-Z0-9_:.-]+)', re.IGNORECASE
)
_XML_ENCODING = re.compile(
    rb'^\s*<\?xml[^>]*encoding\s*=\s*["\']([a-zA-Z0-9_:.-]+)', re.IGNORECASE
)
_CONTENT_TYPE_CHARSET = re.compile(r';\s*charset\s*=\s*"?([a-zA-Z0-9_:.-]+)', re.I)
_PRESCAN_BYTES = 1024

MAX_OG_TAGS = 50
DESCRIPTION_LENGTH = 500
# Text in these elements is not part of what a page says.
_SKIPPED_TEXT = frozenset(
    {
        "header", "nav", "aside", "footer", "script", "noscript", "style",
        "svg", "iframe", "video", "canvas", "img", "picture", "head", "button",
        "select", "form", "template",
    }
)  # fmt: skip
_TWITTER_FALLBACKS = {
    "twitter:title": "og:title",
    "twitter:description": "og:description",
    "twitter:image": "og:image",
}


def _known(encoding: str) -> str | None:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None


def candidate_encodings(body: bytes, content_type: str | None) -> Iterator[str]:
    """Encodings to try, best first, as browsers choose them: a byte-order
    mark, then the Content-Type charset, then the page's own ``<meta
    charset>`` or XML declaration, then UTF-8, then Windows-1252."""
    if body.startswith(codecs.BOM_UTF8):
        yield "utf-8-sig"
    elif body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        yield "utf-16"
    found = _CONTENT_TYPE_CHARSET.search(content_type or "")
    if found and (name := _known(found.group(1))):
        yield name
    head = body[:_PRESCAN_BYTES]
    for pattern in (_META_CHARSET, _XML_ENCODING):
        match = pattern.search(head)
        if match and (name := _known(match.group(1).decode("ascii"))):
            yield name
    yield "utf-8"
    yield "cp1252"


def decode_html(body: bytes, content_type: str | None) -> str:
    """The page as text, in the first candidate encoding that decodes it
    (Windows-1252, the last, always does, with replacements)."""
    for encoding in candidate_encodings(body, content_type):
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue
    return body.decode("cp1252", errors="replace")


def parse_html(body: bytes, content_type: str | None) -> Any | None:
    """The document tree of an HTML page, or None if there is none."""
    text = decode_html(body, content_type)
    if not text.strip():
        return None
    # Re-encoded to UTF-8 and parsed as such: lxml refuses str input that
    # carries an XML encoding declaration.
    parser = etree.HTMLParser(recover=True, encoding="utf-8")
    try:
        return etree.fromstring(text.encode("utf-8", errors="replace"), parser)
    except etree.LxmlError:
        return None


def _meta(tree: Any, attribute: str, prefix: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for tag in tree.iter("meta"):
        key = tag.get(attribute)
        content = tag.get("content")
        if not key or content is None or not key.startswith(prefix):
            continue
        if len(found) >= MAX_OG_TAGS:
            break
        found.setdefault(key, content)
    return found


def _first_text(tree: Any, *tags: str) -> str | None:
    for tag in tags:
        for element in tree.iter(tag):
            text = " ".join("".join(element.itertext()).split())
            if text:
                return text
    return None


def _fallback_image(tree: Any) -> str | None:
    for tag in tree.iter("meta"):
        if (tag.get("itemprop") or "").lower() == "image" and tag.get("content"):
            return str(tag.get("content"))
    sized: list[tuple[int, str]] = []
    first: str | None = None
    for img in tree.iter("img"):
        src = img.get("src")
        if not src:
            continue
        first = first or src
        try:
            width, height = int(img.get("width", "")), int(img.get("height", ""))
        except ValueError:
            continue
        if width > 10 and height > 10:
            sized.append((width * height, src))
    if sized:
        return max(sized, key=lambda pair: pair[0])[1]
    if first:
        return first
    for link in tree.iter("link"):
        if "icon" in (link.get("rel") or "").lower() and link.get("href"):
            return str(link.get("href"))
    return None


def _text_nodes(element: Any) -> Iterator[str]:
    if not isinstance(element.tag, str) or element.tag.lower() in _SKIPPED_TEXT:
        # Comments and processing instructions, and skipped elements; the text
        # after them still belongs to their parent.
        if element.tail:
            yield element.tail
        return
    if element.text:
        yield element.text
    for child in element:
        yield from _text_nodes(child)
    if element.tail:
        yield element.tail


def summarize(texts: Iterator[str], length: int = DESCRIPTION_LENGTH) -> str | None:
    """The first ``length`` characters of the texts, whitespace collapsed,
    cut at a word boundary with an ellipsis when cut at all."""
    words: list[str] = []
    size = 0
    for text in texts:
        for word in text.split():
            if size + len(word) + (1 if words else 0) > length:
                if not words:  # one enormous word: cut it
                    return word[: length - 1] + "…"
                return " ".join(words) + "…"
            size += len(word) + (1 if words else 0)
            words.append(word)
    return " ".join(words) or None


def description_of(tree: Any) -> str | None:
    """A description from the text of the page's body."""
    bodies = list(tree.iter("body")) or [tree]
    return summarize(_text_nodes(bodies[0]))


def open_graph(tree: Any, page_url: str) -> dict[str, Any]:
    """The page's Open Graph data, completed from Twitter card tags, the
    title, the meta description, an image and the page text.

    ``og:image`` is made absolute against ``page_url``.
    """
    og: dict[str, Any] = dict(_meta(tree, "property", "og:"))
    # Some pages put Open Graph tags in name= rather than property=.
    for key, value in _meta(tree, "name", "og:").items():
        og.setdefault(key, value)
    twitter = _meta(tree, "name", "twitter:")
    for key, value in _meta(tree, "property", "twitter:").items():
        twitter.setdefault(key, value)
    for source, target in _TWITTER_FALLBACKS.items():
        if not og.get(target) and twitter.get(source):
            og[target] = twitter[source]
    if not og.get("og:title"):
        title = _first_text(tree, "title", "h1", "h2", "h3")
        if title:
            og["og:title"] = title
    if not og.get("og:image"):
        image = _fallback_image(tree)
        if image:
            og["og:image"] = image
    if og.get("og:image"):
        og["og:image"] = urljoin(page_url, str(og["og:image"]).strip())
    if not og.get("og:description"):
        described = [
            tag.get("content")
            for tag in tree.iter("meta")
            if (tag.get("name") or "").lower() == "description" and tag.get("content")
        ]
        description = described[0] if described else description_of(tree)
        if description:
            og["og:description"] = description
    return og


def oembed_link(tree: Any, page_url: str) -> str | None:
    """The page's oEmbed JSON URL (``<link rel="alternate"
    type="application/json+oembed">``), absolute, if it has one."""
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower()
        href = link.get("href")
        # Some providers (Flickr) write "alternative".
        if (
            href
            and kind == "application/json+oembed"
            and ("alternate" in rel or "alternative" in rel)
        ):
            return urljoin(page_url, href.strip())
    return None
