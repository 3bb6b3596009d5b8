"""Feed ingestion against third-party fixture feeds, fetched over real HTTP on loopback.

The fixtures live in ``../shared/data/feeds`` (read-only, never copied here):
expected parses from three other feed parsers (rss-parser, feed-rs,
fastfeedparser), feedparser's own ~2,100 test feeds, and its sanitizer tests.
Every file is served byte for byte by ``pytest_httpserver`` and fetched with
``fetch_all``, so encodings go through the same path as in production.

No linked page is fetched (there is no internet here): ``teaser_words=0``
turns teaser detection off, so every entry keeps its feed text.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import pytest
from conftest import SHARED
from dateutil import parser as dateparser
from werkzeug import Request, Response

from briefing.config import DigestConfig, FetchConfig, SourceConfig
from briefing.digest import Window, build_digest
from briefing.exceptions import ExtractionError
from briefing.extract import to_article
from briefing.relevance import TopicModel, build_topic
from briefing.render import render
from briefing.sources import SourceOutcome
from briefing.sources.feed import fetch_all

FEEDS = SHARED / "data" / "feeds"
if not FEEDS.is_dir():
    pytest.fail(f"shared feed fixtures not found at {FEEDS} (CI always has ../shared)", pytrace=False)

RSS_PARSER = FEEDS / "rss-parser-fixtures"
FEED_RS = FEEDS / "feed-rs-fixtures"
KAGI = FEEDS / "kagi-fastfeedparser-integration"
FEEDPARSER = FEEDS / "feedparser-tests"

POLICY = FetchConfig(retries=0, backoff=0, deadline=5, read_timeout=3, connect_timeout=2,
                     teaser_words=0, concurrency=64, per_host=64)
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
BATCH = 200


# --- serving and fetching ---------------------------------------------------------

def content_type_for(path: Path) -> str:
    return "application/feed+json" if path.suffix == ".json" else "application/xml"


def fetch_one(httpserver, path: Path, url_path: str) -> tuple[str, SourceOutcome]:
    """Serve ``path``'s raw bytes at ``url_path`` and fetch it; returns (feed URL, outcome)."""
    httpserver.expect_request(url_path).respond_with_data(path.read_bytes(), content_type=content_type_for(path))
    url = httpserver.url_for(url_path)
    [outcome] = fetch_all([SourceConfig(name="fixture", feed=url)], {}, POLICY)
    return url, outcome


def serve_tree(httpserver, root: Path, prefix: str) -> None:
    """Serve every file under ``root`` at ``/<prefix>/<relative path>`` (one handler, looked up by path)."""
    def handler(request: Request) -> Response:
        relative = request.path[len(prefix) + 2:]
        target = (root / relative).resolve()
        if root.resolve() not in target.parents or not target.is_file():
            return Response("no such fixture", status=404)
        return Response(target.read_bytes(), status=200, content_type="application/xml")

    httpserver.expect_request(re.compile(rf"^/{re.escape(prefix)}/")).respond_with_handler(handler)


def fetch_tree(httpserver, files: list[Path], root: Path, prefix: str) -> list[SourceOutcome]:
    """Fetch every file (served by ``serve_tree``) in batches of ``BATCH`` sources per ``fetch_all`` call."""
    outcomes: list[SourceOutcome] = []
    for start in range(0, len(files), BATCH):
        batch = files[start:start + BATCH]
        sources = [SourceConfig(name=f"f{start + i}",
                                feed=httpserver.url_for(f"/{prefix}/" + quote(p.relative_to(root).as_posix())))
                   for i, p in enumerate(batch)]
        got = fetch_all(sources, {}, POLICY)
        assert [o.source for o in got] == [s.name for s in sources]
        outcomes += got
    return outcomes


# --- normalising expected and actual values ------------------------------------------

@dataclass(frozen=True)
class Expected:
    title: str | None
    link: str | None
    when: datetime | None  # None: the reference gives no date, compare title and link only
    ident: str | None = None  # the entry's id/guid, where an entry without a link may be located


def norm_space(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def norm_title(text: str | None) -> str:
    """A reference title as plain text: tags stripped, entities unescaped, whitespace collapsed."""
    return norm_space(html.unescape(re.sub(r"<[^>]*>", "", text or "")))


def utc_instant(value: str | None) -> datetime | None:
    """An ISO 8601 / RFC 822 date → aware UTC, to the second (our dates come from struct_time)."""
    if not value or not value.strip():
        return None
    when = dateparser.parse(value.strip())
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).replace(microsecond=0)


_ZONE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|\b(?:GMT|UTC?|[ECMP][SD]T|[A-IK-Z]))\s*$", re.I)


def has_zone(raw: str) -> bool:
    return bool(_ZONE.search(raw.strip()))


def norm_url(url: str) -> str:
    """Equivalent spellings of one URL made equal: scheme and host lower-cased, "" path as "/" (RFC 3986 6.2.3).

    feed-rs prints URLs through Rust's ``url`` crate, which normalises like this.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, parts.fragment))


def expected_links(e: Expected, feed_url: str) -> set[str]:
    """Where our item for ``e`` may be located.

    A relative expected link is resolved against the feed URL. An entry with
    no link is located at its feed (with a per-entry ``#entry-…`` anchor, see
    ``link_of``), or at its id: feedparser (and so we) use
    an RSS 2.0 guid as the link (it is a permalink unless isPermaLink="false")
    and likewise an Atom id, which the other parsers never do.
    """
    if e.link:
        return {norm_url(urljoin(feed_url, e.link))}
    return {norm_url(feed_url)} | ({norm_url(urljoin(feed_url, e.ident))} if e.ident else set())


def link_of(location: str) -> str:
    """Our location without the ``#entry-<hash>`` anchor we give link-less entries in their feed."""
    return norm_url(re.sub(r"#entry-[0-9a-f]{12}$", "", location))


def same_text(ours: str, expected: str) -> bool:
    """Equal, where U+FFFD in ``expected`` stands for any one character.

    rss-parser decoded an undeclared ISO-8859-1 feed as UTF-8, so each
    non-ASCII byte became U+FFFD in its expected output; we decode it properly.
    """
    if "\ufffd" not in expected:
        return ours == expected
    pattern = "".join("." if c == "\ufffd" else re.escape(c) for c in expected)
    return re.fullmatch(pattern, ours, re.S) is not None


def compare(outcome: SourceOutcome, feed_url: str, expected: list[Expected]) -> None:
    """Our items match the expected entries in order: title, link, and date as a UTC instant.

    Our titles must already be plain text (only whitespace is normalised);
    the reference's are stripped of tags and unescaped. Links: see
    ``expected_links``. Dates are compared only where the reference has one.
    """
    assert outcome.error is None, outcome.error
    ours = [(norm_space(i.title), link_of(i.location), i.published) for i in outcome.items]
    want = [(norm_title(e.title), expected_links(e, feed_url), e.when) for e in expected]
    assert len(ours) == len(want), f"{len(ours)} items, expected {len(want)}: {[o[0] for o in ours]}"
    problems = []
    for n, ((title, link, when), (w_title, w_links, w_when)) in enumerate(zip(ours, want, strict=True)):
        if not same_text(title, w_title):
            problems.append(f"#{n} title {title!r} != {w_title!r}")
        if link not in w_links:
            problems.append(f"#{n} link {link!r} not in {sorted(w_links)}")
        if w_when is not None and when != w_when:
            problems.append(f"#{n} date {when} != {w_when}")
    assert not problems, "\n".join(problems)


# --- spotting active markup in rendered HTML ----------------------------------------------

UNSAFE_TAGS = re.compile(r"<(?:script|iframe|object|embed)\b", re.I)
EVENT_HANDLER = re.compile(r"<[^>]*\son\w+\s*=", re.I)
URL_ATTRIBUTE = re.compile(r"""\b(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)


def unsafe_markup(page: str) -> list[str]:
    """Each active construct in ``page`` (a tag, an on* handler, a javascript: URL), with context."""
    def at(start: int, end: int) -> str:
        return repr(page[max(0, start - 60):end + 60])

    found = [f"tag {at(m.start(), m.end())}" for m in UNSAFE_TAGS.finditer(page)]
    found += [f"event handler {at(m.start(), m.end())}" for m in EVENT_HANDLER.finditer(page)]
    for m in URL_ATTRIBUTE.finditer(page):
        value = html.unescape(next(g for g in m.groups() if g is not None))
        if "javascript:" in re.sub(r"[\x00-\x20]", "", value).lower():  # browsers skip these characters
            found.append(f"javascript: URL {at(m.start(), m.end())}")
    return found


# --- reading the three expected formats ----------------------------------------------

def read_json(path: Path, fallback_encoding: str = "latin-1") -> dict:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:  # rss-parser's encoding.json is stored in the feed's own ISO-8859-1
        text = data.decode(fallback_encoding)
    return json.loads(text)


def xml_encoding(path: Path) -> str:
    match = re.match(rb"<\?xml[^>]*encoding=[\"']([\w.-]+)", path.read_bytes().lstrip())
    return match.group(1).decode() if match else "latin-1"


def rss_parser_expected(feed: Path, out: Path) -> list[Expected]:
    """rss-parser output: ``feed.items[]`` with ``title``, ``link``, ``isoDate`` (and the raw date).

    ``isoDate`` is absent when rss-parser could not read the date: compare title/link only.
    A raw date without a zone was read by rss-parser in its machine's local zone
    (UTC+8 for the qq.com feed); we read zoneless dates as UTC, so the expected
    instant is the raw wall-clock time in UTC.
    """
    items = read_json(out, xml_encoding(feed))["feed"].get("items", [])
    expected = []
    for item in items:
        raw = next((item[k] for k in ("pubDate", "published", "updated", "date", "dc:date")
                    if isinstance(item.get(k), str) and item[k].strip()), None)
        when = utc_instant(item.get("isoDate"))
        if when is not None and raw is not None and not has_zone(raw):
            when = utc_instant(raw)
        ident = item.get("id") if isinstance(item.get("id"), str) else None
        expected.append(Expected(item.get("title"), item.get("link"), when, ident))
    return expected


def feed_rs_link(links: list[dict]) -> str | None:
    """feed-rs lists every link; the entry's link is the first alternate (or rel-less) one."""
    for link in links:
        if link.get("rel") in (None, "", "alternate"):
            return link.get("href")
    return links[0].get("href") if links else None


def feed_rs_expected(out: Path) -> list[Expected]:
    """feed-rs serde output: ``entries[]`` with ``title.content``, ``links[].href``, ``published``/``updated``."""
    expected = []
    for entry in json.loads(out.read_text(encoding="utf-8"))["entries"]:
        title = (entry.get("title") or {}).get("content")
        when = utc_instant(entry.get("published") or entry.get("updated"))
        expected.append(Expected(title, feed_rs_link(entry.get("links") or []), when, entry.get("id")))
    return expected


def kagi_expected(out: Path) -> list[Expected]:
    """fastfeedparser output (feedparser-like): ``entries[]`` with ``title``, ``link``, ``published``/``updated``."""
    return [Expected(e.get("title"), e.get("link"), utc_instant(e.get("published") or e.get("updated")),
                     e.get("id"))
            for e in json.loads(out.read_text(encoding="utf-8"))["entries"]]


# --- collecting cases --------------------------------------------------------------------

# Cases where the reference parser departs from the spec in a way we should not copy
# (skipped), and cases that expose a bug or limitation of ours (strict xfail); keyed by
# the fixture's path under the feeds folder.
SKIP: dict[str, str] = {
    "kagi-fastfeedparser-integration/malformed_rss_namespaced.xml":
        "not well-formed XML (a broken '<?xml?xml … ??>' declaration, an undeclared 'rss:' prefix); "
        "XML makes that a fatal error and we report it in one line, fastfeedparser recovers beyond the spec",
}
XFAIL: dict[str, str] = {}


def _case(feed: Path, expected: Path, case_id: str) -> object:
    key = feed.relative_to(FEEDS).as_posix()
    marks = ()
    if key in SKIP:
        marks = (pytest.mark.skip(reason=SKIP[key]),)
    elif key in XFAIL:
        marks = (pytest.mark.xfail(strict=True, reason=XFAIL[key]),)
    return pytest.param(feed, expected, id=case_id, marks=marks)


def _found(cases: list, where: Path) -> list:
    """The cases, else a failure: parametrized with none, pytest would skip the test without a word."""
    if not cases:
        pytest.fail(f"no fixture feeds with expected output under {where} (CI always has ../shared)", pytrace=False)
    return cases


def rss_parser_cases() -> list:
    return _found([_case(f, RSS_PARSER / "output" / f"{f.stem}.json", f.name)
                   for f in sorted((RSS_PARSER / "input").iterdir())
                   if (RSS_PARSER / "output" / f"{f.stem}.json").is_file()], RSS_PARSER)


def feed_rs_cases() -> list:
    cases = []
    for f in sorted(FEED_RS.glob("*/*")):
        if f.name.endswith(".serde.json") or f.suffix not in (".xml", ".json"):
            continue
        out = f.with_name(f.stem + ".serde.json")
        if out.is_file():
            cases.append(_case(f, out, f"{f.parent.name}/{f.name}"))
    return _found(cases, FEED_RS)


def kagi_cases() -> list:
    cases = []
    for f in sorted(KAGI.iterdir()):
        if f.name.endswith(".expected.json") or f.suffix not in (".xml", ".json"):
            continue
        out = f.with_name(f.stem + ".expected.json")
        if not out.is_file() and f.suffix == ".xml":
            out = f.with_suffix(".json")
        if out.is_file():
            cases.append(_case(f, out, f.name))
    return _found(cases, KAGI)


# --- tests: field extraction against other parsers ---------------------------------------

@pytest.mark.parametrize(("feed", "out"), rss_parser_cases())
def test_rss_parser_fixtures(httpserver, feed: Path, out: Path) -> None:
    """Titles, links and dates of rss-parser's real feeds (Guardian, GB2312, ISO-8859-2 …) match its output."""
    url, outcome = fetch_one(httpserver, feed, f"/rss-parser/{feed.name}")
    compare(outcome, url, rss_parser_expected(feed, out))


@pytest.mark.parametrize(("feed", "out"), feed_rs_cases())
def test_feed_rs_fixtures(httpserver, feed: Path, out: Path) -> None:
    """Titles, links and dates of feed-rs's RSS 0.9x/1.0/2.0, Atom and JSON Feed fixtures match its output."""
    url, outcome = fetch_one(httpserver, feed, f"/feed-rs/{feed.parent.name}/{feed.name}")
    compare(outcome, url, feed_rs_expected(out))


@pytest.mark.parametrize(("feed", "out"), kagi_cases())
def test_kagi_fixtures(httpserver, feed: Path, out: Path) -> None:
    """Titles, links and dates of fastfeedparser's edge cases (malformed namespaces, UTF-16 …) match its output."""
    url, outcome = fetch_one(httpserver, feed, f"/kagi/{feed.name}")
    compare(outcome, url, kagi_expected(out))


# --- tests: robustness and sanitising -----------------------------------------------------

def test_feedparser_corpus_never_raises(httpserver) -> None:
    """All ~2,100 feedparser test feeds: fetch_all never raises, each outcome is ok or has a one-line reason."""
    files = sorted(p for p in FEEDPARSER.rglob("*") if p.is_file() and not p.name.startswith("LICENSE"))
    assert len(files) > 2000
    serve_tree(httpserver, FEEDPARSER, "fp")
    outcomes = fetch_tree(httpserver, files, FEEDPARSER, "fp")
    assert len(outcomes) == len(files)
    bad = []
    failed: Counter[str] = Counter()
    for path, outcome in zip(files, outcomes, strict=True):
        if outcome.error is None:
            continue
        failed[path.relative_to(FEEDPARSER).parts[0]] += 1
        err = outcome.error
        if not err.strip() or "\n" in err or "\r" in err or len(err) >= 400:
            bad.append(f"{path.relative_to(FEEDPARSER)}: {err!r}")
    print(f"\nfeedparser corpus: {len(files)} files, {sum(failed.values())} failed "
          f"({dict(sorted(failed.items()))})")
    assert not bad, "errors that are empty or not one short line:\n" + "\n".join(bad)


def test_sanitize_corpus_renders_no_active_markup(httpserver) -> None:
    """feedparser's unsafe-HTML feeds, through extraction, digest and rendering, leave no active markup."""
    root = FEEDPARSER / "wellformed" / "sanitize"
    files = sorted(root.glob("*.xml"))
    assert len(files) > 100
    serve_tree(httpserver, root, "sanitize")
    outcomes = fetch_tree(httpserver, files, root, "sanitize")
    topic = build_topic(TopicModel(name="all", threshold=0.0, languages=[],  # every language: score 0 passes
                                   sides={"a": {"x": 1.0}, "b": {"y": 1.0}}))
    settings, window = DigestConfig(max_stories=10000), Window(NOW - timedelta(days=1), NOW)

    by_file: dict[str, list] = {}
    for path, outcome in zip(files, outcomes, strict=True):
        for item in outcome.items:
            try:
                article = to_article(item, NOW)
            except ExtractionError:
                continue
            by_file.setdefault(path.name, []).append(article)
    articles = [a for arts in by_file.values() for a in arts]
    assert len(articles) > 100

    assert len(unsafe_markup('<p><a href=" jav&#x09;ascript:x()" onclick="y()">z</a><SCRIPT>')) == 3
    digest = build_digest(articles, topic, settings, window, NOW)
    assert digest.relevant == len(articles) and digest.stories
    everything = render(digest, 10000)
    assert everything.text
    problems = [f"whole digest: {p}" for p in unsafe_markup(everything.html)]
    for name, arts in by_file.items():  # one digest per file too, so nothing hides behind deduplication
        r = render(build_digest(arts, topic, settings, window, NOW), 10000)
        assert r.text
        problems += [f"{name}: {p}" for p in unsafe_markup(r.html)]
    assert not problems, "\n".join(problems[:50])
