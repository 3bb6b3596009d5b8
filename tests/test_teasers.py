"""Every feed entry is an article: a headline with a one-line dek, or a headline alone, is stored,
scored, grouped and shown as what it is (a teaser), never dropped as "page debris"."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import SHARED, TOPIC

from briefing.config import DigestConfig, FetchConfig, SourceConfig
from briefing.dedupe import duplicate_groups
from briefing.digest import Window, build_digest
from briefing.exceptions import ExtractionError
from briefing.extract import fragment_to_text, to_article
from briefing.ingest import extract_outcome
from briefing.relevance import load_topic, score
from briefing.render import render
from briefing.sources.feed import fetch_all, parse_feed
from briefing.store import Store
from briefing.types import RawItem

NOW = datetime(2026, 11, 26, 6, tzinfo=timezone.utc)
FAST = FetchConfig(retries=0, backoff=0, deadline=3, read_timeout=2, connect_timeout=1)

# (guid, title, description): the shapes real feeds use; all written for this test.
ENTRIES = [
    ("d1", "Moscow and Beijing sign Arctic shipping pact",
     "Officials said the agreement would open new routes next summer."),
    ("d2", "Lavrov to visit Beijing for talks with Wang Yi",
     "The foreign ministers will discuss the Shanghai Cooperation Organisation summit"),  # no full stop
    ("d3", "Xi and Putin hold video call on trade", ""),  # headline only
    ("d4", "Russia, China hold joint naval drills", "Russia, China hold joint naval drills"),  # dek = headline
    ("d5", "Chinese yard launches tug for Northern Sea Route",
     "The vessel, built for a Russian operator, left the slipway on Friday. Read more"),
    ("d6", "中俄举行新一轮战略安全磋商",
     "双方就双边关系和共同关心的国际问题交换了意见。\u3000\u3000会谈在北京举行"),
    ("d7", "Rouble steadies as yuan trade grows", "<p>Traders in Moscow said yuan volumes rose.</p>"
     "<p><a href='http://127.0.0.1/x'>Continue reading…</a></p>"),
    ("d8", "Gas talks stall over price", "Share on X"),  # the dek is only a widget: the headline stays
]


def rss(entries: list[tuple[str, str, str]], link_base: str) -> bytes:
    items = "".join(
        f"<item><guid>{guid}</guid><link>{link_base}/{guid}</link><title>{title}</title>"
        f"<pubDate>Tue, 24 Nov 2026 08:30:00 +0300</pubDate>"
        f"<description><![CDATA[{desc}]]></description></item>" for guid, title, desc in entries)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>'
            f'<link>{link_base}/</link>{items}</channel></rss>').encode()


def test_dek_and_headline_only_items_become_teaser_articles() -> None:
    dek = to_article(RawItem("f", "https://n.example/1", "Officials said the talks would resume next week",
                             title="Gas talks", key="id:1", teaser=True), NOW)
    assert dek.text == "Officials said the talks would resume next week" and dek.title == "Gas talks"
    assert dek.teaser
    alone = to_article(RawItem("f", "https://n.example/2", "", title="Xi and Putin talk", key="id:2",
                               teaser=True), NOW)
    assert alone.text == "" and alone.title == "Xi and Putin talk" and alone.teaser
    with pytest.raises(ExtractionError, match="no title and no text"):
        to_article(RawItem("f", "https://n.example/3", "", key="id:3"), NOW)
    # A file with no title of its own is still refused when nothing of it is left.
    with pytest.raises(ExtractionError, match="no body text"):
        to_article(RawItem("files", "/inbox/a.txt", "Share on X\n\nListen Live"), NOW)


def test_a_page_that_fails_keeps_the_dek_and_says_teaser() -> None:
    item = RawItem("f", "https://n.example/1", "<html><body></body></html>", kind="html",
                   title="Moscow and Beijing sign pact", key="id:1",
                   fallback="Officials said the pact opens routes.", teaser=True)
    article = to_article(item, NOW)
    assert article.text == "Officials said the pact opens routes." and article.teaser
    paywall = RawItem("f", "https://n.example/2", "<html><body><article><p>Subscribe to continue.</p>"
                      "</article></body></html>", kind="html", title="Moscow and Beijing sign pact", key="id:2",
                      fallback="Officials said the pact opens new Arctic routes for both navies.", teaser=True)
    article = to_article(paywall, NOW)
    assert article.text == "Officials said the pact opens new Arctic routes for both navies." and article.teaser
    full = RawItem("f", "https://n.example/3", "<html><body><article><p>" + "Officials in Moscow said. " * 30
                   + "</p></article></body></html>", kind="html", title="Pact", key="id:3",
                   fallback="Officials said.", teaser=True)
    assert not to_article(full, NOW).teaser


def test_every_feed_entry_is_stored_and_a_rerun_adds_nothing(httpserver, tmp_path: Path) -> None:
    """Dek-only and title-only entries; their links lead nowhere public (refused), so each keeps its own text."""
    body = rss(ENTRIES, httpserver.url_for("/story"))
    httpserver.expect_request("/feed.xml").respond_with_data(
        body, content_type="application/rss+xml", headers={"ETag": '"v1"'})
    source = SourceConfig(name="wire", feed=httpserver.url_for("/feed.xml"))
    store = Store.open_dir(tmp_path)
    try:
        [outcome] = fetch_all([source], {}, FAST)
        assert outcome.error is None and len(outcome.items) == len(ENTRIES)
        extracted = extract_outcome(outcome, NOW)
        assert extracted.skipped == ()
        added, _ = store.upsert_articles(extracted.articles)
        assert len(added) == len(ENTRIES)
        by_title = {a.title: a for a in store.articles_seen_between(NOW - timedelta(days=1), NOW + timedelta(1))}
        assert set(by_title) == {title for _, title, _ in ENTRIES}
        assert all(a.teaser for a in by_title.values())
        assert by_title["Lavrov to visit Beijing for talks with Wang Yi"].text.startswith("The foreign ministers")
        assert by_title["Xi and Putin hold video call on trade"].text == ""
        assert by_title["Russia, China hold joint naval drills"].text == ""
        assert by_title["中俄举行新一轮战略安全磋商"].text.startswith("双方就双边关系")
        assert by_title["Rouble steadies as yuan trade grows"].text.startswith("Traders in Moscow")
        assert by_title["Gas talks stall over price"].text == ""

        store.record_fetch(_health(), NOW, outcome.state)
        httpserver.clear()
        httpserver.expect_request("/feed.xml", headers={"If-None-Match": '"v1"'}).respond_with_data("", status=304)
        [again] = fetch_all([source], {"wire": store.fetch_state("wire")}, FAST)
        assert again.not_modified and again.items == ()
        assert store.count_articles() == len(ENTRIES)
    finally:
        store.close()


def _health():
    from briefing.types import SourceHealth
    return SourceHealth("wire", "ok", items=len(ENTRIES), new=len(ENTRIES))


def test_headlines_are_scored_grouped_apart_and_shown_honestly() -> None:
    topic = load_topic(TOPIC)
    raw = [RawItem(f"outlet{i}", f"https://o{i}.example/{i}", desc, title=title, key=f"id:{guid}",
                   teaser=True, published=NOW - timedelta(hours=2))
           for i, (guid, title, desc) in enumerate(ENTRIES[:4])]
    articles = [to_article(r, NOW - timedelta(hours=1)) for r in raw]
    assert score(articles[2].title, articles[2].text, topic).relevant  # "Xi and Putin … call": the title alone
    # Two different headline-only entries are two texts, not one empty text.
    assert all(len(g) == 1 for g in duplicate_groups(articles))
    digest = build_digest(articles, topic, DigestConfig(), Window(NOW - timedelta(days=1), NOW), NOW)
    lone = next(s for s in digest.stories if s.lead.title == "Xi and Putin hold video call on trade")
    assert lone.teaser and not lone.summary
    html, text = (r := render(digest, 15)).html, r.text
    assert "The feed gave only the headline" in html and "https://o2.example/2" in html
    assert "The feed gave only the headline" in text
    dek = next(s for s in digest.stories if s.lead.title.startswith("Moscow and Beijing sign"))
    assert [s.text for s in dek.summary] == ["Officials said the agreement would open new routes next summer."]
    assert "headline and summary only" in html
    assert "Officials said the agreement would open new routes next summer." in text


FEEDS = SHARED / "data" / "feeds"


def test_real_feed_entries_are_all_kept() -> None:
    """Every entry of the third-party real-world feeds that has a title or any text becomes an article."""
    assert FEEDS.is_dir(), f"shared feeds missing at {FEEDS}"
    entries = kept = 0
    lost: list[str] = []
    for folder in ("rss-parser-fixtures/input", "feed-rs-fixtures", "kagi-fastfeedparser-integration"):
        for path in sorted((FEEDS / folder).rglob("*")):
            if path.suffix not in (".xml", ".rss", ".atom") or not path.is_file():
                continue
            try:
                parsed = parse_feed(path.read_bytes(), "https://feed.example/")
            except ValueError:
                continue
            for entry in {e.key: e for e in parsed}.values():
                text = fragment_to_text(entry.html)
                title = fragment_to_text(entry.title).strip() if entry.title else None
                if not (text.strip() or title):
                    continue
                entries += 1
                try:
                    to_article(RawItem("f", entry.link or path.name, text, title=title, key=entry.key), NOW)
                    kept += 1
                except ExtractionError as exc:
                    lost.append(f"{path.name}: {entry.title!r}: {exc.message}")
    assert entries > 400
    assert not lost, lost[:10]



def test_real_feeds_over_http_store_every_entry_and_rerun_adds_nothing(httpserver, tmp_path: Path) -> None:
    """The third-party real-world feeds served byte for byte with an ETag: every unique entry that has a
    title or any text is stored; the second run is all 304s and adds nothing."""
    from werkzeug import Request, Response

    assert FEEDS.is_dir(), f"shared feeds missing at {FEEDS}"
    files = [p for folder in ("rss-parser-fixtures/input", "feed-rs-fixtures", "kagi-fastfeedparser-integration")
             for p in sorted((FEEDS / folder).rglob("*")) if p.is_file() and p.suffix in (".xml", ".rss", ".atom")]
    by_path = {f"/f{i}.xml": p for i, p in enumerate(files)}

    def handler(request: Request) -> Response:
        path = by_path[request.path]
        etag = '"' + str(path.stat().st_size) + '"'
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304)
        return Response(path.read_bytes(), content_type="application/xml", headers={"ETag": etag})

    for url_path in by_path:
        httpserver.expect_request(url_path).respond_with_handler(handler)
    sources = [SourceConfig(name=f"feed{i}", feed=httpserver.url_for(u)) for i, u in enumerate(by_path)]
    # Generous timeouts: this test is about every entry being stored, not about deadlines; on a loaded machine
    # (two test workers) tight ones dropped the loopback host as unreachable midway.
    policy = FetchConfig(retries=0, backoff=0, deadline=60, read_timeout=30, connect_timeout=10, teaser_words=0,
                         concurrency=32, per_host=32, host_failures=50)
    expected = 0
    for path in files:
        try:
            entries = {e.key: e for e in parse_feed(path.read_bytes(), "https://feed.example/")}.values()
        except ValueError:
            continue
        expected += sum(bool(fragment_to_text(e.html).strip() or (e.title and fragment_to_text(e.title).strip()))
                        for e in entries)
    store = Store.open_dir(tmp_path)
    try:
        outcomes = fetch_all(sources, {}, policy)
        stored = 0
        for source, outcome in zip(sources, outcomes, strict=True):
            if not outcome.ok:
                continue
            extracted = extract_outcome(outcome, NOW)
            assert all("no title and no text" in reason for _, reason in extracted.skipped), extracted.skipped
            added, _ = store.upsert_articles(extracted.articles)
            stored += len(added)
            store.record_fetch(_health_of(source.name), NOW, outcome.state)
        assert expected > 400 and stored == expected == store.count_articles()
        again = fetch_all(sources, {s.name: store.fetch_state(s.name) for s in sources}, policy)
        assert all(o.not_modified for o, first in zip(again, outcomes, strict=True) if first.ok)
        assert store.count_articles() == expected
    finally:
        store.close()


def _health_of(name: str):
    from briefing.types import SourceHealth
    return SourceHealth(name, "ok")
