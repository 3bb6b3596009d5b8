"""Rendering: untrusted text is escaped, the email is table-based with inline CSS, nothing relevant is dropped."""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from html import escape

import lxml.html
import pytest
from conftest import TOPIC, make_article

from briefing.config import DigestConfig
from briefing.digest import Window, build_digest, story_rank
from briefing.relevance import load_topic
from briefing.render import (
    Rendered,
    archive,
    bloc_line,
    one_bloc_note,
    render,
    size_line,
    story_listing,
    window_line,
)
from briefing.types import Article, Digest, Evidence, Relevance, Sentence, SourceHealth, Story

NOW = datetime(2026, 11, 26, 8, tzinfo=timezone.utc)
SEEN = NOW - timedelta(hours=1)


def digest_of(*articles: Article, max_stories: int = 15):
    settings = DigestConfig(max_stories=max_stories)
    return build_digest(list(articles), load_topic(TOPIC), settings, Window(NOW - timedelta(days=1), NOW), NOW)


def test_untrusted_text_is_escaped() -> None:
    """Script tags and event handlers from articles never reach the HTML as markup."""
    evil = make_article("Russia and China held talks on <img src=x onerror=alert(1)> gas supplies in Beijing today. "
                        "Moscow and Beijing agreed on new pipeline terms after talks.",
                        '<b onmouseover="x()">Outlet</b>', title='Russia and China <script>alert("x")</script> talks',
                        location="javascript:alert(1)", first_seen=SEEN)
    rendered = render(digest_of(evil), 15)
    assert "<script" not in rendered.html
    assert "&lt;script&gt;" in rendered.html and "&lt;img src=x onerror=alert(1)&gt;" in rendered.html
    assert "<img" not in rendered.html and "<b " not in rendered.html
    assert 'href="javascript:' not in rendered.html


def test_email_layout_and_overflow_list() -> None:
    """Table layout, inline styles; stories past max_stories are still listed by title."""
    stories = [
        ("Russia and China agree timber quotas", "Russian loggers will ship more timber to Chinese mills "
         "under quotas agreed in Harbin, the forestry agency said after talks with Beijing."),
        ("Moscow and Beijing open grain corridor", "A new grain corridor from Siberia to Heilongjiang opened "
         "on Tuesday, and Russian wheat exports to China are expected to double."),
        ("Kremlin hosts Chinese satellite delegation", "Chinese navigation engineers met Russian officials in "
         "the Kremlin to link the BeiDou and GLONASS satellite systems, Moscow said."),
        ("Border railway bridge reaches Blagoveshchensk", "Freight trains began crossing the Amur bridge "
         "between Russia and China this week, cutting delivery times for Chinese car makers."),
    ]
    arts = [make_article(body, "feed", title=t, location=f"https://news.example/{i}", first_seen=SEEN)
            for i, (t, body) in enumerate(stories)]
    d = digest_of(*arts, max_stories=2)
    rendered = render(d, 2)
    assert 'role="presentation"' in rendered.html and "width=\"600\"" in rendered.html
    assert "<style" not in rendered.html.split("<body")[1]
    assert "Also in this window (2)" in rendered.html and "Also in this window (2)" in rendered.text
    for a in arts:
        assert a.title in rendered.text


def test_archive_writes_files_and_index(tmp_path) -> None:
    """The archive keeps dated HTML and text files and an index listing every digest."""
    first = digest_of(make_article("Russia and China began joint naval drills near Vladivostok on Monday, the "
                                   "defence ministries said.", "feed", title="Russia and China hold naval drills",
                                   location="https://news.example/x", first_seen=SEEN))
    path = archive(first, render(first, 15), tmp_path)
    assert path.exists() and path.with_suffix(".txt").exists()
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert path.name in index


# --- three scripts -------------------------------------------------------------

RU = ("Министр иностранных дел России Сергей Лавров провёл в Бишкеке переговоры с министром иностранных дел КНР "
      "Ван И. Стороны обсудили создание банка развития ШОС.")
ZH = ("外交部长王毅在比什凯克会见俄罗斯外长拉夫罗夫，双方就成立上合组织开发银行问题深入交换意见，中俄均支持该银行以"
      "成员国本币提供贷款，吉尔吉斯斯坦外交部表示，工作组将在明年夏天元首理事会会议前提交银行章程草案。")
EN = "Sergei Lavrov and Wang Yi met in Bishkek on Thursday and discussed an SCO development bank."


def three_language_digest(lead: int = 0) -> Digest:
    """One story of one event in English, Russian and Chinese, each quoted (built directly: no grouping involved)."""
    arts = [make_article(EN, "wire", title="Lavrov and Wang Yi meet in Bishkek", first_seen=SEEN),
            make_article(RU, "vestnik", title="Лавров и Ван И обсудили в Бишкеке банк развития ШОС", first_seen=SEEN),
            make_article(ZH, "dongfang", title="王毅在比什凯克会见俄罗斯外长拉夫罗夫", first_seen=SEEN)]
    arts = arts[lead:] + arts[:lead]
    quotes = tuple(Sentence(a.text, a.id, a.source, a.location) for a in arts)
    story = Story(arts[0], tuple(arts), Relevance(1.0, True), summary=quotes)
    return Digest("Digest", NOW - timedelta(days=1), NOW, NOW, (story,), considered=3, relevant=3, duplicates=0)


def test_quotes_headlines_and_titles_carry_their_language() -> None:
    """In HTML every quote, headline and coverage title has its article's lang; the text marks ru/zh, not en."""
    html = render(three_language_digest(lead=2), 15).html
    headline = re.search(r'<p class="headline" lang="(\w+)"', html)
    assert headline and headline.group(1) == "zh"
    for lang, text in (("en", EN), ("ru", RU), ("zh", ZH)):
        assert re.search(rf'<span lang="{lang}"[^>]*>{re.escape(text)}</span>', html), lang
    titles = (("en", "Lavrov and Wang Yi meet in Bishkek"), ("ru", "Лавров и Ван И"), ("zh", "王毅在比什凯克"))
    for lang, title in titles:
        assert re.search(rf'<a href="[^"]+" lang="{lang}"[^>]*>{re.escape(title)}', html), title
    text = render(three_language_digest(), 15).text
    assert text.startswith("Digest") and "\n1. Lavrov and Wang Yi meet in Bishkek" in text
    assert "   - [ru] Министр иностранных дел" in text and "   - [zh] 外交部长王毅" in text
    assert "   * [ru] Лавров и Ван И" in text and "   * [zh] 王毅在比什凯克" in text
    assert "[en]" not in text and "   - Sergei Lavrov and Wang Yi met" in text


def test_a_quote_whose_article_is_not_at_hand_gets_its_own_language() -> None:
    digest = three_language_digest()
    story = digest.stories[0]
    stray = Sentence("Лавров заявил, что переговоры прошли конструктивно.", "no-such-id", "vestnik")
    digest = replace(digest, stories=(replace(story, summary=(stray,)),))
    rendered = render(digest, 15)
    assert '<span lang="ru"' in rendered.html and "- [ru] Лавров заявил" in rendered.text


def test_font_stacks_fall_back_to_cyrillic_and_cjk_faces() -> None:
    """Inline styles (mail clients drop <style>) name Cyrillic and CJK faces; Chinese text puts a CJK face first."""
    html = render(three_language_digest(), 15).html
    page = re.search(r'<table[^>]*class="page"[^>]*style="([^"]*)"', html)
    assert page and "Georgia" in page.group(1) and "'DejaVu Serif'" in page.group(1)
    assert "'Noto Serif CJK SC'" in page.group(1) and "'WenQuanYi Micro Hei'" in page.group(1)
    zh = re.search(r'<span lang="zh" style="font-family: ([^;"]*)', html)
    assert zh and zh.group(1).startswith("'PingFang SC'") and "'Noto Sans CJK SC'" in zh.group(1)
    meta = re.search(r'<p class="meta" style="[^"]*font-family: ([^;"]*)', html)
    assert meta and meta.group(1).startswith("Arial") and "'Microsoft YaHei'" in meta.group(1)


def test_untrusted_cyrillic_and_chinese_text_is_escaped() -> None:
    evil = make_article("俄罗斯和中国在北京举行会谈<script>alert(1)</script>，双方签署了能源协议。", "feed",
                        title='中俄会谈"><img src=x onerror=alert(1)>', first_seen=SEEN)
    quote = Sentence(evil.text, evil.id, '<b>Вестник</b>', evil.location)
    story = Story(evil, (evil,), Relevance(1.0, True), summary=(quote,))
    digest = Digest("Digest", NOW - timedelta(days=1), NOW, NOW, (story,), considered=1, relevant=1, duplicates=0)
    html = render(digest, 15).html
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "中俄会谈\"&gt;&lt;img" in html


def test_text_digest_wraps_chinese_by_display_width() -> None:
    """A Han character fills two columns: Chinese lines stay within the English width, never open with "，"."""
    text = render(three_language_digest(), 15).text
    chinese = [line for line in text.splitlines() if re.search(r"[\u4e00-\u9fff]", line)]
    assert len(chinese) >= 3, chinese  # the long quote took several lines
    width = {line: sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line) for line in chinese}
    assert max(width.values()) <= 78, width
    assert not any(line.lstrip().startswith(("，", "。", "、")) for line in chinese)
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("   - [zh] "))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("     "))
    assert ZH in "".join(line.strip() for line in lines[start:end])  # a break between Han characters drops nothing


# --- coverage by bloc, the header, the evidence line, the footer ----------------

def outlet_article(text: str, outlet: str | None, source: str = "inbox", published: datetime | None = None) -> Article:
    return replace(make_article(text, source, first_seen=SEEN, published=published), outlet=outlet)


def story_of(*arts: Article) -> Story:
    return Story(arts[0], tuple(arts), Relevance(1.0, True))


def one_story_digest(story: Story, config_path: str | None = None) -> Digest:
    return Digest("Digest", NOW - timedelta(days=1), NOW, NOW, (story,), considered=1, relevant=1, duplicates=0,
                  config_path=config_path)


def test_bloc_line_golden() -> None:
    """Blocs in the registry's order, outlets in order met, an unlisted outlet under Other, no outlet by source."""
    arts = [outlet_article("Reuters on the talks.", "Reuters"), outlet_article("Xinhua on the talks.", "Xinhua"),
            outlet_article("CGTN on the talks.", "CGTN"), outlet_article("A courier on the talks.", "Amur Courier"),
            outlet_article("TASS on the talks.", "TASS"), outlet_article("Clipping.", None, source="my-clippings")]
    story = story_of(*arts)
    assert bloc_line(story) == ("Russian state media: TASS · Chinese state media: Xinhua, CGTN · "
                                "Western media: Reuters · Other: Amur Courier · my-clippings")
    assert one_bloc_note(story) == ""
    text = " ".join(render(one_story_digest(story), 15).text.split())
    assert bloc_line(story) in text


def test_one_bloc_note_golden() -> None:
    story = story_of(outlet_article("Xinhua on the talks.", "Xinhua"), outlet_article("CGTN on it.", "CGTN"))
    assert bloc_line(story) == "Chinese state media: Xinhua, CGTN"
    assert one_bloc_note(story) == "So far only in Chinese state media"
    rendered = render(one_story_digest(story), 15)
    assert "\n   Chinese state media: Xinhua, CGTN\n" in rendered.text
    assert "So far only in Chinese state media" in rendered.text
    assert re.search(r'<span class="onebloc"[^>]*>So far only in Chinese state media</span>', rendered.html)
    # Only in outlets of no bloc: said plainly; a report naming no outlet says nothing of a bloc.
    assert one_bloc_note(story_of(outlet_article("Courier.", "Amur Courier"))) == "So far only in other media"
    assert one_bloc_note(story_of(outlet_article("Xinhua.", "Xinhua"), outlet_article("Clip.", None))) == ""
    assert one_bloc_note(story_of(outlet_article("Clip.", None))) == ""


def test_hostile_outlet_names_are_escaped() -> None:
    evil = outlet_article("Russia and China held talks in Beijing on gas supplies.",
                          '<script>alert(1)</script>"><img src=x onerror=alert(2)>')
    story = story_of(evil, outlet_article("Xinhua on the talks.", "Xinhua"))
    html = render(one_story_digest(story), 15).html
    assert "<script" not in html and "<img" not in html
    assert 'Other:</span> &lt;script&gt;alert(1)&lt;/script&gt;"&gt;&lt;img src=x onerror=alert(2)&gt;' in html


def test_ranking_counts_blocs_then_outlets_not_sources() -> None:
    """Two blocs beat three outlets of one bloc; three outlets in one folder beat one outlet's two reports."""
    rel = Relevance(0.9, True)
    two_blocs = [outlet_article("a", "TASS"), outlet_article("b", "Reuters")]
    one_bloc = [outlet_article("c", "TASS"), outlet_article("d", "RIA Novosti"), outlet_article("e", "Izvestia")]
    one_outlet = [outlet_article("f", "TASS", source="wire-1"), outlet_article("g", "TASS", source="wire-2")]
    assert story_rank(two_blocs, rel) < story_rank(one_bloc, rel) < story_rank(one_outlet, rel)
    assert story_of(*one_outlet).outlets == 1 and story_of(*one_bloc).outlets == 3
    assert story_rank(one_bloc, Relevance(1.0, True)) < story_rank(one_bloc, rel)  # then relevance


def test_evidence_line_names_each_term_once_with_its_places() -> None:
    rel = Relevance(0.8, True, (Evidence("Putin", "russia", "sentence", 2.0), Evidence("Beijing", "china", "text", 1),
                                Evidence("Putin", "russia", "title", 3.0), Evidence("Putin", "russia", "title", 1.0),
                                Evidence("Beijing", "china", "sentence", 1.0)))
    assert rel.explain() == "score 0.80: Putin (title, sentence), Beijing (sentence, text)"
    assert Relevance(0.0, False, reason="language fr").explain() == "language fr"
    text = render(one_story_digest(replace(story_of(outlet_article("x", "TASS")), relevance=rel)), 15).text
    assert "Why: score 0.80: Putin (title, sentence), Beijing (sentence, text)" in text


def test_header_says_arrival_window_and_publication_span() -> None:
    arts = [outlet_article("a", "TASS", published=datetime(2026, 11, 3, 9, tzinfo=timezone.utc)),
            outlet_article("b", "Reuters", published=datetime(2026, 11, 20, 9, tzinfo=timezone.utc)),
            outlet_article("c", "Xinhua")]
    digest = one_story_digest(story_of(*arts))
    line = "New since 25 Nov 2026 08:00 UTC; published 3 Nov 2026 – 20 Nov 2026"
    rendered = render(digest, 15)
    assert rendered.text.splitlines()[2] == line and line in rendered.html
    assert window_line(one_story_digest(story_of(arts[2]))) == "New since 25 Nov 2026 08:00 UTC"
    assert window_line(replace(digest, kind="backfill")) == \
        "Published 25 Nov 2026 08:00 UTC – 26 Nov 2026 08:00 UTC (a backfill)"


def test_footer_names_the_config_actually_used() -> None:
    story = story_of(outlet_article("a", "TASS"))
    rendered = render(one_story_digest(story, config_path="/srv/briefing/night.yaml"), 15)
    for out in (rendered.text, rendered.html):
        assert "/srv/briefing/night.yaml" in out and "config/briefing.yaml" not in out
    unnamed = render(one_story_digest(story), 15)
    assert "config/briefing.yaml" not in unnamed.text and "config file." in unnamed.text


def test_the_configs_own_outlets_rank_the_stories() -> None:
    """An outlet known only to the config's ``outlets:`` counts in its bloc for ranking, not as "Other"."""
    from briefing.outlets import Outlet, Registry, bundled_registry

    rel = Relevance(0.9, True)
    local = [outlet_article("a", "Amur Courier"), outlet_article("b", "Harbin Evening")]
    known = [outlet_article("c", "TASS"), outlet_article("d", "Izvestia"), outlet_article("e", "RIA Novosti")]
    bundled = bundled_registry()
    extra = Registry((*bundled.outlets, Outlet(name="Amur Courier", country="RU", bloc="Russian independent media"),
                      Outlet(name="Harbin Evening", country="CN", bloc="Chinese state media")), bundled.blocs)
    assert story_rank(known, rel) < story_rank(local, rel)  # unknown: both "Other", one bloc against one
    assert story_rank(local, rel, extra) < story_rank(known, rel, extra)  # two blocs beat one


# --- the email at real volume: a size budget (issue 23) ------------------------

OUTLETS = ("TASS", "Xinhua", "Reuters", "RIA Novosti", "Global Times", "Meduza", "Caixin", "Kommersant",
           "South China Morning Post", "Nikkei Asia", "Interfax", "CGTN", "Izvestia", "Bloomberg")
EN_WORDS = ("gas pipeline talks summit trade yuan rouble sanctions border bridge grain timber Arctic shipping drills "
            "navy satellite bank energy oil deal visit ministers Harbin Vladivostok Amur Kazan Shanghai customs "
            "railway freight exports imports payment settlement corridor delegation treaty forum").split()
RU_WORDS = "переговоры газ торговля саммит граница мост зерно нефть банк делегация соглашение".split()
ZH_WORDS = "会谈 天然气 贸易 峰会 边境 大桥 粮食 能源 银行 代表团 协议 口岸".split()


def ten_thousand_article_digest(seed: int = 23, written: int = 15) -> Digest:
    """A window of 10,000 generated articles grouped into ~2,800 stories (built directly, no grouping run):
    the first ``written`` are written up (three quotes, key phrases); English, Russian and Chinese titles
    (multi-byte text counts in the budget); 200 articles the topic could not score; 56 sources."""
    rng = random.Random(seed)
    articles: list[Article] = []
    for i in range(10_000):
        lang = rng.choices(("en", "ru", "zh"), (8, 1, 1))[0]
        words = {"en": EN_WORDS, "ru": RU_WORDS, "zh": ZH_WORDS}[lang]
        n = rng.randint(7, 14) if lang != "zh" else rng.randint(5, 9)
        title = ("" if lang == "zh" else " ").join(rng.choice(words) for _ in range(n)).capitalize()
        if lang == "en":
            title = "Russia and China: " + title
        outlet = rng.choice(OUTLETS)
        text = f"{title}. Officials in Moscow and Beijing said the {rng.choice(EN_WORDS)} plan was agreed."
        article = make_article(text, f"feed-{i % 56:02d}", title=title, first_seen=SEEN,
                               location=f"https://news-{i % 56:02d}.example/2026/11/{i:05d}-"
                                        f"{'-'.join(title.lower().split()[:6])}",
                               published=SEEN - timedelta(minutes=i))
        articles.append(replace(article, outlet=outlet))
    unscored, scored = articles[:200], articles[200:]
    stories: list[Story] = []
    at = 0
    while at < len(scored):
        size = rng.choice((1, 1, 2, 3, 4, 5, 6, 9))
        members = tuple(scored[at:at + size])
        at += size
        rel = Relevance(0.9, True, (Evidence("Moscow", "russia", "sentence", 1.0),
                                    Evidence("Beijing", "china", "sentence", 1.0)))
        if len(stories) < written:
            members = tuple(scored[at:at + 9]) + members  # the written-up stories are the big ones
            at += 9
            quotes = tuple(Sentence(a.text, a.id, a.outlet_name, a.location) for a in members[:3])
            stories.append(Story(members[0], members, rel, summary=quotes, keyphrases=("gas", "Power of Siberia 2")))
        else:
            stories.append(Story(members[0], members, rel))
    return Digest("Russia–China Relations Digest", NOW - timedelta(days=1), NOW, NOW, tuple(stories),
                  considered=10_000, relevant=len(scored), duplicates=0,
                  health=tuple(SourceHealth(f"feed-{i:02d}", "ok", items=200, new=180) for i in range(56)),
                  unscored=tuple((a, "language fr") for a in unscored))


HTML_BUDGET, TEXT_BUDGET = 90_000, 60_000  # bytes, as issue 23 asks: Gmail clips an HTML part past ~102 KB
ARCHIVE_URL = "https://briefing.example.org/digests/"


@pytest.fixture(scope="module")
def big() -> tuple[Digest, Rendered]:
    """The 10k-article window rendered once for the module (a rendering takes a few seconds)."""
    digest = ten_thousand_article_digest()
    return digest, render(digest, 15, archive_url=ARCHIVE_URL)


def test_ten_thousand_article_window_fits_the_budget_and_the_archive_keeps_everything(big, tmp_path) -> None:
    """Both parts under budget (as sent: the HTML inlined), every write-up whole, titles up to the budget, then
    "and N more stories in this window" linking to the archived page, which lists every story."""
    digest, rendered = big
    assert len(digest.stories) > 2000
    html, text = rendered.html, rendered.text
    assert len(html.encode()) < HTML_BUDGET and len(text.encode()) < TEXT_BUDGET
    assert len(html.encode()) > 0.9 * HTML_BUDGET and len(text.encode()) > 0.9 * TEXT_BUDGET, "titles fill the rest"
    page = f"https://briefing.example.org/digests/{digest.slug}.html"
    flat = " ".join(text.split())
    for story in digest.stories[:15]:
        assert escape(story.lead.title) in html and story.lead.title in flat
        for quote in story.summary:
            assert escape(quote.text) in html and " ".join(quote.text.split()) in flat
    body = lxml.html.document_fromstring(html)
    assert len(body.find_class("story")) == 15
    listed = [el.text_content() for el in body.find_class("item")]
    rest = [story.lead.title for story in digest.stories[15:]]
    assert 10 < len(listed) < len(rest) and all(t.startswith(r) for t, r in zip(listed, rest)), "the next in order"
    hidden = len(rest) - len(listed)
    assert rendered.hidden == hidden
    [more] = body.find_class("rest")[:1]
    assert more.text_content().strip() == f"and {hidden:,} more stories in this window" and more.get("href") == page
    assert f"Also in this window ({len(rest):,})" in html
    assert f"and {rendered.hidden_text:,} more stories in this window: {page}" in flat
    assert "Generated 26 Nov 2026 08:00 UTC by Briefing" in html, "the footer is not clipped"
    assert "56 sources: 56 fetched" in html and "56 sources: 56 fetched" in text

    archived = archive(digest, rendered, tmp_path)
    whole = lxml.html.document_fromstring(archived.read_text(encoding="utf-8"))
    titles = [el.xpath("string(./span[1])") for el in whole.find_class("item")]
    assert titles[:len(rest)] == rest, "the archived page lists every story, in order"
    assert not whole.find_class("rest"), "nothing is left out of the archived page"
    whole_text = " ".join(archived.with_suffix(".txt").read_text(encoding="utf-8").split())
    assert all(t in whole_text for t in rest)
    assert (tmp_path / "index.html").read_text(encoding="utf-8").count(archived.name) == 1


def test_a_digest_within_budget_is_the_whole_digest() -> None:
    """Nothing is cut when it fits: the archived page is the email itself."""
    d = three_language_digest()
    rendered = render(d, 15)
    assert rendered.page == "" and rendered.archive_html == rendered.html and rendered.hidden == 0
    assert "more stories in this window" not in rendered.html + rendered.text


def test_write_ups_that_overflow_alone_still_fit() -> None:
    """A config asking for 60 write-ups: the email keeps the first that fit, the rest by title or on the page."""
    digest = ten_thousand_article_digest(seed=5, written=60)
    rendered = render(digest, 60)
    assert len(rendered.html.encode()) < HTML_BUDGET and len(rendered.text.encode()) < TEXT_BUDGET
    shown = lxml.html.document_fromstring(rendered.html).find_class("story")
    assert 5 < len(shown) < 60
    assert shown[0].text_content().strip().startswith(digest.stories[0].lead.title)
    assert rendered.hidden > 0 and "Generated 26 Nov 2026" in rendered.html


def test_a_written_up_story_lists_its_first_reports_when_the_email_is_cut() -> None:
    big = ten_thousand_article_digest()
    lead = big.stories[0]
    many = replace(lead, articles=tuple(a for s in big.stories[:60] for a in s.articles))
    rendered = render(replace(big, stories=(many, *big.stories[1:])), 15)
    first = lxml.html.document_fromstring(rendered.html).find_class("story")[0].text_content()
    assert f"and {len(many.articles) - 4:,} more reports on the archived page" in " ".join(first.split())
    assert f"and {len(many.articles) - 4:,} more reports on the archived page" in rendered.text
    assert many.articles[3].title in first and many.articles[4].title not in first


def columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_the_text_part_reads_at_72_columns(big) -> None:
    """Every line fits a 72-column terminal but for a word alone on its line, never split (a URL, a path)."""
    for rendered in (big[1], render(three_language_digest(), 15)):
        for text in (rendered.text, rendered.archive_text):
            long = [line for line in text.splitlines() if columns(line) > 72
                    and not re.fullmatch(r"(\[\d+\] )?\S+", line.strip())]
            assert not long, long[:5]


def test_size_line_and_artifact_listing(big) -> None:
    """The run log's size line names each part in KB; the artifact's list is capped like the email."""
    digest, rendered = big
    line = size_line(rendered)
    html_kb, text_kb = (float(x) for x in re.findall(r"(?:HTML|text) (\d+\.\d) KB", line))
    assert html_kb == round(len(rendered.html.encode()) / 1000, 1) and text_kb < 60
    assert f"{rendered.hidden:,} (HTML)" in line
    lines = story_listing(digest, 15, archived="/srv/digests/x.html")
    assert sum(len(x.encode()) + 1 for x in lines) < 61_000
    assert lines[14].startswith("15. ") and re.fullmatch(
        r"\nand [\d,]+ more stories in this window: the archived page `/srv/digests/x\.html` lists them all", lines[-1])
    shown = len(lines) - 1
    assert lines[-1].startswith(f"\nand {len(digest.stories) - shown:,} more")
    small = story_listing(three_language_digest(), 15)
    assert small == ["1. Lavrov and Wang Yi meet in Bishkek (wire, vestnik, dongfang)"]


# --- the digest feed (issue 22): feed.xml beside index.html ---------------------

def test_the_archive_keeps_an_atom_feed_of_every_digest(tmp_path) -> None:
    """feedparser reads feed.xml back as valid Atom: one entry per digest, its subject, date, archived page and
    a summary naming its stories; a rewritten digest is still one entry, under the same id."""
    import feedparser

    first = three_language_digest()
    second = replace(one_story_digest(story_of(outlet_article("Xinhua on <the> talks & more.", "Xinhua")),
                                      config_path=None), window_end=NOW + timedelta(days=1),
                     created=NOW + timedelta(days=1), title='Digest "two" <b>\x0b')
    for d in (first, second, first):  # the first archived again: replaced, not added
        archive(d, render(d, 15), tmp_path)
    raw = (tmp_path / "feed.xml").read_bytes()
    feed = feedparser.parse(raw)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10" and len(feed.entries) == 2
    by_link = {e.link: e for e in feed.entries}
    assert set(by_link) == {f"{first.slug}.html", f"{second.slug}.html"}
    one, two = by_link[f"{first.slug}.html"], by_link[f"{second.slug}.html"]
    assert one.title == render(first, 15).subject and two.title.startswith('Digest "two" <b>')
    assert "Lavrov and Wang Yi meet in Bishkek" in one.summary and one.summary.startswith("1 story")
    assert one.updated_parsed[:4] == (2026, 11, 26, 8) and two.updated_parsed[:3] == (2026, 11, 27)
    assert one.id != two.id and feed.feed.updated_parsed[:3] == (2026, 11, 27)
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert 'type="application/atom+xml"' in index and 'href="feed.xml"' in index


def test_the_feed_names_the_first_stories_of_a_big_digest(big, tmp_path) -> None:
    import feedparser

    digest, rendered = big
    archive(digest, rendered, tmp_path)
    [entry] = feedparser.parse((tmp_path / "feed.xml").read_bytes()).entries
    assert digest.stories[9].lead.title in entry.summary and digest.stories[10].lead.title not in entry.summary
    assert entry.summary.endswith(f"; and {len(digest.stories) - 10:,} more.")


def test_a_developing_story_links_its_timeline_in_both_parts() -> None:
    """A story earlier digests carried links its page under the archive URL, written up or only listed by title,
    in HTML and text; a story new to the digests links none."""
    bodies = [("Russia and China agree timber quotas", "Russian loggers will ship more timber to Chinese mills "
               "under quotas agreed in Harbin, the forestry agency said after talks with Beijing."),
              ("Moscow and Beijing open grain corridor", "A new grain corridor from Siberia to Heilongjiang opened "
               "on Tuesday, and Russian wheat exports to China are expected to double."),
              ("Kremlin hosts Chinese satellite delegation", "Chinese navigation engineers met Russian officials in "
               "the Kremlin to link the BeiDou and GLONASS satellite systems, Moscow said.")]
    arts = [make_article(body, "feed", title=t, location=f"https://news.example/{i}", first_seen=SEEN)
            for i, (t, body) in enumerate(bodies)]
    d = digest_of(*arts, max_stories=1)
    ids = [f"{n:016x}" for n in range(len(d.stories))]
    before = [2, 1, 0]
    d = replace(d, stories=tuple(replace(s, story_id=i, digests_before=b)
                                 for s, i, b in zip(d.stories, ids, before)))
    rendered = render(d, 1, archive_url="https://briefing.example/archive/")
    url = "https://briefing.example/archive/stories/{}.html".format
    for i, b in zip(ids, before):
        assert (f'href="{url(i)}"' in rendered.html) == bool(b), i
        assert (url(i) in rendered.text) == bool(b), i
    text = " ".join(rendered.text.split())
    assert f"In 2 earlier digests; the story so far: {url(ids[0])}" in text
    assert f"In 1 earlier digest; the story so far: {url(ids[1])}" in text
    page = " ".join(lxml.html.fromstring(rendered.html).text_content().split())
    assert "In 1 earlier digest: the story so far" in page
    relative = render(d, 1)  # no archive URL: relative to the archive folder, as the archived copy reads it
    assert f'href="stories/{ids[0]}.html"' in relative.html
