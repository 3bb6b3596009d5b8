"""An RSS/Atom/JSON feed fetched over HTTP(S) with httpx and parsed by feedparser.

First version: one conditional GET per feed, entries become RawItems with the
entry's own title, link and date. Full-text fetching comes later.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timezone

import feedparser
import httpx

from briefing import __version__
from briefing.extract import fragment_to_text
from briefing.sources import FetchState, SourceOutcome
from briefing.types import RawItem

USER_AGENT = f"Briefing/{__version__} (+https://example.invalid/briefing)"
TIMEOUT = httpx.Timeout(20.0, connect=10.0)
MAX_BYTES = 10 * 1024 * 1024


class FeedSource:
    def __init__(self, name: str, url: str):
        self.name, self.url = name, url

    def fetch(self, state: FetchState = FetchState()) -> SourceOutcome:
        headers = {"User-Agent": USER_AGENT}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        try:
            with httpx.Client(timeout=TIMEOUT, follow_redirects=True, max_redirects=5) as client:
                with client.stream("GET", self.url, headers=headers) as response:
                    if response.status_code == 304:
                        return SourceOutcome(self.name, not_modified=True, state=state)
                    if response.status_code >= 400:
                        return SourceOutcome(self.name, error=f"HTTP {response.status_code}", state=state)
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > MAX_BYTES:
                            return SourceOutcome(self.name, error=f"response larger than {MAX_BYTES} bytes",
                                                 state=state)
                    new_state = FetchState(response.headers.get("etag"), response.headers.get("last-modified"))
        except httpx.HTTPError as exc:
            return SourceOutcome(self.name, error=f"{type(exc).__name__}: {exc}", state=state)
        return parse_feed(self.name, self.url, bytes(body), new_state)


def parse_feed(name: str, url: str, body: bytes, state: FetchState) -> SourceOutcome:
    """Feed bytes → RawItems; a feed with no entries and a parse error is a failure."""
    parsed = feedparser.parse(body, response_headers={"content-location": url})
    if not parsed.entries and parsed.get("bozo"):
        return SourceOutcome(name,
                             error=f"not a feed: {parsed.get('bozo_exception')}", state=state)
    items = []
    for entry in parsed.entries:
        content = entry.get("content") or []
        html = content[0].get("value", "") if content else entry.get("summary", "")
        text = fragment_to_text(html or "")
        title = fragment_to_text(entry.get("title", "")) or None
        if not text.strip():
            text = title or ""
        link = entry.get("link") or entry.get("id") or url
        items.append(RawItem(source=name, location=link, body=text, kind="text",
                             title=title, published=_entry_date(entry)))
    return SourceOutcome(name, items=tuple(items), state=state)


def _entry_date(entry: feedparser.FeedParserDict) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
    return None
