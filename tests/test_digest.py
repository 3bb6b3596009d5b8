"""The digest as data: its window, what it keeps, what it merges, in what order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from conftest import INBOX, TOPIC

from briefing.config import DigestConfig
from briefing.digest import Window, build_digest, plan_window
from briefing.extract import to_article
from briefing.relevance import load_topic
from briefing.sources.folder import FolderSource

NOW = datetime(2026, 11, 26, 6, tzinfo=timezone.utc)


def test_first_window_looks_back_first_window_days() -> None:
    """With no delivered digest the window is the last N days up to now."""
    assert plan_window(None, NOW, 7) == Window(NOW - timedelta(days=7), NOW)


def test_next_window_starts_where_the_last_delivered_ended() -> None:
    """Windows chain without gaps or overlaps."""
    last_end = NOW - timedelta(hours=20)
    assert plan_window(last_end, NOW, 7) == Window(last_end, NOW)


def test_window_never_starts_in_the_future() -> None:
    """A clock set back does not give a negative window."""
    w = plan_window(NOW + timedelta(hours=1), NOW, 7)
    assert w.start <= w.end


def inbox_articles():
    outcome = FolderSource("inbox", INBOX).fetch()
    return [to_article(item, NOW - timedelta(hours=1)) for item in outcome.items]


def test_digest_of_samples_keeps_topic_merges_reprints() -> None:
    """Off-topic pieces are left out, the wire reprint is folded into its original, every story summarized."""
    articles = inbox_articles()
    d = build_digest(articles, load_topic(TOPIC), DigestConfig(), Window(NOW - timedelta(days=7), NOW), NOW)
    assert d.considered == 13 and d.relevant == 11 and d.duplicates == 1
    titles = [s.lead.title for s in d.stories]
    assert not any("coast road" in t or "farm subsidies" in t for t in titles)
    merged = [s for s in d.stories if s.duplicates]
    assert len(merged) == 1 and "rubles and yuan" in merged[0].lead.title
    for story in d.stories:
        assert 1 <= len(story.summary) <= 3
        sources_text = " ".join(a.text for a in story.articles)
        assert all(sentence.text in sources_text for sentence in story.summary), "verbatim"


def test_edited_version_replaces_the_old_one() -> None:
    """Two versions of one file in a window: the story shows the newest, once."""
    from briefing.types import RawItem

    body = ("Russia and China agreed on Monday to extend their border trade pact for five years, "
            "officials in Moscow and Beijing said after talks.")
    old = to_article(RawItem("inbox", "/x/a.txt", body), NOW - timedelta(hours=3))
    new = to_article(RawItem("inbox", "/x/a.txt", body + " The pact covers grain and timber."),
                     NOW - timedelta(hours=1))
    d = build_digest([old, new], load_topic(TOPIC), DigestConfig(), Window(NOW - timedelta(days=1), NOW), NOW)
    assert len(d.stories) == 1 and d.stories[0].lead.id == new.id
