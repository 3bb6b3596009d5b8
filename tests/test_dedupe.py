"""Duplicates (copies of one text) and stories (one event, many texts), on articles built to test each rule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import TOPIC
from hypothesis import given, settings
from hypothesis import strategies as st

from briefing.config import DigestConfig
from briefing.dedupe import duplicate_groups, fingerprint, story_groups
from briefing.digest import Window, build_digest
from briefing.extract import article_id, content_hash
from briefing.relevance import load_topic
from briefing.types import Article

NOW = datetime(2026, 11, 26, 6, tzinfo=timezone.utc)

WIRE = [
    "Russia and China signed an agreement on Tuesday to build a second gas pipeline through Mongolia, "
    "ending years of talks over the price of the fuel and the volumes Beijing would commit to buy.",
    "Under the deal Gazprom will ship up to 50 billion cubic metres a year to northern China from 2031, "
    "the Russian energy ministry said in a statement after the signing ceremony in Ulaanbaatar.",
    "Chinese officials said the price formula would be linked to oil benchmarks and reviewed every three "
    "years, a concession that Moscow had resisted since the project was first proposed in 2014.",
    "Analysts in Singapore said the agreement gave Beijing cheap long-term supply while giving Russia a "
    "buyer for gas it can no longer sell to Europe, but warned that construction could take six years.",
]
OTHER_EVENT = [
    "Russian and Chinese warships began a joint patrol in the Sea of Japan on Monday, the defence "
    "ministries in Moscow and Beijing said, the seventh such patrol since the two navies began them.",
    "Ten ships including destroyers and a submarine rescue vessel left Vladivostok for the exercise, "
    "which Japan said it would monitor closely after aircraft were sent near Hokkaido.",
    "Officials said the patrol would last three weeks and was not aimed at any third country, while "
    "Tokyo called the repeated patrols near its coast a matter of grave concern.",
]
SAME_EVENT_OTHER_WORDS = [
    "Moscow and Beijing have finally agreed terms for the Power of Siberia 2 pipeline, which will carry "
    "Russian gas across Mongolia to Chinese customers, officials confirmed in Ulaanbaatar on Tuesday.",
    "The agreement commits Gazprom to supply as much as 50 billion cubic metres of gas annually from "
    "2031, with the price tied to oil and reviewed every three years.",
    "Experts cautioned that building the pipeline would take about six years and that the deal leaves "
    "Russia dependent on a single large buyer for its eastern gas.",
]


def art(text: str, source: str = "wire", title: str = "Gas deal", hours: float = 1, location: str = "") -> Article:
    h = content_hash(text)
    return Article(article_id(source, h), source, location or f"https://{source}.example/{h[:8]}", title, text, h,
                   NOW - timedelta(hours=hours))


def body(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs)


@pytest.mark.parametrize("copy", [
    pytest.param(lambda ps: ("Pipeline pact sealed after years of haggling", body(ps)), id="reworded-headline"),
    pytest.param(lambda ps: ("Gas deal", body(ps[:-1])), id="trimmed-tail"),
    pytest.param(lambda ps: ("Gas deal", body(ps) + "\n\nFollow us on Telegram for more news."), id="boilerplate"),
    pytest.param(lambda ps: ("Gas deal", body([ps[0].replace("Tuesday", "Wednesday")] + ps[1:])), id="light-edit"),
    pytest.param(lambda ps: ("GAS DEAL", body(ps).upper().replace(".", "!")), id="case-and-punctuation"),
])
def test_copies_are_duplicates(copy) -> None:
    """A wire story and its republished copy form one duplicate group; the fuller copy is kept."""
    original = art(body(WIRE), "wire")
    title, text = copy(WIRE)
    other = art(text, "paper", title=title, hours=0.5)
    groups = duplicate_groups([original, other])
    assert len(groups) == 1 and {a.id for a in groups[0]} == {original.id, other.id}
    assert groups[0][0] is max((original, other), key=lambda a: len(a.text))


def test_same_url_is_a_duplicate_whatever_the_text() -> None:
    """One canonical URL (tracking parameters aside) is one article."""
    a = art(body(WIRE), "feed-a", location="https://news.example/gas?utm_source=rss")
    b = art(body(OTHER_EVENT), "feed-b", location="https://NEWS.example/gas#top")
    assert len(duplicate_groups([a, b])) == 1


def test_same_topic_different_events_stay_apart() -> None:
    """Two Russia–China stories about different events are neither duplicates nor one story."""
    a, b = art(body(WIRE), "wire"), art(body(OTHER_EVENT), "navy", title="Joint patrol")
    assert len(duplicate_groups([a, b])) == 2
    assert len(story_groups([a, b])) == 2


def test_same_event_other_words_is_one_story() -> None:
    """Independent write-ups of one event are one story but not duplicates."""
    a = art(body(WIRE), "wire")
    b = art(body(SAME_EVENT_OTHER_WORDS), "daily", title="Power of Siberia 2 terms agreed")
    c = art(body(OTHER_EVENT), "navy", title="Joint patrol")
    assert len(duplicate_groups([a, b, c])) == 3
    stories = story_groups([a, b, c])
    assert sorted(len(s) for s in stories) == [1, 2]


def test_far_apart_in_time_is_not_one_story() -> None:
    """The same words a month apart are two stories (story_days)."""
    a = art(body(WIRE), "wire")
    b = art(body(SAME_EVENT_OTHER_WORDS), "daily", hours=24 * 30)
    assert len(story_groups([a, b])) == 2


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(4)))
def test_grouping_does_not_depend_on_order(order: list[int]) -> None:
    """Dedupe and story grouping give the same partition whatever the input order."""
    items = [art(body(WIRE), "wire"), art(body(WIRE[:-1]), "paper", hours=2),
             art(body(SAME_EVENT_OTHER_WORDS), "daily"), art(body(OTHER_EVENT), "navy", title="Patrol")]
    ordered = [items[i] for i in order]

    def partition(groups):
        return sorted(sorted(a.id for a in g) for g in groups)

    assert partition(duplicate_groups(ordered)) == partition(duplicate_groups(items))
    best = [g[0] for g in duplicate_groups(ordered)]
    assert partition(story_groups(best)) == partition(story_groups([g[0] for g in duplicate_groups(items)]))


@given(st.text(min_size=1, max_size=200))
def test_whitespace_and_case_do_not_change_the_fingerprint(text: str) -> None:
    """The exact-duplicate key ignores spacing and case."""
    assert fingerprint(text) == fingerprint("  " + text.upper().replace(" ", "\n ") + " ")


def test_developing_story_shows_earlier_coverage() -> None:
    """A new article continuing a story from before the window marks it developing; old copies are not news."""
    topic = load_topic(TOPIC)
    earlier = art(body(WIRE), "wire", hours=30)
    new = art(body(SAME_EVENT_OTHER_WORDS), "daily", title="Power of Siberia 2 terms agreed", hours=2)
    reprint = art(body(WIRE[:-1]), "paper", hours=3)
    window = Window(NOW - timedelta(hours=24), NOW)
    d = build_digest([new, reprint], topic, DigestConfig(), window, NOW, earlier=[earlier])
    [story] = d.stories
    assert [a.id for a in story.articles] == [new.id] and [a.id for a in story.earlier] == [earlier.id]
    assert story.first_seen == earlier.first_seen
    only_reprint = build_digest([reprint], topic, DigestConfig(), window, NOW, earlier=[earlier])
    assert only_reprint.stories == (), "a copy of an earlier article is not news"
