"""RawItem → Article: decode, extract HTML, clean, title, date, hash.

Pure apart from trafilatura (an offline HTML extractor); the clock comes in
as ``now``. trafilatura and charset-normalizer are imported where they are
used: together they are most of a stage command's start-up (trafilatura pulls
in py3langid, NumPy, courlan and urllib3), and a text record needs neither.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from briefing.clean import Cleaned, clean_text, derive_title, single_spaced
from briefing.exceptions import ExtractionError
from briefing.types import Article, RawItem
from briefing.urls import is_http_url

if TYPE_CHECKING:
    from trafilatura.settings import Document

    from briefing.outlets import Registry

KINDS = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}


# Formats that arrive misnamed as .txt/.html or behind a feed link: named, not decoded into junk.
_MAGIC = (
    (b"%PDF-", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "gzip data"), (b"\x7fELF", "a program (ELF)"), (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"BZh", "bzip2 data"), (b"\xfd7zXZ", "xz data"), (b"7z\xbc\xaf", "a 7-Zip archive"), (b"RIFF", "audio or video"),
)


def decode(data: bytes, location: str, declared: Sequence[str] = ()) -> str:
    """Bytes → text, trusting evidence over labels.

    A byte-order mark first, then UTF-16 recognised by its zero bytes, then
    UTF-8 (bytes that decode as UTF-8 are UTF-8, whatever a header or meta tag
    claims), then the first ``declared`` charset the bytes decode in, else the
    charset detected from the bytes.

    Raises:
        ExtractionError: the bytes are a known binary format, look binary, or match no charset.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data.decode("utf-8-sig", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise ExtractionError(location, f"binary file ({what}), not text")
    head = data[:8192]
    if b"\x00" in head:
        wide = _utf16_without_bom(head)
        if wide:
            try:
                text = data.decode(wide)
            except UnicodeDecodeError:
                text = ""
            if text and _looks_like_text(text):
                return text
        raise ExtractionError(location, "binary file (NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for charset in declared:
        try:
            text = data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
        if _plausible(data, charset):
            return text
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise ExtractionError(location, "not text in any known encoding" +
                              (f" (declared {', '.join(declared)} does not fit)" if declared else ""))
    return str(best)


def _plausible(data: bytes, charset: str) -> bool:
    """Whether text decoded in ``charset`` reads as language rather than mojibake.

    A single-byte charset decodes any bytes, so a label that lies (windows-1251
    bytes sent as ISO-8859-1) would pass a strict decode.
    """
    import charset_normalizer

    try:
        return charset_normalizer.from_bytes(data[:65536], cp_isolation=[charset]).best() is not None
    except (LookupError, ValueError):
        return True


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when every zero byte sits on one side of the byte pairs.

    In UTF-16 the zeros are the high bytes of ASCII characters (spaces at
    least, in any script); binary data has zeros on both sides.
    """
    head = head[:len(head) // 2 * 2]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if even + odd < 4:
        return None
    if even <= 0.02 * odd:
        return "utf-16-le"
    if odd <= 0.02 * even:
        return "utf-16-be"
    return None


def _looks_like_text(text: str) -> bool:
    sample = text[:4096]
    printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in sample)
    return printable >= 0.97 * len(sample)


def html_to_text(html: str, location: str) -> tuple[str, str | None, datetime | None]:
    """The article's text (one paragraph per line), title and date from a web page.

    Raises:
        ExtractionError: the extractor found no article text.
    """
    # No deduplicate=True: its cache is process-wide, so a page read twice in
    # one process (a rerun, a test session) would come back empty.
    # No extensive date search: it falls back to a footer's copyright year and dates an undated page 1 January.
    options: dict[str, Any] = {"with_metadata": True, "include_comments": False, "include_tables": False,
                               "date_extraction_params": {"extensive_search": False, "original_date": True}}
    doc = _bare_extraction(html, **options)
    if doc is not None and "\n" not in (doc.text or "").strip() and re.search(r"<p[\s>]", html, re.IGNORECASE):
        # On a short page trafilatura falls back to a baseline that glues title, captions and every
        # paragraph into one line; its precise mode keeps the paragraphs apart.
        precise = _bare_extraction(html, favor_precision=True, **options)
        if precise is not None and "\n" in (precise.text or "").strip():
            doc = precise
    if doc is None or not doc.text or not doc.text.strip():
        raise ExtractionError(location, "no article text found in the HTML")
    from briefing.dates import parse_datetime

    published = None
    if doc.date:
        try:
            published = parse_datetime(doc.date)
        except ValueError:
            published = None
    return doc.text, (doc.title or None), published


def _bare_extraction(html: str, **options: Any) -> Document | None:
    """trafilatura's result as its ``Document`` (it gives a dict only when asked ``as_dict``, never here)."""
    import trafilatura
    from trafilatura.settings import Document

    doc = trafilatura.bare_extraction(html, **options)
    return doc if isinstance(doc, Document) else None


def content_hash(text: str) -> str:
    """Hash of the clean text with whitespace folded, so re-wrapping is no edit."""
    return hashlib.sha256(_folded(text).encode("utf-8")).hexdigest()


def _folded(text: str) -> str:
    r"""``" ".join(text.split())`` (str.split: the same \s as re), without splitting a clean text into words:
    its paragraphs are single-spaced words joined by blank lines, so it folds to its blank lines as spaces."""
    flat = text.replace("\n\n", " ")
    return flat if single_spaced(flat) else " ".join(text.split())


def article_id(source: str, digest: str, key: str | None = None) -> str:
    """The article's identity: its key within the source if it has one, else its content.

    Keyed (feed entries): an edited body keeps the id, so it updates the article.
    Unkeyed (files): same source and same clean content → same article, wherever the file moved.
    """
    ident = f"key:{key}" if key else digest
    return hashlib.sha256(f"{source}\0{ident}".encode()).hexdigest()[:20]


def clean_item(item: RawItem) -> tuple[Cleaned, str | None, datetime | None]:
    """Clean one raw item; returns what cleaning kept plus the extractor's title and date."""
    if item.kind == "html":
        text, html_title, html_date = html_to_text(item.body, item.location)
        # one block per extracted paragraph: never re-join them
        return clean_text(_prose(text, item.location).replace("\n", "\n\n")), html_title, html_date
    return clean_text(_prose(item.body, item.location), markdown=item.kind == "markdown", title=item.title), None, None


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Longer than any article's paragraph (a long report on one line is ~100k characters): a dump, not prose.
MAX_LINE_CHARS = 200_000
# Encoded data (base64 images, hashes, minified identifiers): no word of any language is this long.
_BLOB = re.compile(r"[A-Za-z0-9+/=_-]{1000,}")
_BLOB_HALF = re.compile(r"[A-Za-z0-9+/=_-]{500}")


def _without_controls(item: RawItem) -> RawItem:
    """NUL and other control characters never belong to text (and a PostgreSQL store refuses NUL)."""
    def strip(value: str | None) -> str | None:
        return _CONTROLS.sub("", value) if value is not None else None

    if not any(v is not None and _CONTROLS.search(v) for v in (item.body, item.title, item.fallback)):
        return item
    return replace(item, body=_CONTROLS.sub("", item.body), title=strip(item.title), fallback=strip(item.fallback))


def _may_hold_blob(text: str) -> bool:
    """Whether ``_BLOB`` can match: a run of 1,000 covers a whole window of 500 starting at a multiple of 500.

    A few anchored matches that fail within a word, instead of a search that starts a run at every position.
    """
    return any(_BLOB_HALF.match(text, k) for k in range(0, len(text) - 499, 500))


def _prose(text: str, location: str) -> str:
    """Text fit for the per-line cleaning rules: runs of encoded data removed, enormous lines refused.

    Raises:
        ExtractionError: a line longer than ``MAX_LINE_CHARS``, with its length.
    """
    blob = _BLOB.search(text) if _may_hold_blob(text) else None
    if blob:
        text = _BLOB.sub(" ", text)
        if not text.strip():
            raise ExtractionError(location, f"no text, only encoded data ({len(blob.group()):,} characters "
                                            "without a space)")
    if len(text) > MAX_LINE_CHARS:
        longest = max(map(len, text.splitlines()), default=0)
        if longest > MAX_LINE_CHARS:
            raise ExtractionError(location, f"a single line of {longest:,} characters "
                                            f"(limit {MAX_LINE_CHARS:,}): not an article")
    return text


MAX_TITLE_CHARS = 300


def _short(title: str) -> str:
    """A title fit for a headline: a feed's or page's title can be a whole paragraph, or a megabyte."""
    title = " ".join(title.split())
    if len(title) <= MAX_TITLE_CHARS:
        return title
    return title[:MAX_TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def to_article(item: RawItem, now: datetime, outlets: Registry | None = None) -> Article:
    """Clean ``item`` into an Article first seen at ``now``, naming its outlet from ``outlets`` (default: bundled).

    A fetched page that yields nothing falls back to the feed's own text; an
    item whose source gave a title (a feed entry, a headline record) is never
    lost to cleaning: with no body left it is kept as its headline alone, a
    teaser, because the headline is the story.

    Raises:
        ExtractionError: nothing of the body is left after cleaning and there is no title.
    """
    item = _without_controls(item)
    if not item.body.strip() and not item.fallback and not _headline(item):
        raise ExtractionError(item.location, "no title and no text")
    teaser = item.teaser and item.kind != "html"
    try:
        cleaned, html_title, html_date = clean_item(item)
        if not cleaned.paragraphs:
            raise ExtractionError(item.location, "no body text left after removing page debris")
        if item.fallback and len(cleaned.text.split()) < len(item.fallback.split()):
            # A paywall or consent page ("Subscribe to continue reading") says less than the feed did.
            raise ExtractionError(item.location, "the page says less than the feed's own text")
    except ExtractionError:
        if not item.fallback and not _headline(item):
            raise
        cleaned, html_title, html_date = _clean_fallback(item), None, None
        teaser = item.teaser or not cleaned.paragraphs
        if not cleaned.paragraphs and not _headline(item):
            raise
    title = _short(item.title or cleaned.title or html_title or derive_title(cleaned.paragraphs[0]))
    return _article(item, title, cleaned.text, now, published=item.published or cleaned.published or html_date,
                    teaser=teaser, outlet=_outlet(item, outlets))


def record_to_article(source: str, location: str, text: str, title: str | None, published: datetime | None,
                      now: datetime, clean: bool = True, outlet: str | None = None) -> Article:
    """One stage record (``briefing <stage> --jsonl``) as an Article, so the stages see what an ingest would.

    ``clean``: ``text`` is a raw document, cleaned as a file is (``extract``); otherwise it is already
    clean (an evaluation set's), kept verbatim, with single newlines also separating paragraphs, so a
    stage is measured on the text as given. A record that is its headline alone (feeds are full of
    them) is a teaser with no text, whatever cleaning thinks of the headline. ``outlet``: the record's
    own "outlet", weighed like a feed entry's source element (the registry names it).

    Raises:
        ExtractionError: nothing of ``text`` is left after cleaning, or there is neither text nor title.
    """
    item = RawItem(source, location, text, "text", title, published, outlet=outlet)
    if clean:
        try:
            return to_article(item, now)
        except ExtractionError:
            if text.strip() or title is None:
                raise
            return _article(item, title, "", now, published=published, teaser=True, outlet=_outlet(item, None))
    if not text.strip():
        if title is None:
            raise ExtractionError(location, "no title and no text")
        return _article(item, title, "", now, published=published, teaser=True, outlet=_outlet(item, None))
    body = text.replace("\r\n", "\n")
    if "\n\n" not in body:
        body = "\n\n".join(p.strip() for p in body.split("\n") if p.strip())
    return _article(item, title or derive_title(body.split("\n\n")[0]), body, now, published=published,
                    outlet=_outlet(item, None))


def _article(item: RawItem, title: str, text: str, now: datetime, *, published: datetime | None,
             teaser: bool = False, outlet: str | None = None) -> Article:
    """The Article of ``item`` with its final title and text: its identity, hash and language are decided here."""
    from briefing.language import detect_language

    digest = content_hash(f"{title}\n\n{text}" if not text else text)  # a headline alone: two headlines, two ids
    return Article(id=article_id(item.source, digest, item.key), source=item.source, location=item.location,
                   title=title, text=text, content_hash=digest, first_seen=now, published=published,
                   teaser=teaser, outlet=outlet, lang=detect_language(title, text))


def _outlet(item: RawItem, outlets: Registry | None) -> str | None:
    """Who published it, from the raw document (cleaning drops the "Source: …" line it may name)."""
    from briefing.outlets import bundled_registry, decide

    urls = (item.location,) if is_http_url(item.location) else ()
    return decide(hint=item.outlet, kind=item.kind, body=item.body, urls=urls,
                  registry=outlets if outlets is not None else bundled_registry())


def _headline(item: RawItem) -> bool:
    return bool(item.title and re.search(r"[^\W\d_]", item.title))


def _clean_fallback(item: RawItem) -> Cleaned:
    """The feed's own text (a dek), cleaned like any text; empty when there is none."""
    if not item.fallback:
        return Cleaned(title=None, published=None, paragraphs=())
    try:
        return clean_text(_prose(item.fallback, item.location), title=item.title)
    except ExtractionError:
        return Cleaned(title=None, published=None, paragraphs=())


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
    except Exception:  # noqa: BLE001 - lxml raises several types for junk; treat as plain text
        return _html.unescape(re.sub(r"<[^>]*>", " ", fragment))
    for bad in root.xpath("//script|//style|//noscript|//iframe|//object|//embed"):
        bad.drop_tree()
    for el in root.iter(*_BLOCK_TAGS):
        el.tail = "\n\n" + (el.tail or "")
    return re.sub(r"\n{3,}", "\n\n", root.text_content()).strip()
