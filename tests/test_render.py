"""Rendering: untrusted text is escaped, the email is table-based with inline CSS, nothing relevant is dropped."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from conftest import TOPIC, make_article

from briefing.config import DigestConfig
from briefing.digest import Window, build_digest
from briefing.relevance import load_topic
from briefing.render import archive, render
from briefing.types import Article, Digest, Relevance, Sentence, Story

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
