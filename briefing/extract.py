"""RawItem → Article: decode, extract HTML, clean, title, date, hash.

Pure apart from trafilatura (an offline HTML extractor); the clock comes in
as ``now``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import datetime

import charset_normalizer
import trafilatura

from briefing.clean import Cleaned, clean_text, derive_title
from briefing.dates import parse_datetime
from briefing.exceptions import ExtractionError
from briefing.types import Article, RawItem

KINDS = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}


def decode(data: bytes, location: str) -> str:
    """Bytes → text: UTF-8 (with or without BOM), UTF-16 by BOM, else the detected charset.

    Raises:
        ExtractionError: the bytes look binary or match no charset.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise ExtractionError(location, "binary file (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise ExtractionError(location, "not text in any known encoding")
    return str(best)


def html_to_text(html: str, location: str) -> tuple[str, str | None, datetime | None]:
    """The article's text (one paragraph per line), title and date from a web page.

    Raises:
        ExtractionError: the extractor found no article text.
    """
    # No deduplicate=True: its cache is process-wide, so a page read twice in
    # one process (a rerun, a test session) would come back empty.
    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                      include_tables=False)
    if doc is None or not (doc.text or "").strip():
        raise ExtractionError(location, "no article text found in the HTML")
    published = None
    if doc.date:
        try:
            published = parse_datetime(doc.date)
        except ValueError:
            published = None
    return doc.text, (doc.title or None), published


def content_hash(text: str) -> str:
    """Hash of the clean text with whitespace folded, so re-wrapping is no edit."""
    return hashlib.sha256(re.sub(r"\s+", " ", text).strip().encode("utf-8")).hexdigest()


def article_id(source: str, digest: str, key: str | None = None) -> str:
    """The article's identity: its key within the source if it has one, else its content.

    Keyed (feed entries): an edited body keeps the id, so it updates the article.
    Unkeyed (files): same source and same clean content → same article, wherever the file moved.
    """
    ident = f"key:{key}" if key else digest
    return hashlib.sha256(f"{source}\0{ident}".encode("utf-8")).hexdigest()[:20]


def clean_item(item: RawItem) -> tuple[Cleaned, str | None, datetime | None]:
    """Clean one raw item; returns what cleaning kept plus the extractor's title and date."""
    if item.kind == "html":
        text, html_title, html_date = html_to_text(item.body, item.location)
        # one block per extracted paragraph: never re-join them
        return clean_text(text.replace("\n", "\n\n")), html_title, html_date
    return clean_text(item.body, markdown=item.kind == "markdown"), None, None


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _without_controls(item: RawItem) -> RawItem:
    """NUL and other control characters never belong to text (and a PostgreSQL store refuses NUL)."""
    def strip(value: object) -> object:
        return _CONTROLS.sub("", value) if isinstance(value, str) else value

    fields = {"body": item.body, "title": item.title, "fallback": item.fallback}
    if not any(isinstance(v, str) and _CONTROLS.search(v) for v in fields.values()):
        return item
    return replace(item, **{k: strip(v) for k, v in fields.items()})


def to_article(item: RawItem, now: datetime) -> Article:
    """Clean ``item`` into an Article first seen at ``now``.

    Raises:
        ExtractionError: nothing of the body is left after cleaning.
    """
    item = _without_controls(item)
    try:
        cleaned, html_title, html_date = clean_item(item)
        if not cleaned.paragraphs:
            raise ExtractionError(item.location, "no body text left after removing page debris")
    except ExtractionError:
        if not item.fallback:
            raise
        cleaned, html_title, html_date = clean_text(item.fallback), None, None
        if not cleaned.paragraphs:
            raise
    text = cleaned.text
    title = item.title or cleaned.title or html_title or derive_title(cleaned.paragraphs[0])
    digest = content_hash(text)
    return Article(
        id=article_id(item.source, digest, item.key),
        source=item.source,
        location=item.location,
        title=title.strip(),
        text=text,
        content_hash=digest,
        first_seen=now,
        published=item.published or cleaned.published or html_date,
    )


_BLOCK_TAGS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "section")


def fragment_to_text(fragment: str) -> str:
    """Feed-entry HTML → plain text, one paragraph per block element.

    Scripts and styles are dropped with their content; all other markup goes.
    """
    import html as _html

    import lxml.html

    if "<" not in fragment:
        return _html.unescape(fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # lxml raises several types for junk; treat as plain text
        return _html.unescape(re.sub(r"<[^>]*>", " ", fragment))
    for bad in root.xpath("//script|//style|//noscript|//iframe|//object|//embed"):
        bad.drop_tree()
    for el in root.iter(*_BLOCK_TAGS):
        el.tail = "\n\n" + (el.tail or "")
    return re.sub(r"\n{3,}", "\n\n", root.text_content()).strip()
