"""Every article names its outlet: golden tests per kind of evidence, the registry, and a four-outlet inbox."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from briefing.cli import main
from briefing.config import DigestConfig, FetchConfig, SourceConfig, load_config
from briefing.digest import Window, build_digest
from briefing.exceptions import ConfigError
from briefing.extract import to_article
from briefing.outlets import REPO_OUTLETS, bundled_registry, read_registry, registry_for
from briefing.relevance import load_topic
from briefing.render import one_bloc_note, render
from briefing.sources.feed import fetch_all, parse_feed
from briefing.sources.folder import FolderSource, read_document
from briefing.store import Store
from briefing.types import RawItem

ROOT = Path(__file__).resolve().parents[1]
TOPIC = ROOT / "config" / "topics" / "russia_china.yaml"
NOW = datetime(2026, 11, 26, 8, tzinfo=timezone.utc)
FAST = FetchConfig(retries=0, backoff=0, deadline=3, read_timeout=2, connect_timeout=1, teaser_words=0)
PROSE = ("Russian and Chinese officials met in Harbin on Tuesday to discuss a new timber and grain corridor "
         "across the Amur river. Both delegations said the first trains would run before the winter.")


def page(body: str, head: str = "") -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Corridor talks</title>{head}</head>"
            f"<body><article><h1>Corridor talks in Harbin</h1><p>{body}</p>"
            f"<p>Officials on both sides called the meeting practical and said more talks would follow.</p>"
            f"</article></body></html>")


def outlet_of(body: str, kind: str = "html", location: str = "/inbox/a.html", hint: str | None = None,
              source: str = "inbox") -> str | None:
    return to_article(RawItem(source, location, body, kind, outlet=hint), NOW).outlet


# --- the registry ---------------------------------------------------------------------------

def test_registry_is_large_typed_and_says_what_each_bloc_means() -> None:
    """≥ 80 outlets; the five blocs of the issue are defined in the file; every outlet's bloc is one of them."""
    parsed = read_registry(REPO_OUTLETS)
    registry = bundled_registry()
    assert len(registry) >= 80
    for bloc in ("Russian state media", "Chinese state media", "Russian independent media", "Western media",
                 "Other"):
        assert len(parsed.blocs.get(bloc, "")) > 40, bloc
    assert {o.bloc for o in parsed.outlets} <= set(parsed.blocs)
    assert {o.kind for o in parsed.outlets} <= set(parsed.kinds)
    domains = [d for o in parsed.outlets for d in o.domains]
    assert len(domains) == len(set(domains)), "a domain belongs to one outlet"
    names = " ".join(a for o in parsed.outlets for a in (o.name, *o.aliases))
    assert re.search(r"[А-Яа-я]", names) and re.search(r"[\u4e00-\u9fff]", names)  # Russian and Chinese names


def test_registry_finds_subdomains_and_aliases() -> None:
    registry = bundled_registry()
    assert registry.by_domain("https://english.news.cn/20261124/abc.html").name == "Xinhua"
    assert registry.by_domain("www.tass.ru").name == "TASS"
    assert registry.by_domain("https://notnews.cn/x") is None  # news.cn is a suffix of the host's name only
    assert registry.by_name("新华社").name == "Xinhua" and registry.by_name("медуза").name == "Meduza"
    assert registry.by_domain("meduza.io").bloc == "Russian independent media"


def test_config_extends_and_overrides_the_registry(tmp_path) -> None:
    """``outlets:`` as a file next to the config adds an outlet and replaces a bundled one by name."""
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({"outlets": [
        {"name": "Northwind Wire", "domains": ["northwind.example"], "country": "GB", "kind": "wire",
         "bloc": "Western media"},
        {"name": "TASS", "domains": ["tass.com"], "country": "RU", "kind": "state news agency",
         "bloc": "Russian state media", "aliases": ["Tass agency"]},
    ]}), encoding="utf-8")
    (tmp_path / "briefing.yaml").write_text("outlets: mine.yaml\n", encoding="utf-8")
    registry = registry_for(load_config(tmp_path / "briefing.yaml"))
    assert registry.by_domain("https://www.northwind.example/a").name == "Northwind Wire"
    assert registry.by_name("Tass agency").name == "TASS"
    assert registry.by_name("ТАСС") is None and registry.by_domain("tass.ru") is None  # replaced, not merged
    assert len(registry) == len(bundled_registry()) + 1

    (tmp_path / "inline.yaml").write_text("outlets:\n  - {name: Harbin Daily, domains: [harbin.example]}\n")
    assert registry_for(load_config(tmp_path / "inline.yaml")).by_domain("harbin.example").name == "Harbin Daily"
    (tmp_path / "bad.yaml").write_text("outlets:\n  - {name: X, kind: tabloid}\n")
    with pytest.raises(ConfigError, match="outlets"):
        registry_for(load_config(tmp_path / "bad.yaml"))


# --- golden tests, one per kind of evidence ------------------------------------------------

def test_html_og_site_name_first() -> None:
    head = ("<meta property='og:site_name' content='Xinhua News Agency'>"
            "<link rel='canonical' href='https://www.reuters.com/world/x'>")
    assert outlet_of(page(PROSE, head)) == "Xinhua"  # the alias, shown as the registry's name


def test_html_json_ld_publisher() -> None:
    ld = {"@context": "https://schema.org", "@graph": [{"@type": "WebSite", "name": "site"},
          {"@type": "NewsArticle", "headline": "Corridor talks", "publisher": {"@type": "Organization",
                                                                                 "name": "Amur Courier"}}]}
    head = f"<script type='application/ld+json'>{json.dumps(ld)}</script>"
    assert outlet_of(page(PROSE, head)) == "Amur Courier"  # not in the registry: named as the page says


def test_html_canonical_domain() -> None:
    assert outlet_of(page(PROSE, "<link rel='canonical' href='https://www.themoscowtimes.com/2026/11/24/a'>")) \
        == "The Moscow Times"
    assert outlet_of(page(PROSE, "<link rel='canonical' href='https://www.amur-courier.example/a'>")) \
        == "amur-courier.example"


def test_text_source_line_and_by_for_line() -> None:
    assert outlet_of(f"Corridor talks in Harbin\n\nSource: Northwind Wire, 24 November\n\n{PROSE}", "text") \
        == "Northwind Wire"
    assert outlet_of(f"Corridor talks in Harbin\n\n{PROSE}\n\nBy Jane Roe for the Guardian", "text") \
        == "The Guardian"
    assert outlet_of(f"Переговоры в Харбине\n\nИсточник: ТАСС\n\n{PROSE}", "text") == "TASS"


def titled_page(title: str, home: str = "") -> str:
    logo = f"<header><a class='logo' href='/'>{home}</a></header>" if home else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>{logo}"
            f"<article><h1>Corridor talks in Harbin</h1><p>{PROSE}</p></article></body></html>")


def test_html_title_suffix_confirmed_by_the_home_link_or_the_registry() -> None:
    assert outlet_of(titled_page("Corridor talks in Harbin | Amur Courier", home="Amur Courier")) == "Amur Courier"
    assert outlet_of(titled_page("Corridor talks in Harbin - The Amur Courier", home="The Amur Courier")) \
        == "The Amur Courier"
    assert outlet_of(titled_page("Corridor talks in Harbin - Reuters")) == "Reuters"  # a known outlet, no logo
    assert outlet_of(titled_page("哈尔滨走廊会谈_新华网")) == "Xinhua"  # the Chinese portals' shape, an alias
    assert outlet_of(titled_page("哈尔滨走廊会谈！-新华网")) == "Xinhua"
    # A dash in a headline names nobody: neither part is the page's logo or a known outlet.
    assert outlet_of(titled_page("Putin - Xi talks end in Harbin", home="Amur Courier")) is None
    assert outlet_of(titled_page("Corridor talks | Amur Courier")) is None  # unconfirmed suffix


def test_text_masthead_line_opens_the_file() -> None:
    assert outlet_of(f"Amur Courier | Energy\nCorridor talks in Harbin\n\n{PROSE}", "text") == "Amur Courier"
    assert outlet_of(f"Amur Courier · Energy\nCorridor talks in Harbin\n\n{PROSE}", "text") == "Amur Courier"
    # Not a masthead: a sentence, a dateline, or a pipe deep in the text.
    assert outlet_of(f"Talks resumed | officials said on Monday.\n\n{PROSE}", "text") is None
    assert outlet_of(f"Updated: 24 November 2026 | 10:20\n\n{PROSE}", "text") is None
    assert outlet_of(f"Corridor talks in Harbin\n\n{PROSE}\n\nAmur Courier | Energy\n\n{PROSE}", "text") is None


def test_a_by_for_credit_line_is_not_the_title() -> None:
    article = to_article(RawItem("inbox", "/inbox/a.txt", f"By Jane Roe for Amur Courier\n\n{PROSE}", "text"), NOW)
    assert article.outlet == "Amur Courier"
    assert not article.title.startswith("By ") and "Jane Roe" not in article.text


def test_sample_inbox_names_an_outlet_for_every_article_and_its_bloc() -> None:
    """The bundled samples carry their outlets' evidence; config/briefing.yaml gives their (fictional) blocs."""
    config = load_config(ROOT / "config" / "briefing.yaml")
    registry = registry_for(config)
    inbox = ROOT / "examples" / "inbox"
    outlets = {}
    for path in sorted(inbox.iterdir()):
        outlets[path.name] = to_article(read_document(path, "sample-inbox"), NOW, registry).outlet
    assert None not in outlets.values(), outlets
    assert "sample-inbox" not in outlets.values()
    blocs = {registry.by_name(name).bloc for name in outlets.values()}
    assert {"Russian state media", "Chinese state media", "Western media"} <= blocs


def test_markdown_front_matter(tmp_path) -> None:
    """title, outlet, url and published are used, and the block is not part of the text."""
    path = tmp_path / "corridor.md"
    path.write_text("---\ntitle: Corridor talks in Harbin\noutlet: Global Times\n"
                    "url: https://www.globaltimes.cn/page/202611/1.shtml\npublished: 2026-11-24T09:30:00+08:00\n"
                    f"---\n\n{PROSE}\n", encoding="utf-8")
    item = read_document(path, "inbox")
    article = to_article(item, NOW)
    assert article.outlet == "Global Times"
    assert article.title == "Corridor talks in Harbin"
    assert article.location == "https://www.globaltimes.cn/page/202611/1.shtml"
    assert article.published == datetime(2026, 11, 24, 1, 30, tzinfo=timezone.utc)
    assert "---" not in article.text and "outlet" not in article.text and article.text.startswith("Russian")


def test_any_url_through_the_registry() -> None:
    assert outlet_of(PROSE, "text", location="https://www.rferl.org/a/corridor/1.html") \
        == "Radio Free Europe/Radio Liberty"
    assert outlet_of(f"{PROSE}\n\nOriginally published at https://meduza.io/en/news/2026/11/24/x", "text") == "Meduza"
    assert outlet_of(PROSE, "text", location="https://unknown.example/a") is None  # an unknown domain says nothing


def test_nothing_says_so_the_source_name_stands_in() -> None:
    article = to_article(RawItem("sample-inbox", "/inbox/a.txt", f"Corridor talks\n\n{PROSE}", "text"), NOW)
    assert article.outlet is None and article.outlet_name == "sample-inbox"


def test_feed_source_element_then_feed_title(httpserver) -> None:
    """An aggregator's entry names its outlet in <source>; other entries take the feed's own title."""
    rss = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Eurasia Desk</title>'
           '<link>http://x/</link>'
           '<item><guid>1</guid><link>http://x/1</link><title>Corridor talks</title>'
           '<source url="https://tass.com/rss/v2.xml">TASS</source>'
           f'<description>{PROSE}</description></item>'
           '<item><guid>2</guid><link>http://x/2</link><title>Grain trains</title>'
           f'<description>{PROSE} More grain.</description></item></channel></rss>')
    httpserver.expect_request("/feed.xml").respond_with_data(rss, content_type="application/rss+xml")
    [outcome] = fetch_all([SourceConfig(name="agg", feed=httpserver.url_for("/feed.xml"))], {}, FAST)
    assert [i.outlet for i in outcome.items] == ["TASS", "Eurasia Desk"]
    assert [to_article(i, NOW).outlet for i in outcome.items] == ["TASS", "Eurasia Desk"]
    atom = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title><entry><id>a</id><title>t</title>'
            b'<source><title>Xinhua News Agency</title></source><summary>s</summary></entry></feed>')
    [entry] = parse_feed(atom, "http://x/atom")
    assert entry.outlet == "Xinhua News Agency"
    assert to_article(RawItem("wire", "http://x/a", PROSE, outlet=entry.outlet), NOW).outlet == "Xinhua"


def test_store_keeps_the_outlet(tmp_path) -> None:
    store = Store.open_dir(tmp_path)
    try:
        named = to_article(RawItem("inbox", "/a.txt", f"Source: Meduza\n\n{PROSE}", "text"), NOW)
        unnamed = to_article(RawItem("inbox", "/b.txt", f"{PROSE} Trains.", "text"), NOW)
        store.add_articles([named, unnamed])
        got = {a.id: a for a in store.articles_seen_between(NOW - timedelta(hours=1), NOW + timedelta(hours=1))}
        assert got[named.id] == named and got[named.id].outlet == "Meduza"
        assert got[unnamed.id].outlet is None and got[unnamed.id].teaser is False
    finally:
        store.close()


# --- the four-outlet inbox of the issue ----------------------------------------------------

EVENT = [
    ("tass.html", "TASS", "https://tass.com/politics/2026112401",
     "Russia and China sign Arctic shipping accord in Moscow",
     "Russia and China signed an agreement in Moscow on Tuesday to expand cargo shipping along the Northern "
     "Sea Route, Deputy Prime Minister Alexei Orlov said. The accord sets up a joint shipping company and "
     "guarantees icebreaker escorts for Chinese container ships from next summer.",
     "Orlov said the Northern Sea Route would carry twice as much Chinese cargo by 2030 under the accord."),
    ("xinhua.html", "Xinhua", "https://english.news.cn/20261124/abc123/c.html",
     "China, Russia sign Arctic shipping agreement",
     "China and Russia on Tuesday signed an agreement in Moscow on cargo shipping along the Northern Sea "
     "Route, a step Chinese officials called a win for open trade. Under the accord a joint shipping company "
     "will run container ships with Russian icebreaker escorts from next summer.",
     "Chinese shipping firms welcomed the Arctic accord as a shorter route to European ports."),
    ("reuters.html", "Reuters", "https://www.reuters.com/world/russia-china-arctic-shipping-2026-11-24/",
     "Russia, China agree Arctic shipping pact as Moscow courts Beijing",
     "Russia and China agreed in Moscow on Tuesday to expand shipping on the Northern Sea Route, setting up a "
     "joint company whose container ships will get Russian icebreaker escorts from next summer, as Moscow "
     "leans on Beijing for trade under Western sanctions.",
     "Analysts said the Arctic accord gives China a route that avoids the Suez Canal and Malacca Strait."),
    ("meduza.html", "Meduza", "https://meduza.io/en/news/2026/11/24/arctic-shipping",
     "Moscow and Beijing sign Northern Sea Route shipping deal",
     "Russia and China signed a deal in Moscow on Tuesday on container shipping along the Northern Sea Route. "
     "The agreement creates a joint shipping company and promises Russian icebreaker escorts for Chinese "
     "ships from next summer, though Russian ice experts doubt the fleet is big enough.",
     "Independent ice experts said Russia has too few nuclear icebreakers to escort many convoys at once."),
]


FOUR_OUTLET_INBOX = ROOT / "tests" / "data" / "four_outlet_inbox"  # the pages of EVENT, one file per outlet


def write_inbox(folder: Path) -> None:
    """The four-outlet inbox: one event as TASS, Xinhua, Reuters and Meduza pages (own og:site_name, canonical)."""
    folder.mkdir()
    for name, *_ in EVENT:
        shutil.copyfile(FOUR_OUTLET_INBOX / name, folder / name)


def test_four_outlet_inbox_extract_prints_the_four_outlets(tmp_path) -> None:
    write_inbox(tmp_path / "inbox")
    result = CliRunner().invoke(main, ["extract", str(tmp_path / "inbox")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert {r["path"].rsplit("/", 1)[-1]: r["outlet"] for r in rows} == {
        "meduza.html": "Meduza", "reuters.html": "Reuters", "tass.html": "TASS", "xinhua.html": "Xinhua"}


def test_four_outlet_inbox_digest_names_the_four_outlets(tmp_path) -> None:
    """One story from one folder source, named by its four outlets, never by the folder."""
    write_inbox(tmp_path / "inbox")
    outcome = FolderSource("sample-inbox", tmp_path / "inbox").fetch()
    articles = [to_article(i, NOW - timedelta(hours=1)) for i in outcome.items]
    digest = build_digest(articles, load_topic(TOPIC), DigestConfig(), Window(NOW - timedelta(days=1), NOW), NOW)
    assert len(digest.stories) == 1
    [story] = digest.stories
    assert sorted(story.sources) == ["Meduza", "Reuters", "TASS", "Xinhua"]
    rendered = render(digest, 15)
    for text in (rendered.text, rendered.html):
        for outlet in ("TASS", "Xinhua", "Reuters", "Meduza"):
            assert outlet in text
        assert "sample-inbox" not in text  # the folder's name is no outlet
    assert story.summary and {s.source for s in story.summary} <= {"TASS", "Xinhua", "Reuters", "Meduza"}
    for sentence in story.summary:  # each quote ends with its outlet
        assert f"[{sentence.source}]" in " ".join(rendered.text.split())


def test_four_outlet_fixture_pages_carry_their_own_site_name_and_canonical_url() -> None:
    for name, site, url, title, *_ in EVENT:
        html = (FOUR_OUTLET_INBOX / name).read_text(encoding="utf-8")
        assert f"content='{site}'" in html and f"href='{url}'" in html and title in html, name


FOUR_BLOCS = ("Russian state media: TASS · Chinese state media: Xinhua · Russian independent media: Meduza · "
              "Western media: Reuters")


def test_four_outlet_inbox_digest_shows_coverage_by_bloc(tmp_path) -> None:
    """One story; its outlets grouped under four blocs, in the registry's order, in HTML and text; no one-bloc note."""
    write_inbox(tmp_path / "inbox")
    outcome = FolderSource("sample-inbox", tmp_path / "inbox").fetch()
    articles = [to_article(i, NOW - timedelta(hours=1)) for i in outcome.items]
    digest = build_digest(articles, load_topic(TOPIC), DigestConfig(), Window(NOW - timedelta(days=1), NOW), NOW)
    [story] = digest.stories
    assert [(g.bloc, g.outlets) for g in story.blocs] == [
        ("Russian state media", ("TASS",)), ("Chinese state media", ("Xinhua",)),
        ("Russian independent media", ("Meduza",)), ("Western media", ("Reuters",))]
    assert story.outlets == 4 and one_bloc_note(story) == ""
    rendered = render(digest, 15)
    assert FOUR_BLOCS in " ".join(rendered.text.split())
    assert "So far only" not in rendered.text and "So far only" not in rendered.html
    line = re.search(r'<p class="meta blocs"[^>]*>(.*?)</p>', rendered.html, re.S)
    assert line, rendered.html
    shown = re.sub(r"<[^>]+>", "", line.group(1))
    assert " ".join(shown.split()) == FOUR_BLOCS
    for label in ("Russian state media", "Chinese state media"):
        assert re.search(rf'<span class="bloc"[^>]*>{label}:</span>', rendered.html), label
