"""Silent edits (issue 22): a keyed article republished with a new headline or a rewritten body is kept as a
revision; the next digest after the one that carried it says so; search shows the latest version, marked."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import TOPIC

from briefing.config import DigestConfig
from briefing.digest import (
    build_digest,
    last_delivered_end,
    plan_window,
    read_revisions,
    read_window,
    record_digest,
)
from briefing.extract import to_article
from briefing.relevance import load_topic
from briefing.render import render
from briefing.revisions import change_kind
from briefing.search import parse_query, search, to_jsonl
from briefing.store import Store
from briefing.types import Article, RawItem

T0 = datetime(2026, 11, 28, 6, tzinfo=timezone.utc)  # first fetch
T1 = T0 + timedelta(hours=5)  # the digest that carries it goes out
T2 = T0 + timedelta(hours=20)  # the outlet's edit is fetched
T3 = T0 + timedelta(days=1)  # the next digest

GUID = "urn:uuid:6f1c2a2e-0b5e-4d0c-9e0e-briefing-edit"
HEADLINE = "Moscow & Beijing sign a five-year pact on border grain trade"
NEW_HEADLINE = "Moscow & Beijing delay their pact on border grain trade"
BODY = ("Russia and China signed a five-year agreement on Monday to expand grain trade across their border, "
        "officials in Moscow and Beijing said after talks between the two governments.\n\n"
        "The Russian agriculture ministry said new rail terminals in the Far East would carry wheat and barley "
        "to Chinese buyers, and the Chinese commerce ministry said customs checks would be shortened.\n\n"
        "Analysts in Beijing said the deal would let Russia sell more of its harvest to China while Western "
        "markets stay closed to it, and that Chinese importers would pay in yuan.")
TYPO = BODY.replace("barley", "barely", 1).replace("Monday", "Monday,", 1)  # a letter and a comma
REWRITTEN = (BODY.split("\n\n")[0] + "\n\nThe Chinese side later said the terminals would not open before 2028, "
             "and that the volumes named in Moscow had not been agreed in Beijing.\n\n"
             "Russian officials declined to comment on the delay.")


def entry(title: str, body: str, now: datetime) -> Article:
    """A feed entry under one GUID, cleaned as ingest cleans it, first seen at ``now``."""
    item = RawItem("wire", "https://wire.example/grain-pact", body, "text", title=title, key=GUID)
    return to_article(item, now)


# --- the store ---------------------------------------------------------------------

def test_a_new_headline_keeps_one_article_and_the_first_version(store: Store) -> None:
    """Same GUID, new headline over the same text: one article (the latest), one revision (the first headline)."""
    first = entry(HEADLINE, BODY, T0)
    store.upsert_articles([first])
    edited = entry(NEW_HEADLINE, BODY, T2)
    assert edited.id == first.id and edited.content_hash == first.content_hash, "the hash is of the text alone"
    added, changed = store.upsert_articles([edited])
    assert (added, [a.id for a in changed]) == ([], [first.id])
    assert store.count_articles() == 1
    [now] = store.articles_seen_between(T0 - timedelta(days=1), T3)
    assert (now.title, now.first_seen) == (NEW_HEADLINE, T0), "the latest version, first seen when it was"
    [kept] = store.revisions(first.id)
    assert (kept.title, kept.text, kept.seen, kept.replaced, kept.change) == (HEADLINE, first.text, T0, T2, "headline")
    assert store.revised_at([first.id, "unknown"]) == {first.id: T2}


def test_a_typo_fix_updates_the_text_but_is_no_revision(store: Store) -> None:
    """A letter and a comma: the row takes the new text (search finds it), no revision is kept."""
    store.upsert_articles([entry(HEADLINE, BODY, T0)])
    fixed = entry(HEADLINE, TYPO, T2)
    _, changed = store.upsert_articles([fixed])
    assert [a.id for a in changed] == [fixed.id]
    assert store.revisions(fixed.id) == [] and store.revised_at([fixed.id]) == {}
    assert store.articles_seen_between(T0, T3)[0].text == fixed.text


def test_each_material_edit_is_a_revision_seen_from_the_one_before(store: Store) -> None:
    """Headline, then body: two revisions, the second seen from the first edit on; the window's read gives
    the version before the window's edits."""
    store.upsert_articles([entry(HEADLINE, BODY, T0)])
    store.upsert_articles([entry(NEW_HEADLINE, BODY, T2)])
    store.upsert_articles([entry(NEW_HEADLINE, REWRITTEN, T2 + timedelta(hours=1))])
    one, two = store.revisions(entry(HEADLINE, BODY, T0).id)
    assert (one.title, one.change, two.title, two.change) == (HEADLINE, "headline", NEW_HEADLINE, "text")
    assert (two.seen, two.replaced) == (T2, T2 + timedelta(hours=1))
    [(article, revision)] = store.articles_revised_between(T1, T3, seen_before=T1)
    assert (article.text, revision.title) == (entry(NEW_HEADLINE, REWRITTEN, T2).text, HEADLINE)
    assert store.articles_revised_between(T1, T3, seen_before=T0) == [], "first seen after the sent window"


def test_what_counts_as_material() -> None:
    """Case, punctuation and a typo are not an edit of the body; a rewritten paragraph, a headline word are."""
    assert change_kind(HEADLINE, BODY, HEADLINE.upper() + "!", TYPO) is None
    assert change_kind(HEADLINE, BODY, HEADLINE, REWRITTEN) == "text"
    assert change_kind(HEADLINE, BODY, NEW_HEADLINE, BODY) == "headline"


# --- the next digest ---------------------------------------------------------------

def _digest_after_edit(tmp_path: Path, title: str, body: str, *, delivered: bool = True,
                       written: int = DigestConfig().max_stories) -> tuple[str, str]:
    """Ingest at T0, a digest at T1 (delivered or not), the edit at T2, the next regular digest at T3: its parts."""
    topic = load_topic(TOPIC)
    with closing(Store.open_dir(tmp_path / "state")) as store:
        store.upsert_articles([entry(HEADLINE, BODY, T0)])
        first_window = plan_window(last_delivered_end(store), T1, 7)
        articles, earlier, health = read_window(store, first_window, "regular", 3, [])
        sent = build_digest(articles, topic, DigestConfig(), first_window, T1, health, earlier)
        assert [s.lead.title for s in sent.stories] == [HEADLINE], "the story went out"
        record_digest(store, sent, tmp_path / "digest-1.html", delivered=delivered)
        store.upsert_articles([entry(title, body, T2)])
        window = plan_window(last_delivered_end(store), T3, 7)
        articles, earlier, health = read_window(store, window, "regular", 3, [])
        digest = build_digest(articles, topic, DigestConfig(), window, T3, health, earlier,
                              revisions=read_revisions(store, window, "regular"))
    parts = render(digest, written)
    return parts.html, parts.text


@pytest.mark.parametrize("written", [DigestConfig().max_stories, 0], ids=["written-up", "listed"])
def test_the_next_digest_says_the_headline_changed(tmp_path: Path, written: int) -> None:
    """The story a delivered digest carried comes back with the note, in HTML (escaped) and in text, whether
    it is written up or only listed by title."""
    page, text = _digest_after_edit(tmp_path, NEW_HEADLINE, BODY, written=written)
    assert ("Also in this window" in text) == (written == 0)
    line = f'Updated since 28 Nov: headline changed from "{HEADLINE}" to "{NEW_HEADLINE}" (wire)'
    assert line.replace("&", "&amp;") in page, "escaped (the inliner writes quotes in text as they are)"
    assert line not in page
    assert " ".join(line.split()) in " ".join(text.split())  # wrapped at 72 columns


def test_a_rewritten_body_is_text_revised(tmp_path: Path) -> None:
    page, text = _digest_after_edit(tmp_path, HEADLINE, REWRITTEN)
    assert "Updated since 28 Nov: text revised (wire)" in page
    assert "Updated since 28 Nov: text revised (wire)" in text


def test_a_typo_fix_makes_no_note(tmp_path: Path) -> None:
    """Nothing material: the story is not brought back, and no digest says 'Updated'."""
    page, text = _digest_after_edit(tmp_path, HEADLINE, TYPO)
    assert "Updated since" not in page and "Updated since" not in text
    assert HEADLINE not in text


def test_an_edit_before_any_delivery_is_no_update(tmp_path: Path) -> None:
    """The digest that carried it was never delivered: the reader never saw the old headline."""
    page, text = _digest_after_edit(tmp_path, NEW_HEADLINE, BODY, delivered=False)
    assert "Updated since" not in page and "Updated since" not in text
    assert NEW_HEADLINE in text, "the undelivered window is read again, with the latest version"


# --- search ------------------------------------------------------------------------

def test_search_shows_the_latest_revision_marked_revised(store: Store) -> None:
    """The new headline is found, the old one's word no more; the hit says revised, an untouched one does not."""
    store.upsert_articles([entry(HEADLINE, BODY, T0)])
    other = to_article(RawItem("wire", "https://wire.example/other", BODY.replace("grain", "timber"), "text",
                               title="Timber pact signed", key="urn:other"), T0)
    store.upsert_articles([other])
    store.upsert_articles([entry(NEW_HEADLINE, BODY, T2)])
    hits = search(store, parse_query("delay"))
    assert [(h.article.title, h.revised) for h in hits] == [(NEW_HEADLINE, T2)]
    assert search(store, parse_query("sign")) == [], "the first headline's word left the index with it"
    records = [json.loads(line) for line in to_jsonl(search(store, parse_query("Beijing"))).splitlines()]
    assert {r["title"]: r["revised"] for r in records} == {NEW_HEADLINE: True, "Timber pact signed": False}


def test_the_search_command_marks_a_revised_hit(tmp_path: Path) -> None:
    """``briefing search``: the table names the revision after the location, the JSON line says revised."""
    from click.testing import CliRunner

    from briefing.cli import main

    path = tmp_path / "briefing.yaml"
    path.write_text(f"state_dir: {tmp_path / 'state'}\narchive_dir: {tmp_path / 'digests'}\nsources: []\n")
    with closing(Store.open_dir(tmp_path / "state")) as store:
        store.upsert_articles([entry(HEADLINE, BODY, T0)])
        store.upsert_articles([entry(NEW_HEADLINE, BODY, T2)])
    table = CliRunner().invoke(main, ["search", "grain", "--config", str(path)], catch_exceptions=False)
    assert table.exit_code == 0 and "Beijing delay their pact" in table.stdout and "sign a" not in table.stdout
    assert "https://wire.example/grain-pact  (revised 2026-11-29)" in table.stdout
    lines = CliRunner().invoke(main, ["search", "grain", "--jsonl", "--config", str(path)], catch_exceptions=False)
    [record] = [json.loads(line) for line in lines.stdout.splitlines()]
    assert (record["title"], record["revised"]) == (NEW_HEADLINE, True)
