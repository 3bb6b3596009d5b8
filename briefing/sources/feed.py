"""RSS/Atom/JSON feeds over HTTP: polite, incremental, and robust to bad servers and bad XML.

One ``Fetcher`` (one httpx.AsyncClient) serves a whole run: a global limit on
requests in flight, a per-host limit, connect/read timeouts and a total
deadline per request (a trickling server cannot hold the run), a redirect
limit, a size cap and gzip. Conditional GET with the stored ETag and
Last-Modified makes an unchanged feed cost one 304 and no parsing.

Dead hosts cost a lookup, not the run: each host is looked up once per run
(in a daemon thread, so a resolver that hangs cannot hold the run's end), a
host that fails to resolve or connect ``host_failures`` times in a row is not
tried again this run, and page fetches stop once ``run_budget`` is spent. A
page not fetched leaves its entry with the feed's own text.

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
import ipaddress
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import feedparser
import httpcore
import httpx

from briefing import __version__
from briefing.config import FetchConfig, SourceConfig
from briefing.dates import parse_datetime
from briefing.exceptions import ExtractionError, FetchError, ParseError, one_line
from briefing.extract import decode, fragment_to_text
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
    """Polite HTTP GETs for one run. Use as ``async with Fetcher(policy) as f``.

    Each host is resolved once per run (concurrent fetches share the lookup,
    failures are remembered), and the connection goes to the addresses that
    lookup found, so the private-address guard checks what is connected to.
    A host that fails to resolve or connect ``host_failures`` times in a row
    is not tried again this run; page fetches stop when ``run_budget`` is spent.
    """

    def __init__(self, policy: FetchConfig, transport: httpx.AsyncBaseTransport | None = None):
        self.policy = policy
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._global = asyncio.Semaphore(policy.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._lookup_slots = asyncio.Semaphore(policy.concurrency)  # host lookups in flight at once
        self._resolutions: dict[str, asyncio.Task[tuple[str, ...] | str]] = {}
        self._failures: dict[str, int] = {}  # failures to resolve or connect in a row, per host
        self._skipped: dict[str, list[int]] = {}  # unreachable host → [page fetches, feed fetches] skipped
        self._budget_end = 0.0
        self._over_budget = 0

    async def __aenter__(self) -> Self:
        timeout = httpx.Timeout(self.policy.read_timeout, connect=self.policy.connect_timeout)
        limits = httpx.Limits(max_connections=self.policy.concurrency,
                              max_keepalive_connections=self.policy.concurrency)
        self._budget_end = asyncio.get_running_loop().time() + self.policy.run_budget
        self._client = httpx.AsyncClient(
            timeout=timeout, limits=limits, follow_redirects=False,
            transport=self._transport or _ResolvingTransport(self, limits),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}, trust_env=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._resolutions.values():  # a lookup still pending is abandoned (its thread is a daemon)
            task.cancel()
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
            guard: a page linked from a feed (not a feed): refuse hosts that
                resolve to loopback/private addresses, and skip it once the
                run's ``run_budget`` is spent.

        Raises:
            FetchError: with a one-line reason.
        """
        if not guard:
            return await self._get_retrying(url, headers or {}, guard)
        budget = asyncio.timeout_at(self._budget_end)
        try:
            async with budget:
                return await self._get_retrying(url, headers or {}, guard)
        except TimeoutError:
            if not budget.expired():
                raise
            self._over_budget += 1
            raise FetchError(url, f"fetch.run_budget of {self.policy.run_budget:g} s spent: page not fetched") from None

    async def _get_retrying(self, url: str, headers: dict[str, str], guard: bool) -> Response:
        attempt = 0
        while True:
            try:
                return await self._get_following(url, headers, guard)
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
            host, origin = _host(url), _origin(url)
            self._admit(url, origin, page=guard)
            if guard and not self.policy.allow_private_hosts:
                await self._check_public(url, host, origin)
            response = await self._get_once(url, origin, headers, guard)
            if response.status in (301, 302, 303, 307, 308) and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            return response
        raise FetchError(url, f"more than {self.policy.max_redirects} redirects")

    async def _get_once(self, url: str, origin: str, headers: dict[str, str], page: bool) -> Response:
        assert self._client is not None, "use Fetcher as an async context manager"
        async with self._global, self._host_limit(url):
            self._admit(url, origin, page=page)  # the fetches ahead in the queue may have given up on it
            try:
                async with asyncio.timeout(self.policy.deadline):
                    async with self._client.stream("GET", url, headers=headers) as r:
                        self._reached(origin)
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
            except httpx.ConnectTimeout as exc:
                self._failed(origin)
                detail = f": {exc}" if str(exc) else ""
                raise _Retryable(f"timed out ({type(exc).__name__}{detail})", None) from None
            except httpx.TimeoutException as exc:
                raise _Retryable(f"timed out ({type(exc).__name__})", None) from None
            except httpx.ConnectError as exc:
                self._failed(origin)
                raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc
            except httpx.DecodingError as exc:
                raise FetchError(url, f"undecodable response body: {exc}") from exc
            except httpx.HTTPError as exc:
                raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc

    # --- hosts: one lookup per run, and giving up on dead ones ----------------------

    async def _check_public(self, url: str, host: str, origin: str) -> None:
        """Refuse a link to a loopback/private address (the lookup is the run's one lookup of the host)."""
        try:
            addresses = await self.addresses(host, self.policy.deadline)
        except _Unresolved as exc:
            self._admit(url, origin, page=True)  # the waiters ahead may have just made it unreachable
            self._failed(origin)
            raise FetchError(url, exc.reason) from None
        for address in addresses:
            if not is_public_address(address):
                raise FetchError(url, f"refusing link to non-public address {address} (fetch.allow_private_hosts)")

    async def addresses(self, host: str, timeout: float) -> tuple[str, ...]:
        """The host's addresses, looked up once per run; concurrent callers share the pending lookup.

        A caller gives up after ``timeout`` seconds; the lookup itself goes on
        for the callers after it, and its answer (or failure) is kept.

        Raises:
            _Unresolved: the host has no address, or none came within ``timeout``.
        """
        if _is_ip(host):
            return (host,)
        task = self._resolutions.get(host)
        if task is None:
            task = self._resolutions[host] = asyncio.create_task(self._lookup(host))
        try:
            async with asyncio.timeout(timeout):
                found = await asyncio.shield(task)
        except TimeoutError:
            raise _Unresolved(f"cannot resolve host {host} within {timeout:g} s", timed_out=True) from None
        if isinstance(found, str):
            raise _Unresolved(found)
        return found

    async def _lookup(self, host: str) -> tuple[str, ...] | str:
        """The addresses, or the reason there are none (a value, so a failure is cached like an answer)."""
        async with self._lookup_slots:
            try:
                infos = await _getaddrinfo(host)
            except Exception as exc:  # gaierror, or UnicodeError for a malformed name
                return f"cannot resolve host {host}: {getattr(exc, 'strerror', None) or exc}"
        addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
        return addresses or f"cannot resolve host {host}: no address"

    def _admit(self, url: str, origin: str, *, page: bool) -> None:
        """Fail at once for a host (and port) unreachable this run, counting what was skipped."""
        if self._failures.get(origin, 0) < self.policy.host_failures:
            return
        self._skipped.setdefault(origin, [0, 0])[0 if page else 1] += 1
        raise FetchError(url, f"host {origin} unreachable ({self.policy.host_failures} failures to resolve or "
                              "connect in a row): not fetched again this run (fetch.host_failures)")

    def _failed(self, origin: str) -> None:
        self._failures[origin] = self._failures.get(origin, 0) + 1

    def _reached(self, origin: str) -> None:
        if self._failures.get(origin, 0) < self.policy.host_failures:  # unreachable stays so for the run
            self._failures[origin] = 0

    def report(self) -> None:
        """One log line per unreachable host, and one if the budget cut page fetches short."""
        for host, (pages, feeds) in self._skipped.items():
            skipped = []
            if pages:
                skipped.append(f"{pages:,} page fetch{'es' if pages != 1 else ''} skipped, "
                               "entries kept with their own text")
            if feeds:
                skipped.append(f"{feeds:,} feed fetch{'es' if feeds != 1 else ''} skipped")
            log.warning("host %s unreachable: %s", host, "; ".join(skipped))
        if self._over_budget:
            log.warning("fetch.run_budget of %g s spent: %s page fetch%s skipped, entries kept with their own text",
                        self.policy.run_budget, f"{self._over_budget:,}", "es" if self._over_budget != 1 else "")



class _Retryable(Exception):
    def __init__(self, reason: str, wait: float | None):
        super().__init__(reason)
        self.reason, self.wait = reason, wait


class _Unresolved(Exception):
    def __init__(self, reason: str, timed_out: bool = False):
        super().__init__(reason)
        self.reason, self.timed_out = reason, timed_out


def _host(url: str) -> str:
    """The host as httpx connects to it (lower case, IDNA), so the guard and the connection share one lookup."""
    try:
        return httpx.URL(url).host
    except (httpx.InvalidURL, ValueError):
        return (urlsplit(url).hostname or "").lower()


def _origin(url: str) -> str:
    """What reachability is kept per: the host, with its port when that is not the scheme's default."""
    parts = urlsplit(url)
    host = _host(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None or port == {"http": 80, "https": 443}.get(parts.scheme.lower()):
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _getaddrinfo(host: str) -> asyncio.Future[list[Any]]:
    """``socket.getaddrinfo`` in a daemon thread of its own.

    Not in the loop's executor: ``asyncio.run`` waits for the default
    executor's threads at its end, and interpreter exit joins every executor
    thread, so one lookup stuck in the resolver would hold a finished or
    SIGTERMed run. A daemon thread is simply abandoned.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[list[Any]] = loop.create_future()

    def settle(infos: list[Any] | None, error: BaseException | None) -> None:
        if future.done():  # the waiter gave up
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(infos or [])

    def work() -> None:
        infos, error = None, None
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except Exception as exc:
            error = exc
        try:
            loop.call_soon_threadsafe(settle, infos, error)
        except RuntimeError:  # the loop is closed: the run ended without this answer
            pass

    threading.Thread(target=work, name=f"resolve {host}", daemon=True).start()
    return future


class _ResolvingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting to the fetcher's addresses for a host.

    httpx would otherwise resolve each new connection again, in the loop's
    default executor (see ``_getaddrinfo`` for why that thread pool is avoided).
    """

    def __init__(self, fetcher: Fetcher):
        self._fetcher = fetcher
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self._fetcher.addresses(host, timeout or self._fetcher.policy.connect_timeout)
        except _Unresolved as exc:
            raise (httpcore.ConnectTimeout if exc.timed_out else httpcore.ConnectError)(exc.reason) from None
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _ResolvingTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport with the resolving backend (httpx has no public hook for name resolution)."""

    def __init__(self, fetcher: Fetcher, limits: httpx.Limits):
        ssl_context = httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=_ResolvingBackend(fetcher))


# --- parsing --------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One feed entry, whatever the format."""

    key: str
    link: str | None
    title: str | None
    html: str
    published: datetime | None
    outlet: str | None = None  # the entry's <source> (an aggregator names the outlet), else the feed's title


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> list[Entry]:
    """Feed bytes (RSS 0.9x/1.0/2.0, Atom or JSON Feed) → entries.

    Raises:
        ParseError: the bytes are not a feed; its ``message`` is the one-line reason.
    """
    try:
        return _parse_feed(body, url, content_type)
    except ParseError:
        raise
    except ValueError as exc:  # what the parsers slip on in one entry (urljoin on a malformed IPv6 link)
        raise ParseError(url, str(exc)) from exc


def _parse_feed(body: bytes, url: str, content_type: str | None) -> list[Entry]:
    json_feed = _looks_like_json(body, content_type)
    try:  # a JSON feed's charset is the bytes' own: what its server says is not asked
        text = decode_response(body, url, None if json_feed else content_type)
    except ExtractionError as exc:
        raise ParseError(url, f"not a feed: {exc.message}") from None
    if json_feed:
        return _parse_json_feed(text, url)
    body, content_type = _as_utf8(text, content_type)
    # No content-location: feedparser would resolve GUIDs against the feed URL
    # too, and a GUID is a name, not a link. Links are joined below.
    headers = {"content-type": content_type} if content_type else {}
    # Entry HTML only ever becomes plain text here (fragment_to_text), and every
    # template escapes, so feedparser's HTML sanitiser would be 40% of the parse for nothing.
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.entries:
        if parsed.get("version"):  # a recognised feed that is empty now (maybe with an XML slip)
            if parsed.get("bozo"):
                log.info("%s: empty feed with an XML error: %s", url, one_line(parsed.get("bozo_exception")))
            return []
        if parsed.get("bozo"):
            raise ParseError(url, f"not a feed: {one_line(parsed.get('bozo_exception'))}")
        raise ParseError(url, "not a feed: no RSS, Atom or JSON Feed root element")
    feed_title = _text(parsed.get("feed", {}).get("title"))
    return [_entry(e, url, feed_title) for e in parsed.entries]


def _looks_like_json(body: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _parse_json_feed(text: str, url: str) -> list[Entry]:
    try:
        data = json.loads(text)
    except RecursionError:
        raise ParseError(url, "not a feed: JSON nested too deeply") from None
    except ValueError as exc:
        raise ParseError(url, f"not a feed: invalid JSON ({one_line(exc)})") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise ParseError(url, "not a feed: JSON without a jsonfeed.org version")
    items = data.get("items") or []
    feed_title = _text(data.get("title"))
    if not isinstance(items, list):
        raise ParseError(url, "not a feed: JSON Feed 'items' is not a list")
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
        out.append(Entry(_key(item.get("id"), link, title, str(html)), link, title, str(html), published,
                         feed_title))
    return out


def _escape(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text(value: Any) -> str | None:
    """A feed's plain-text field (a title), or None when absent or not text."""
    if not isinstance(value, str) or not value.strip():
        return None
    return fragment_to_text(value).strip() or None


def _entry(e: Any, url: str, feed_title: str | None = None) -> Entry:
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
    source = e.get("source")
    outlet = _text(source.get("title")) if isinstance(source, dict) else None
    return Entry(_key(e.get("id"), link, title, html or ""), link, title, html or "", published,
                 outlet or feed_title)


def _key(guid: Any, link: str | None, title: str | None, html: str) -> str:
    """GUID/id, else canonical link, else a hash of title and text."""
    if isinstance(guid, (str, int)) and str(guid).strip():
        return "id:" + str(guid).strip()
    if link and is_http_url(link):
        return "url:" + canonical_url(link)
    return "sha:" + hashlib.sha256(f"{title or ''}\0{html}".encode()).hexdigest()


TEASER_WORDS = 120  # what marks an entry's text as a teaser when fetch.teaser_words is 0 (no page fetches)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def word_count(text: str) -> int:
    """Words, counting Chinese, Japanese and Korean characters (written without spaces) as about 1.5 a word."""
    if text.isascii():  # most entries: no CJK to find, and two regex passes over the text saved
        return len(text.split())
    cjk = len(_CJK.findall(text))
    return len(_CJK.sub(" ", text).split()) + round(cjk / 1.5)


def is_teaser(text: str, min_words: int) -> bool:
    """A short entry, or one that trails off ("…", "Read more"), is a teaser of a longer page.

    ``min_words`` 0 turns teaser detection off (only ``full_text`` feeds fetch pages).
    """
    if min_words <= 0:
        return False
    return word_count(text) < min_words or _trails_off(text[-80:])


def _trails_off(tail: str) -> bool:
    """``_TEASER_TAIL.search(tail)``, tried only where a match can start.

    A match is a marker followed by non-word characters to the end, so it starts at most 16 characters
    (``continue reading``) before the text's trailing run of non-word characters: the regex is not tried
    at every position of the tail.
    """
    end = len(tail)
    while end and not (tail[end - 1].isalnum() or tail[end - 1] == "_"):  # what \W matches, read from the end
        end -= 1
    return bool(_TEASER_TAIL.search(tail, max(0, end - 16)))


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
        return SourceOutcome(source.name, error=f"unexpected {type(exc).__name__}: {one_line(exc)}", state=state)


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
    except ParseError as exc:
        return SourceOutcome(source.name, error=exc.message, state=state)
    items = [_feed_item(fetcher.policy, source, e) for e in entries]
    pages = [i for i, entry in enumerate(entries) if _wants_page(fetcher.policy, source, items[i], entry)]
    if pages:  # only entries whose page is fetched cost a coroutine: most feeds have none
        completed = await asyncio.gather(*(_with_page(fetcher, source, entries[i], items[i]) for i in pages))
        for i, item in zip(pages, completed):
            items[i] = item
    return SourceOutcome(source.name, items=tuple(items), state=new_state)


def _feed_item(policy: FetchConfig, source: SourceConfig, entry: Entry) -> RawItem:
    """The entry as the feed gives it: its HTML as text, marked a teaser when it is short or trails off."""
    text = fragment_to_text(entry.html)
    title = fragment_to_text(entry.title).strip() if entry.title else None
    # An entry without a link is located in its feed, one anchor per entry, so
    # link-less entries never look like versions of one document.
    location = entry.link or f"{source.feed}#entry-{hashlib.sha256(entry.key.encode()).hexdigest()[:12]}"
    return RawItem(source=source.name, location=location, body=text, kind="text",
                   title=title or None, published=entry.published, key=entry.key,
                   teaser=is_teaser(text, policy.teaser_words or TEASER_WORDS), outlet=entry.outlet)


def _wants_page(policy: FetchConfig, source: SourceConfig, item: RawItem, entry: Entry) -> bool:
    """A ``full_text`` feed's entry, or a teaser (by ``fetch.teaser_words``), with an http(s) link to fetch."""
    wants = source.full_text or (item.teaser if policy.teaser_words else False)
    return wants and bool(entry.link) and is_http_url(entry.link or "")


async def _with_page(fetcher: Fetcher, source: SourceConfig, entry: Entry, base: RawItem) -> RawItem:
    """The item with its linked page as the body (the feed's text its fallback), or ``base`` if none came."""
    assert entry.link is not None
    try:
        page = await fetcher.get(entry.link, {"Accept": "text/html,application/xhtml+xml"}, guard=True)
    except FetchError as exc:
        log.info("full text of %s not fetched, using the feed's text: %s", entry.link, exc.message)
        return base
    if page.status != 200 or not page.body:
        log.info("full text of %s not fetched (HTTP %s), using the feed's text", entry.link, page.status)
        return base
    try:
        html = decode_response(page.body, page.url, page.headers.get("content-type"))
    except ExtractionError as exc:  # let the extractor fail and fall back to the feed's text
        log.info("page %s not decoded: %s", page.url, exc.message)
        html = ""
    return RawItem(source=source.name, location=base.location, body=html, kind="html", title=base.title,
                   published=entry.published, key=entry.key, fallback=base.body or None, teaser=base.teaser,
                   outlet=entry.outlet)


_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?([A-Za-z0-9._:-]{1,40})", re.IGNORECASE)


def _charsets(body: bytes, content_type: str | None) -> tuple[str, ...]:
    """What the document and the server say the charset is: the document first (its author wrote it)."""
    found = []
    for pattern in (_XML_ENCODING, _META_CHARSET):
        match = pattern.search(body[:4096])
        if match:
            found.append(match.group(1).decode("ascii"))
    served = re.search(r"charset=[\"']?([\w.:-]+)", content_type or "", re.IGNORECASE)
    if served:
        found.append(served.group(1))
    return tuple(found)


def decode_response(body: bytes, url: str, content_type: str | None) -> str:
    """A feed's or a page's bytes as text, the charset settled once by ``decode``'s rules.

    Valid UTF-8 is UTF-8, then what the document declares (its author wrote it),
    then what the server declares, then detection: a label that lies is not read as mojibake.

    Raises:
        ExtractionError: binary or undecodable bytes, as a one-line reason.
    """
    return decode(body, url, _charsets(body, content_type))


def _as_utf8(text: str, content_type: str | None) -> tuple[bytes, str | None]:
    """The decoded feed as UTF-8 bytes, its XML declaration and content type saying so (feedparser reads bytes)."""
    text = re.sub(r"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[^\"']*", r"\g<1>utf-8", text.lstrip("\ufeff"), count=1)
    media = (content_type or "").split(";")[0].strip()
    return text.encode("utf-8"), f"{media}; charset=utf-8" if media else None


async def fetch_feeds(sources: Sequence[SourceConfig], states: dict[str, FetchState], policy: FetchConfig,
                      transport: httpx.AsyncBaseTransport | None = None) -> list[SourceOutcome]:
    """Fetch every feed concurrently with one client; outcomes in input order.

    Ends with one log line per host given up on, and one if ``run_budget`` cut page fetches short.
    """
    async with Fetcher(policy, transport) as fetcher:
        outcomes = list(await asyncio.gather(*(
            fetch_feed(fetcher, s, states.get(s.name, FetchState())) for s in sources)))
    fetcher.report()
    return outcomes


def fetch_all(sources: Sequence[SourceConfig], states: dict[str, FetchState], policy: FetchConfig,
              transport: httpx.AsyncBaseTransport | None = None) -> list[SourceOutcome]:
    """Blocking wrapper of ``fetch_feeds``: the event loop runs in a thread of its own.

    The calling (main) thread only waits, so a SIGTERM/SIGINT handler that raises
    (Prefect's does) raises there, cleanly, and never inside the loop's own machinery,
    where it once left a stopped run unable to unwind.
    """
    started = time.monotonic()
    done: list[list[SourceOutcome]] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            done.append(asyncio.run(fetch_feeds(sources, states, policy, transport)))
        except BaseException as exc:  # handed to the caller below
            failed.append(exc)

    worker = threading.Thread(target=work, name="briefing-fetch", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.25)
    if failed:
        raise failed[0]
    log.info("fetched %d feeds in %.1f s", len(sources), time.monotonic() - started)
    return done[0]


class FeedSource:
    """A single feed as a ``Source`` (the flows fetch all feeds together via ``fetch_all``)."""

    def __init__(self, config: SourceConfig, policy: FetchConfig | None = None):
        self.name, self.config, self.policy = config.name, config, policy or FetchConfig()

    def fetch(self, state: FetchState = FetchState()) -> SourceOutcome:
        return fetch_all([self.config], {self.name: state}, self.policy)[0]
