"""Rendering: untrusted text is escaped, the email is table-based with inline CSS, nothing relevant is dropped."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from conftest import TOPIC, make_article

from briefing.config import DigestConfig
from briefing.digest import Window, build_digest
from briefing.relevance import load_topic
from briefing.render import archive, render
from briefing.types import Article

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
