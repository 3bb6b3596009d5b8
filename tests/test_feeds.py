"""Feeds over real HTTP on loopback: conditional GET, retries, timeouts, identity, full text, limits."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from conftest import TOPIC
from werkzeug import Request, Response

from briefing.config import FetchConfig, SourceConfig
from briefing.extract import to_article
from briefing.sources.feed import fetch_all, is_teaser, parse_feed, word_count
from briefing.store import Store

NOW = datetime(2026, 11, 26, 6, tzinfo=timezone.utc)
FAST = FetchConfig(retries=2, backoff=0, deadline=3, read_timeout=2, connect_timeout=1, teaser_words=0)
BODY = ("Russian and Chinese negotiators met in Beijing on Monday to discuss gas supplies through the "
        "Power of Siberia 2 pipeline. Officials said the talks would continue next week in Moscow, "
        "and both sides described the meeting as constructive and businesslike.")


def rss(*items: tuple[str | None, str, str, str]) -> bytes:
    """An RSS 2.0 feed; items are (guid, link, title, description)."""
    parts = []
    for guid, link, title, desc in items:
        g = f"<guid>{guid}</guid>" if guid else ""
        parts.append(f"<item>{g}<link>{link}</link><title>{title}</title>"
                     f"<pubDate>Tue, 24 Nov 2026 08:30:00 +0300</pubDate><description>{desc}</description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
            f'<link>http://x/</link>{"".join(parts)}</channel></rss>').encode()


def feed(httpserver, path: str = "/feed.xml", **kw) -> SourceConfig:
    return SourceConfig(name=kw.pop("name", "feed"), feed=httpserver.url_for(path), **kw)


def test_items_have_titles_links_and_utc_dates(httpserver) -> None:
    """An RSS feed over HTTP gives items with title, link, key and an aware UTC date."""
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(("g1", "https://news.example/a?utm_source=rss", "Gas talks resume", BODY)),
        content_type="application/rss+xml")
    [outcome] = fetch_all([feed(httpserver)], {}, FAST)
    assert outcome.error is None
    [item] = outcome.items
    assert item.title == "Gas talks resume" and item.location == "https://news.example/a?utm_source=rss"
    assert item.published == datetime(2026, 11, 24, 5, 30, tzinfo=timezone.utc)
    assert item.key == "id:g1"


def test_second_fetch_is_conditional_and_adds_nothing(httpserver, tmp_path: Path) -> None:
    """The stored ETag/Last-Modified go back; a 304 means no parsing and no new articles."""
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(rss(("g1", "https://news.example/a", "Gas talks", BODY)), status=200,
                        headers={"ETag": '"v1"', "Last-Modified": "Tue, 24 Nov 2026 08:00:00 GMT"},
                        content_type="application/rss+xml")

    httpserver.expect_request("/feed.xml").respond_with_handler(handler)
    source = feed(httpserver)
    store = Store.open_dir(tmp_path)
    from briefing.ingest import extract_outcome, source_health
    for expected_new in (1, 0):
        [outcome] = fetch_all([source], {source.name: store.fetch_state(source.name)}, FAST)
        extracted = extract_outcome(outcome, NOW)
        new = store.add_articles(extracted.articles)
        store.record_fetch(source_health(outcome, extracted, len(new)), NOW, outcome.state)
        assert len(new) == expected_new
    assert outcome.not_modified and outcome.items == ()
    assert seen[1]["If-None-Match"] == '"v1"'
    assert seen[1]["If-Modified-Since"] == "Tue, 24 Nov 2026 08:00:00 GMT"
    assert seen[0]["User-Agent"].startswith("Briefing/")
    assert store.fetch_state(source.name).etag == '"v1"', "a 304 keeps the validators"
    store.close()


def test_500_then_200_succeeds_on_retry(httpserver) -> None:
    """Server errors are retried with backoff, and the retry's answer is used."""
    httpserver.expect_ordered_request("/feed.xml").respond_with_data("boom", status=500)
    httpserver.expect_ordered_request("/feed.xml").respond_with_data("boom", status=503)
    httpserver.expect_ordered_request("/feed.xml").respond_with_data(
        rss(("g1", "https://news.example/a", "Gas talks", BODY)), content_type="application/rss+xml")
    [outcome] = fetch_all([feed(httpserver)], {}, FAST)
    assert outcome.error is None and len(outcome.items) == 1


def test_client_errors_are_not_retried(httpserver) -> None:
    """A 404 fails at once with a one-line reason; no second request."""
    httpserver.expect_oneshot_request("/feed.xml").respond_with_data("no", status=404)
    [outcome] = fetch_all([feed(httpserver)], {}, FAST)
    assert outcome.error == "HTTP 404 Not Found"
    assert len(httpserver.log) == 1


def test_retry_after_is_honoured_and_bounded(httpserver) -> None:
    """429 with Retry-After: waits and retries; a Retry-After beyond the limit fails this run."""
    calls: list[float] = []

    def limited(request: Request) -> Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return Response(rss(("g1", "https://news.example/a", "Gas talks", BODY)), content_type="application/rss+xml")

    httpserver.expect_request("/a.xml").respond_with_handler(limited)
    httpserver.expect_request("/b.xml").respond_with_data("later", status=503, headers={"Retry-After": "3600"})
    started = time.monotonic()
    a, b = fetch_all([feed(httpserver, "/a.xml", name="a"), feed(httpserver, "/b.xml", name="b")], {},
                     FAST.model_copy(update={"max_retry_after": 60}))
    assert a.error is None and len(a.items) == 1
    assert len(calls) == 2 and calls[1] - calls[0] >= 1 and calls[0] >= started, "waited as asked"
    assert b.error is not None and "retry after 3600 s" in b.error


class _BadServer:
    """A loopback server that accepts and then never answers (hang) or answers one byte at a time."""

    def __init__(self, mode: str):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.mode, self.port, self.stop = mode, self.sock.getsockname()[1], threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conns = []
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conns.append(conn)
            if self.mode == "trickle":
                threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()
        for c in conns:
            c.close()

    def _trickle(self, conn: socket.socket) -> None:
        try:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n")
            while not self.stop.is_set():
                conn.sendall(b" ")
                time.sleep(0.2)
        except OSError:
            pass


@pytest.mark.parametrize("mode", ["hang", "trickle"])
def test_hanging_or_trickling_server_times_out_without_stalling(httpserver, mode: str) -> None:
    """A server that never finishes costs one deadline, and the other feeds still arrive."""
    bad = _BadServer(mode)
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(("g1", "https://news.example/a", "Gas talks", BODY)), content_type="application/rss+xml")
    policy = FAST.model_copy(update={"retries": 0, "deadline": 1.5, "read_timeout": 1})
    try:
        slow, good = fetch_all([SourceConfig(name="bad", feed=f"http://127.0.0.1:{bad.port}/f"),
                                feed(httpserver)], {}, policy)
    finally:
        bad.stop.set()
    assert slow.error is not None and ("timed out" in slow.error or "no complete response" in slow.error)
    assert good.error is None and len(good.items) == 1


def test_size_cap_and_redirect_loop_fail_cleanly(httpserver) -> None:
    """A body over the cap and a redirect loop each give a one-line reason."""
    httpserver.expect_request("/big.xml").respond_with_data(b"<rss>" + b" " * 50_000 + b"</rss>")
    httpserver.expect_request("/loop.xml").respond_with_data("", status=302, headers={"Location": "/loop.xml"})
    big, loop = fetch_all([feed(httpserver, "/big.xml", name="big"), feed(httpserver, "/loop.xml", name="loop")],
                          {}, FAST.model_copy(update={"max_bytes": 10_000}))
    assert big.error is not None and "cap" in big.error
    assert loop.error is not None and "redirects" in loop.error


def test_not_a_feed_is_a_reason_not_a_crash(httpserver) -> None:
    """An HTML page or garbage at a feed URL fails with 'not a feed'."""
    httpserver.expect_request("/page").respond_with_data("<html><body><p>Hello</p></body></html>",
                                                         content_type="text/html")
    [outcome] = fetch_all([feed(httpserver, "/page")], {}, FAST)
    assert outcome.error is not None and outcome.error.startswith("not a feed")


def test_identity_guid_else_canonical_link_and_edits_update(tmp_path: Path) -> None:
    """No GUID: the canonical link is the key; the same key with an edited body updates the article."""
    v1 = parse_feed(rss((None, "HTTP://News.Example:80/a?utm_medium=x&id=7#top", "Gas talks", BODY)), "http://f/")
    v2 = parse_feed(rss((None, "https://news.example/a?id=7", "Gas talks (updated)", BODY + " More text.")),
                    "http://f/")
    assert v1[0].key == v2[0].key == "url:https://news.example/a?id=7"
    from briefing.types import RawItem
    a1, a2 = (to_article(RawItem("feed", e.link or "", BODY if i == 0 else BODY + " More text.", "text",
                                 e.title, e.published, e.key), NOW) for i, e in enumerate(v1 + v2))
    assert a1.id == a2.id and a1.content_hash != a2.content_hash
    store = Store.open_dir(tmp_path)
    assert store.upsert_articles([a1]) == ([a1], [])
    assert store.upsert_articles([a2]) == ([], [a2])
    [stored] = store.articles_seen_between(NOW, NOW.replace(year=2027))
    assert stored.title == "Gas talks (updated)" and stored.text.endswith("More text.")
    store.close()


PAGE = ("<html><head><title>Full story</title></head><body><nav>Home | World | Sport</nav><article>"
        "<h1>Gas talks resume in Beijing</h1>"
        + "".join(f"<p>{BODY} Paragraph {i} adds detail about volumes, prices and routes.</p>" for i in range(6))
        + "</article><footer>Cookie notice: we use cookies.</footer></body></html>")


def test_teasers_get_the_linked_page_and_fall_back_to_feed_text(httpserver) -> None:
    """A teaser's page is fetched and extracted; refused or broken pages leave the feed text."""
    link_ok, link_broken = httpserver.url_for("/story"), httpserver.url_for("/broken")
    httpserver.expect_request("/story").respond_with_data(PAGE, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/broken").respond_with_data("<html><body></body></html>", content_type="text/html")
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(("g1", link_ok, "Gas talks", "Negotiators met in Beijing …"),
            ("g2", link_broken, "Other talks", "Officials met in Moscow to talk trade …")),
        content_type="application/rss+xml")
    teasers = FAST.model_copy(update={"teaser_words": 120})

    [refused] = fetch_all([feed(httpserver)], {}, teasers)  # loopback links are private: refused
    assert [i.kind for i in refused.items] == ["text", "text"]

    [allowed] = fetch_all([feed(httpserver)], {}, teasers.model_copy(update={"allow_private_hosts": True}))
    full, broken = (to_article(i, NOW) for i in allowed.items)
    assert "Paragraph 5 adds detail" in full.text and "Cookie notice" not in full.text
    assert broken.text == "Officials met in Moscow to talk trade …"


def test_full_text_links_only_http(httpserver) -> None:
    """file:, javascript: and data: links in a full_text feed are never followed."""
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(("g1", "file:///etc/passwd", "A", BODY), ("g2", "javascript:alert(1)", "B", BODY)),
        content_type="application/rss+xml")
    [outcome] = fetch_all([feed(httpserver, full_text=True)], {},
                          FAST.model_copy(update={"allow_private_hosts": True}))
    assert outcome.error is None and [i.kind for i in outcome.items] == ["text", "text"]
    assert len(httpserver.log) == 1


@pytest.mark.usefixtures("prefect_server")
def test_ingest_flow_with_feeds_reports_health_and_suspends(httpserver, tmp_path: Path) -> None:
    """Through the flow: second run is all 304; a feed failing repeatedly is suspended, not hammered."""
    from flows.ingest import ingest_flow

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(rss(("g1", "https://news.example/a", "Russia and China hold gas talks", BODY)),
                        headers={"ETag": '"v1"'}, content_type="application/rss+xml")

    httpserver.expect_request("/feed.xml").respond_with_handler(handler)
    httpserver.expect_request("/dead.xml").respond_with_data("gone", status=410)
    config = {"state_dir": "state", "archive_dir": "archive", "topic": str(TOPIC),
              "fetch": {"retries": 0, "max_failures": 2, "suspend_hours": 1, "teaser_words": 0},
              "sources": [{"name": "good", "feed": httpserver.url_for("/feed.xml")},
                          {"name": "dead", "feed": httpserver.url_for("/dead.xml")}]}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    runs = [{h.source: h for h in ingest_flow(str(path))} for _ in range(3)]
    assert (runs[0]["good"].status, runs[0]["good"].new) == ("ok", 1)
    assert runs[1]["good"].status == runs[2]["good"].status == "not-modified"
    assert runs[0]["dead"].error == runs[1]["dead"].error == "HTTP 410 Gone"
    assert runs[2]["dead"].status == "failed" and "suspended after 2 failures" in (runs[2]["dead"].error or "")
    assert sum(1 for req, _ in httpserver.log if req.path == "/dead.xml") == 2


LONG = " ".join(["The delegation discussed pipeline tariffs at length."] * 30)  # 210 words: long enough


@pytest.mark.parametrize(("tail", "teaser"), [
    ("", False),
    (" The talks ended.", False),
    (" The talks ended…", True),
    (" The talks ended ...", True),
    (" Read more", True),
    (" READ MORE »", True),
    (" Continue reading.", True),
    (" continue reading →  ", True),  # a marker, then a run of punctuation and spaces
    (" [...]", True),
    (" more»", True),
    (" Read more" + " »" * 30, True),  # a long non-word run after the marker
    (" Read moreover", False),  # the marker must end the text's words
    (" Readers want more", False),
    (" 继续阅读…", True),
    (" …and then the talks resumed", False),
])
def test_teaser_tail(tail: str, teaser: bool) -> None:
    """An entry that trails off is a teaser however long it is; a marker inside the text is not."""
    assert is_teaser(LONG + tail, 120) is teaser
    assert is_teaser(LONG + tail, 0) is False  # teaser detection off


def test_word_count_ascii_and_cjk() -> None:
    assert word_count("Gas talks resume in Beijing.") == 5
    assert word_count("中俄天然气谈判 resumed") == 1 + round(7 / 1.5)
