"""RSS/Atom/JSON feeds over HTTP: polite, incremental, and robust to bad servers and bad XML.

One ``Fetcher`` (one httpx.AsyncClient) serves a whole run: a global limit on
requests in flight, a per-host limit, connect/read timeouts and a total
deadline per request (a trickling server cannot hold the run), a redirect
limit, a size cap and gzip. Conditional GET with the stored ETag and
Last-Modified makes an unchanged feed cost one 304 and no parsing.

Retries live here, in one place (not also as Prefect task retries): timeouts,
5xx and 429 are retried with exponential backoff, honouring ``Retry-After``;
anything else fails at once. Every failure becomes a one-line reason in the
source's outcome; nothing raises out of ``fetch_feeds``.

Entries become RawItems keyed by GUID, else canonical link, else content hash,
so a republished entry with an edited body updates its article. Teasers (and
every entry of a ``full_text`` feed) get their linked page fetched and
extracted; links to loopback/private addresses are refused unless allowed.
"""

from __future__ import annotations

import asyncio
import calendar
import email.utils
import hashlib
import json
import logging
import re
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import httpx

from briefing import __version__
from briefing.config import FetchConfig, SourceConfig
from briefing.dates import parse_datetime
from briefing.exceptions import ExtractionError, FetchError
from briefing.extract import fragment_to_text
from briefing.sources import FetchState, SourceOutcome
from briefing.types import RawItem
from briefing.urls import canonical_url, is_http_url, is_public_address

log = logging.getLogger(__name__)

USER_AGENT = f"Briefing/{__version__} (news digest; +https://github.com/briefing/briefing)"
_RETRY_STATUS = {429, 500, 502, 503, 504}
_TEASER_TAIL = re.compile(r"(?:…|\.\.\.|\[…\]|\[\.\.\.\]|read more|continue reading|more\s*»)\s*\W*$", re.IGNORECASE)


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Fetcher:
    """Polite HTTP GETs for one run. Use as ``async with Fetcher(policy) as f``."""

    def __init__(self, policy: FetchConfig, transport: httpx.AsyncBaseTransport | None = None):
        self.policy = policy
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._global = asyncio.Semaphore(policy.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        timeout = httpx.Timeout(self.policy.read_timeout, connect=self.policy.connect_timeout)
        limits = httpx.Limits(max_connections=self.policy.concurrency,
                              max_keepalive_connections=self.policy.concurrency)
        self._client = httpx.AsyncClient(
            timeout=timeout, limits=limits, follow_redirects=False, transport=self._transport,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}, trust_env=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _host_limit(self, url: str) -> asyncio.Semaphore:
        host = (urlsplit(url).hostname or "").lower()
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.policy.per_host)
        return self._hosts[host]

    async def get(self, url: str, headers: dict[str, str] | None = None, *, guard: bool = False) -> Response:
        """GET with retries; follows redirects by hand so every hop is checked.

        Args:
            guard: refuse hosts that resolve to loopback/private addresses
                (for links found inside feeds).

        Raises:
            FetchError: with a one-line reason.
        """
        attempt = 0
        while True:
            try:
                return await self._get_following(url, headers or {}, guard)
            except _Retryable as exc:
                attempt += 1
                wait = exc.wait if exc.wait is not None else self.policy.backoff * 2 ** (attempt - 1)
                if attempt > self.policy.retries:
                    raise FetchError(url, f"{exc.reason} (gave up after {attempt} attempts)") from None
                if wait > self.policy.max_retry_after:
                    raise FetchError(url, f"{exc.reason}; server asks to retry after {wait:.0f} s") from None
                log.info("retrying %s in %.1f s: %s", url, wait, exc.reason)
                await asyncio.sleep(wait)

    async def _get_following(self, url: str, headers: dict[str, str], guard: bool) -> Response:
        for _ in range(self.policy.max_redirects + 1):
            if not is_http_url(url):
                raise FetchError(url, "not an http(s) URL")
            if guard and not self.policy.allow_private_hosts:
                await _check_public(url)
            response = await self._get_once(url, headers)
            if response.status in (301, 302, 303, 307, 308) and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            return response
        raise FetchError(url, f"more than {self.policy.max_redirects} redirects")

    async def _get_once(self, url: str, headers: dict[str, str]) -> Response:
        assert self._client is not None, "use Fetcher as an async context manager"
        async with self._global, self._host_limit(url):
            try:
                async with asyncio.timeout(self.policy.deadline):
                    async with self._client.stream("GET", url, headers=headers) as r:
                        if r.status_code in _RETRY_STATUS:
                            raise _Retryable(f"HTTP {r.status_code}", _retry_after(r.headers.get("retry-after")))
                        declared = r.headers.get("content-length", "")
                        if declared.isdigit() and int(declared) > self.policy.max_bytes:
                            raise FetchError(url, f"response of {declared} bytes exceeds the "
                                                  f"{self.policy.max_bytes}-byte cap")
                        body = bytearray()
                        async for chunk in r.aiter_bytes():
                            body += chunk
                            if len(body) > self.policy.max_bytes:
                                raise FetchError(url, f"response exceeds the {self.policy.max_bytes}-byte cap")
                        return Response(str(r.url), r.status_code, r.headers, bytes(body))
            except TimeoutError:
                raise _Retryable(f"no complete response within {self.policy.deadline:g} s", None) from None
            except httpx.TimeoutException as exc:
                raise _Retryable(f"timed out ({type(exc).__name__})", None) from None
            except httpx.DecodingError as exc:
                raise FetchError(url, f"undecodable response body: {exc}") from exc
            except httpx.HTTPError as exc:
                raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc


class _Retryable(Exception):
    def __init__(self, reason: str, wait: float | None):
        super().__init__(reason)
        self.reason, self.wait = reason, wait


async def _check_public(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FetchError(url, f"cannot resolve host {host}: {exc.strerror or exc}") from exc
    for info in infos:
        address = str(info[4][0])
        if not is_public_address(address):
            raise FetchError(url, f"refusing link to non-public address {address} (fetch.allow_private_hosts)")


# --- parsing --------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One feed entry, whatever the format."""

    key: str
    link: str | None
    title: str | None
    html: str
    published: datetime | None


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> list[Entry]:
    """Feed bytes (RSS 0.9x/1.0/2.0, Atom or JSON Feed) → entries.

    Raises:
        ValueError: the bytes are not a feed; the message is the one-line reason.
    """
    if _looks_like_json(body, content_type):
        return _parse_json_feed(body, url)
    body, content_type = _as_utf8(body, url, content_type)
    # No content-location: feedparser would resolve GUIDs against the feed URL
    # too, and a GUID is a name, not a link. Links are joined below.
    headers = {"content-type": content_type} if content_type else {}
    # Entry HTML only ever becomes plain text here (fragment_to_text), and every
    # template escapes, so feedparser's HTML sanitiser would be 40% of the parse for nothing.
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.entries:
        if parsed.get("version"):  # a recognised feed that is empty now (maybe with an XML slip)
            if parsed.get("bozo"):
                log.info("%s: empty feed with an XML error: %s", url, _one_line(parsed.get("bozo_exception")))
            return []
        if parsed.get("bozo"):
            raise ValueError(f"not a feed: {_one_line(parsed.get('bozo_exception'))}")
        raise ValueError("not a feed: no RSS, Atom or JSON Feed root element")
    return [_entry(e, url) for e in parsed.entries]


def _looks_like_json(body: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _parse_json_feed(body: bytes, url: str) -> list[Entry]:
    from briefing.extract import decode

    try:
        data = json.loads(decode(body, url, _charsets(body, None)))
    except ExtractionError as exc:
        raise ValueError(f"not a feed: {exc.message}") from None
    except RecursionError:
        raise ValueError("not a feed: JSON nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"not a feed: invalid JSON ({_one_line(exc)})") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise ValueError("not a feed: JSON without a jsonfeed.org version")
    items = data.get("items") or []
    if not isinstance(items, list):
        raise ValueError("not a feed: JSON Feed 'items' is not a list")
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        link = urljoin(url, link) if isinstance(link, str) else None
        html = item.get("content_html") or _escape(item.get("content_text")) or item.get("summary") or ""
        published = None
        for field in ("date_published", "date_modified"):
            if isinstance(item.get(field), str):
                try:
                    published = parse_datetime(item[field])
                    break
                except ValueError:
                    pass
        title = item.get("title") if isinstance(item.get("title"), str) else None
        out.append(Entry(_key(item.get("id"), link, title, str(html)), link, title, str(html), published))
    return out


def _escape(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _entry(e: Any, url: str) -> Entry:
    content = e.get("content") or []
    html = content[0].get("value", "") if content else e.get("summary", "") or e.get("description", "")
    link = urljoin(url, e["link"]) if isinstance(e.get("link"), str) and e.get("link") else None
    title = e.get("title") or None
    published = None
    for field in ("published", "updated", "created"):
        value = e.get(field + "_parsed")
        if value:
            try:
                published = datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
                break
            except (OverflowError, ValueError, TypeError):
                pass
        if isinstance(e.get(field), str):  # feedparser gave up (e.g. a weekday in Italian): try ours
            try:
                published = parse_datetime(e[field])
                break
            except ValueError:
                pass
    return Entry(_key(e.get("id"), link, title, html or ""), link, title, html or "", published)


def _key(guid: Any, link: str | None, title: str | None, html: str) -> str:
    """GUID/id, else canonical link, else a hash of title and text."""
    if isinstance(guid, (str, int)) and str(guid).strip():
        return "id:" + str(guid).strip()
    if link and is_http_url(link):
        return "url:" + canonical_url(link)
    return "sha:" + hashlib.sha256(f"{title or ''}\0{html}".encode()).hexdigest()


def _one_line(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value)).strip()[:300]


TEASER_WORDS = 120  # what marks an entry's text as a teaser when fetch.teaser_words is 0 (no page fetches)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def word_count(text: str) -> int:
    """Words, counting Chinese, Japanese and Korean characters (written without spaces) as about 1.5 a word."""
    cjk = len(_CJK.findall(text))
    return len(_CJK.sub(" ", text).split()) + round(cjk / 1.5)


def is_teaser(text: str, min_words: int) -> bool:
    """A short entry, or one that trails off ("…", "Read more"), is a teaser of a longer page.

    ``min_words`` 0 turns teaser detection off (only ``full_text`` feeds fetch pages).
    """
    if min_words <= 0:
        return False
    return word_count(text) < min_words or bool(_TEASER_TAIL.search(text[-80:]))


# --- one feed, many feeds ----------------------------------------------------------

async def fetch_feed(fetcher: Fetcher, source: SourceConfig, state: FetchState) -> SourceOutcome:
    """Fetch, parse and (for teasers) complete one feed; never raises.

    A failure nobody foresaw (a parser's internal error on some input) still
    fails only this feed, with its type and message as the reason.
    """
    try:
        return await _fetch_feed(fetcher, source, state)
    except Exception as exc:  # the run goes on; the traceback goes to the log
        log.warning("feed %s failed unexpectedly", source.name, exc_info=True)
        return SourceOutcome(source.name, error=f"unexpected {type(exc).__name__}: {_one_line(exc)}", state=state)


async def _fetch_feed(fetcher: Fetcher, source: SourceConfig, state: FetchState) -> SourceOutcome:
    assert source.feed is not None
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/feed+json, "
                         "application/xml;q=0.9, */*;q=0.8"}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    try:
        response = await fetcher.get(source.feed, headers)
    except FetchError as exc:
        return SourceOutcome(source.name, error=exc.message, state=state)
    if response.status == 304:
        return SourceOutcome(source.name, not_modified=True, state=state)
    if response.status >= 400:
        reason = httpx.codes.get_reason_phrase(response.status)
        return SourceOutcome(source.name, error=f"HTTP {response.status} {reason}".strip(), state=state)
    if response.status != 200:
        return SourceOutcome(source.name, error=f"unexpected HTTP {response.status}", state=state)
    new_state = FetchState(response.headers.get("etag"), response.headers.get("last-modified"))
    try:
        entries = parse_feed(response.body, response.url, response.headers.get("content-type"))
    except ValueError as exc:
        return SourceOutcome(source.name, error=str(exc), state=state)
    items = await asyncio.gather(*(_item(fetcher, source, e) for e in entries))
    return SourceOutcome(source.name, items=tuple(items), state=new_state)


async def _item(fetcher: Fetcher, source: SourceConfig, entry: Entry) -> RawItem:
    text = fragment_to_text(entry.html)
    title = fragment_to_text(entry.title).strip() if entry.title else None
    # An entry without a link is located in its feed, one anchor per entry, so
    # link-less entries never look like versions of one document.
    location = entry.link or f"{source.feed}#entry-{hashlib.sha256(entry.key.encode()).hexdigest()[:12]}"
    short = is_teaser(text, fetcher.policy.teaser_words or TEASER_WORDS)
    base = RawItem(source=source.name, location=location, body=text, kind="text",
                   title=title or None, published=entry.published, key=entry.key, teaser=short)
    wants_page = source.full_text or is_teaser(text, fetcher.policy.teaser_words)
    if not wants_page or not entry.link or not is_http_url(entry.link):
        return base
    try:
        page = await fetcher.get(entry.link, {"Accept": "text/html,application/xhtml+xml"}, guard=True)
    except FetchError as exc:
        log.info("full text of %s not fetched, using the feed's text: %s", entry.link, exc.message)
        return base
    if page.status != 200 or not page.body:
        log.info("full text of %s not fetched (HTTP %s), using the feed's text", entry.link, page.status)
        return base
    html = _decode_page(page)
    return RawItem(source=source.name, location=location, body=html, kind="html", title=title or None,
                   published=entry.published, key=entry.key, fallback=text or None, teaser=short)


def _decode_page(page: Response) -> str:
    from briefing.extract import decode

    try:
        return decode(page.body, page.url, _charsets(page.body, page.headers.get("content-type")))
    except ExtractionError as exc:  # let the extractor fail and fall back to the feed's text
        log.info("page %s not decoded: %s", page.url, exc.message)
        return ""


_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?([A-Za-z0-9._:-]{1,40})", re.IGNORECASE)


def _charsets(body: bytes, content_type: str | None) -> tuple[str, ...]:
    """What the document and the server say the charset is: the document first (its author wrote it)."""
    found = []
    for pattern in (_XML_ENCODING, _META_CHARSET):
        match = pattern.search(body[:4096])
        if match:
            found.append(match.group(1).decode("ascii"))
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type or "", re.IGNORECASE)
    if match:
        found.append(match.group(1))
    return tuple(found)


def _as_utf8(body: bytes, url: str, content_type: str | None) -> tuple[bytes, str | None]:
    """The feed re-encoded as UTF-8 with its declaration and content type saying so.

    The charset is settled once, by ``decode``'s rules (valid UTF-8 is UTF-8,
    then what the feed or server declares, then detection), so a feed whose
    label lies is not read as mojibake.

    Raises:
        ValueError: binary or undecodable bytes, as a one-line reason.
    """
    from briefing.extract import decode

    try:
        text = decode(body, url, _charsets(body, content_type))
    except ExtractionError as exc:
        raise ValueError(f"not a feed: {exc.message}") from None
    text = re.sub(r"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[^\"']*", r"\g<1>utf-8", text.lstrip("\ufeff"), count=1)
    media = (content_type or "").split(";")[0].strip()
    return text.encode("utf-8"), f"{media}; charset=utf-8" if media else None


async def fetch_feeds(sources: Sequence[SourceConfig], states: dict[str, FetchState], policy: FetchConfig,
                      transport: httpx.AsyncBaseTransport | None = None) -> list[SourceOutcome]:
    """Fetch every feed concurrently with one client; outcomes in input order."""
    async with Fetcher(policy, transport) as fetcher:
        return list(await asyncio.gather(*(
            fetch_feed(fetcher, s, states.get(s.name, FetchState())) for s in sources)))


def fetch_all(sources: Sequence[SourceConfig], states: dict[str, FetchState], policy: FetchConfig,
              transport: httpx.AsyncBaseTransport | None = None) -> list[SourceOutcome]:
    """Blocking wrapper of ``fetch_feeds`` for callers without an event loop."""
    started = time.monotonic()
    outcomes = asyncio.run(fetch_feeds(sources, states, policy, transport))
    log.info("fetched %d feeds in %.1f s", len(sources), time.monotonic() - started)
    return outcomes


class FeedSource:
    """A single feed as a ``Source`` (the flows fetch all feeds together via ``fetch_all``)."""

    def __init__(self, config: SourceConfig, policy: FetchConfig | None = None):
        self.name, self.config, self.policy = config.name, config, policy or FetchConfig()

    def fetch(self, state: FetchState = FetchState()) -> SourceOutcome:
        return fetch_all([self.config], {self.name: state}, self.policy)[0]
