"""Story timelines (issue 22): a story keeps its id across digests; a story in more than one digest gets a page in
the archive (first report, each outlet's first report, each digest it was in, the updates) that the digest links.
On a real SQLite file and on the throwaway PostgreSQL; the flow on the real Prefect server."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import lxml.html
import pytest
import yaml
from conftest import TOPIC, make_article
from sqlalchemy import event, inspect

from briefing.config import DigestConfig
from briefing.digest import (
    build_digest,
    last_delivered_end,
    plan_window,
    publish_timelines,
    read_revisions,
    read_window,
    record_digest,
)
from briefing.exceptions import StorageError
from briefing.extract import to_article
from briefing.relevance import load_topic
from briefing.render import archive, render, render_timeline
from briefing.store import MIGRATIONS, Store, StoryEntry
from briefing.timelines import (
    Timeline,
    identify_stories,
    story_ids,
    story_members,
    timeline,
    timeline_name,
    updates,
)
from briefing.types import Article, Digest, RawItem, Relevance, Revision, Story

UTC = timezone.utc
T0 = datetime(2026, 11, 28, 6, tzinfo=UTC)  # the first report arrives
T1 = T0 + timedelta(hours=5)  # digest 1
T2 = T0 + timedelta(hours=20)  # the follow-up arrives, and the first report's headline is edited
T3 = T0 + timedelta(days=1)  # digest 2

HEADLINE = "Russia & China sign <grain> trade pact"
NEW_HEADLINE = "Russia & China sign a five-year grain trade pact"
FIRST = ("Russia and China signed a five-year agreement on Monday to expand grain trade across their border, "
         "officials in Moscow and Beijing said after talks between the two governments.\n\n"
         "The Russian agriculture ministry said new rail terminals in the Far East would carry wheat and barley "
         "to Chinese buyers, and the Chinese commerce ministry said customs checks would be shortened.")
FOLLOW = ("The first trains loaded with Russian wheat crossed into China on Wednesday under the grain trade agreement "
          "Moscow and Beijing signed on Monday, the Russian agriculture ministry said.\n\n"
          "Chinese customs officers in Heilongjiang cleared the wheat and barley at the new rail terminals within "
          "hours, the Chinese commerce ministry said, as the two governments promised to expand border grain trade.")
THIRD = ("Russian grain trains under the border grain trade agreement signed by Moscow and Beijing on Monday will "
         "double next week, the Chinese commerce ministry said, as the new rail terminals in the Far East cleared "
         "wheat and barley for Chinese buyers.\n\n"
         "Officials of the Russian agriculture ministry said customs checks in Heilongjiang now took hours, and that "
         "the two governments would expand grain trade across their border again next year.")
FOLLOW_TITLE = "First Russian grain trains cross into China under new pact"


def first_report(title: str, now: datetime) -> Article:
    """Reuters' report, keyed by its GUID (so a new headline is an edit of it)."""
    return to_article(RawItem("wire", "https://wire.example/grain-pact", FIRST, "text", title=title,
                              key="urn:grain-pact", outlet="Reuters"), now)


def follow_up(now: datetime) -> Article:
    return to_article(RawItem("tass", "https://tass.example/grain-trains", FOLLOW, "text", title=FOLLOW_TITLE,
                              outlet="TASS"), now)


def run_digest(store: Store, now: datetime, archive_dir: Path, *, delivered: bool = True,
               archive_url: str | None = None) -> tuple[Digest, str, str, list[Path]]:
    """One regular digest as the flow makes it: read, compose, identify, render, archive, record, timelines."""
    window = plan_window(last_delivered_end(store), now, 7)
    articles, earlier, health = read_window(store, window, "regular", 3, [])
    digest = build_digest(articles, load_topic(TOPIC), DigestConfig(), window, now, health, earlier,
                          revisions=read_revisions(store, window, "regular"))
    digest = identify_stories(store, digest)
    rendered = render(digest, DigestConfig().max_stories, archive_url=archive_url)
    path = archive(digest, rendered, archive_dir)
    digest_id = record_digest(store, digest, path, delivered)
    pages = publish_timelines(store, digest, digest_id, archive_dir)
    return digest, rendered.html, rendered.text, pages


# --- the id: pure -------------------------------------------------------------------

def _story(*articles: Article, earlier: tuple[Article, ...] = ()) -> Story:
    return Story(lead=articles[0], articles=articles, relevance=Relevance(1.0, True), earlier=earlier)


A, B, C, D = (make_article(f"Report {n} on Russia and China.", title=f"R{n}") for n in "abcd")


def test_a_new_story_takes_a_stable_id_from_its_lead() -> None:
    """No article known: an id made from the lead's id, the same on every call, another for another lead."""
    one = story_ids([_story(A, B)], {}, {})
    assert one == story_ids([_story(A, C)], {}, {}) and len(one[0]) == 16
    assert one != story_ids([_story(B, A)], {}, {})


def test_a_developing_story_keeps_the_id_of_its_earlier_coverage() -> None:
    """A known article anywhere in the story (here only its earlier coverage) gives the story its id."""
    assert story_ids([_story(C, earlier=(A,))], {A.id: "old"}, {"old": 1}) == ["old"]
    assert story_members(_story(C, B, earlier=(A,))) == (C.id, B.id, A.id)


def test_two_stories_that_merge_keep_the_older_id() -> None:
    """The story first recorded in the earlier digest wins; on a tie, the smaller id."""
    known = {A.id: "later", B.id: "older"}
    assert story_ids([_story(C, A, B)], known, {"later": 5, "older": 2}) == ["older"]
    assert story_ids([_story(C, A, B)], known, {"later": 2, "older": 2}) == ["later"]


def test_a_story_that_split_keeps_its_id_in_its_first_part_only() -> None:
    """Two stories of one digest never share an id: the first (by rank) keeps it, the next gets a new one."""
    known = {A.id: "old", B.id: "old"}
    first, second = story_ids([_story(C, A), _story(D, B)], known, {"old": 1})
    assert first == "old" and second not in ("old", first)
    assert second == story_ids([_story(D)], {}, {})[0]


def test_only_digests_a_reader_saw_before_this_one_count() -> None:
    """Earlier digests: delivered ones and backfills ended by this window's end; not a failed send, not a later
    window (a backfill made afterwards), not this digest's own row (a retried run)."""
    from briefing.store import DigestRecord, StoryAppearance
    from briefing.timelines import with_ids

    digest = Digest("D", T2, T3, T3, (_story(C, earlier=(A,)),), 2, 2, 0)

    def seen(n: int, end: datetime, delivered: bool, kind: str = "regular", start: datetime | None = None) -> object:
        record = DigestRecord(n, start or end - timedelta(hours=5), end, end, delivered, None, 1, 1, kind)
        return StoryAppearance("old", record, "R-a", 1)

    rows = [seen(1, T1, True), seen(2, T1, False), seen(3, T1 - timedelta(days=9), False, "backfill"),
            seen(4, T3 + timedelta(days=2), True), seen(5, T3, True, start=T2)]
    [story] = with_ids(digest, {A.id: "old"}, {"old": rows}).stories  # type: ignore[dict-item]
    assert (story.story_id, story.digests_before) == ("old", 2)


def test_updates_name_the_headline_after_each_edit() -> None:
    """Each revision kept the version before an edit: the headline after it is the next one's, then the current."""
    now = make_article("Report a on Russia and China.", title="Third")
    revs = [Revision(now.id, "First", now.text, T0, T1, "headline"), Revision(now.id, "Second", "x", T1, T2, "text")]
    got = updates([now], {now.id: revs})
    assert [(u.when, u.change, u.before, u.after) for u in got] == [(T1, "headline", "First", "Second"),
                                                                   (T2, "headline", "Second", "Third")]
    same = [Revision(now.id, "Third", "old text", T0, T1, "text")]
    assert [u.change for u in updates([now], {now.id: same})] == ["text"]


# --- the store ----------------------------------------------------------------------

def _ledger_row(store: Store, end: datetime, delivered: bool = True) -> int:
    return store.record_digest(window_start=end - timedelta(days=1), window_end=end, created=end,
                               delivered=delivered, archive_path=f"/archive/digest-{end:%d}.html", stories=1,
                               articles=1)


def test_the_store_keeps_each_articles_first_story(store: Store) -> None:
    """Recorded stories read back in order; an article stays in the first story it was in; a rerun adds nothing."""
    store.add_articles([A, B, C])
    one = _ledger_row(store, T1)
    store.record_stories(one, [StoryEntry("s1", "R-a", (A.id, B.id))])
    two = _ledger_row(store, T3)
    entries = [StoryEntry("s2", "R-c", (C.id, B.id)), StoryEntry("s1", "R-a again", (A.id,))]
    store.record_stories(two, entries)
    store.record_stories(two, entries)  # a retried run
    assert store.stories_of([A.id, B.id, C.id, "unknown"]) == {A.id: "s1", B.id: "s1", C.id: "s2"}
    seen = store.story_appearances(["s1", "s2", "none"])
    assert [(a.digest.id, a.title, a.position) for a in seen["s1"]] == [(one, "R-a", 1), (two, "R-a again", 2)]
    assert [(a.digest.id, a.position, a.digest.window_end) for a in seen["s2"]] == [(two, 1, T3)]
    assert "none" not in seen
    got = store.story_articles(["s1", "s2"])
    assert ({k: sorted(a.id for a in v) for k, v in got.items()}
            == {"s1": sorted([A.id, B.id]), "s2": [C.id]})
    assert got["s2"][0] == C


def test_migration_0008_adds_the_story_tables(legacy_store: Path) -> None:
    """A store from before timelines gains both tables, and its ledger reads on."""
    names = [n for n, _ in MIGRATIONS]
    assert names.index("0008_story_timelines") == names.index("0007_article_revisions") + 1
    with closing(Store(f"sqlite:///{legacy_store}")) as s:
        tables = set(inspect(s.engine).get_table_names())
        assert {"story_articles", "digest_stories"} <= tables
        assert [d.id for d in s.digests()] == [1]
        s.record_stories(1, [StoryEntry("s1", "old", ())])
        assert [a.digest.id for a in s.story_appearances(["s1"])["s1"]] == [1]


@pytest.fixture
def locked_store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'locked.sqlite'}")
    event.listen(s.engine, "connect", lambda dbapi_conn, _rec: dbapi_conn.execute("PRAGMA busy_timeout=100"))
    s.engine.dispose()
    yield s
    s.close()


@pytest.mark.parametrize("call", [
    lambda s: s.record_stories(1, [StoryEntry("s1", "t", ("a",))]),
    lambda s: s.stories_of(["a"]),
    lambda s: s.story_appearances(["s1"]),
    lambda s: s.story_articles(["s1"]),
], ids=["record_stories", "stories_of", "story_appearances", "story_articles"])
def test_a_locked_database_is_a_storage_error(locked_store: Store, tmp_path: Path, call) -> None:
    _ledger_row(locked_store, T1)
    locked_store.engine.dispose()  # an open pooled connection would keep the exclusive lock out
    conn = sqlite3.connect(tmp_path / "locked.sqlite", timeout=0.1, isolation_level=None)
    conn.execute("PRAGMA locking_mode=EXCLUSIVE")  # readers are kept out too
    conn.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StorageError, match="locked"):
            call(locked_store)
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    call(locked_store)


# --- two digests: the id, the link, the page ------------------------------------------

def test_a_developing_story_keeps_its_id_and_gets_a_page(store: Store, tmp_path: Path) -> None:
    """Digest 1 carries Reuters' report; then TASS follows up and Reuters edits its headline: digest 2 carries
    the story under the same id, links its page, and the page lists both reports, both digests and the edit."""
    archive_dir = tmp_path / "archive"
    store.upsert_articles([first_report(HEADLINE, T0)])
    one, html1, text1, pages1 = run_digest(store, T1, archive_dir)
    [story1] = one.stories
    assert story1.story_id and story1.digests_before == 0 and pages1 == []
    assert "story so far" not in html1 and "story so far" not in text1, "a new story has no timeline yet"

    store.upsert_articles([follow_up(T2), first_report(NEW_HEADLINE, T2)])
    two, html2, text2, pages2 = run_digest(store, T3, archive_dir)
    [story2] = two.stories
    assert (story2.story_id, story2.digests_before) == (story1.story_id, 1), "the same story, seen once before"
    name = timeline_name(story1.story_id)
    assert pages2 == [archive_dir / name]
    assert f'href="{name}"' in html2, "relative to the archive folder when no archive_url is given"
    assert f"In 1 earlier digest; the story so far: {name}" in " ".join(text2.split())
    assert f'href="{name}"' in (archive_dir / f"{two.slug}.html").read_text(encoding="utf-8"), "and the archived page"

    page = pages2[0].read_text(encoding="utf-8")
    assert "<grain>" not in page and "&lt;grain&gt;" in page, "escaped"
    doc = lxml.html.fromstring(page)
    body = " ".join(doc.text_content().split())
    assert f"First report {HEADLINE} Reuters, {T0:%-d %b %Y} 06:00 UTC" in body, "as it was first seen"
    assert "Each outlet's first report (2)" in body
    assert body.index("Reuters, 28 Nov 2026") < body.index("TASS, 29 Nov 2026"), "in the order they reported"
    assert "In the digests (2)" in body
    links = [a.get("href") for a in doc.iter("a")]
    assert f"../{one.slug}.html" in links and f"../{two.slug}.html" in links
    assert "https://tass.example/grain-trains" in links and "https://wire.example/grain-pact" in links
    assert f'headline changed from “{HEADLINE}” to “{NEW_HEADLINE}”' in body
    assert doc.get("lang") == "en" and all(el.get("lang") for el in doc.iter("span") if el.text == FOLLOW_TITLE)
    assert "prefers-color-scheme: dark" in page, "the digest's dark palette"

    # digest 3: the story continues; the page is refreshed with the third digest, links from a public archive
    store.upsert_articles([to_article(RawItem("xinhua", "https://xinhua.example/grain", THIRD, "text",
                                              title="Grain pact trains double as Russia and China expand trade",
                                              outlet="Xinhua"), T3 + timedelta(hours=2))])
    three, html3, _, pages3 = run_digest(store, T3 + timedelta(hours=5), archive_dir,
                                         archive_url="https://news.example/archive/")
    assert [s.story_id for s in three.stories] == [story1.story_id] and three.stories[0].digests_before == 2
    assert f'href="https://news.example/archive/{name}"' in html3
    assert "In the digests (3)" in " ".join(lxml.html.fromstring(pages3[0].read_text()).text_content().split())


def test_an_undelivered_digest_gives_no_timeline(store: Store, tmp_path: Path) -> None:
    """Its send failed: the rerun carries the story again, with its id, but the reader saw it in no digest."""
    store.upsert_articles([first_report(HEADLINE, T0)])
    one, _, _, _ = run_digest(store, T1, tmp_path / "archive", delivered=False)
    again, html, text, pages = run_digest(store, T3, tmp_path / "archive")
    assert again.stories[0].story_id == one.stories[0].story_id and again.stories[0].digests_before == 0
    assert pages == [] and "story so far" not in html and "story so far" not in text
    assert not (tmp_path / "archive" / "stories").exists()


def test_publishing_twice_records_nothing_twice(store: Store, tmp_path: Path) -> None:
    """A retried publish (same digest, same row) neither duplicates the rows nor counts the digest twice."""
    archive_dir = tmp_path / "archive"
    store.upsert_articles([first_report(HEADLINE, T0)])
    run_digest(store, T1, archive_dir)
    store.upsert_articles([follow_up(T2)])
    two, _, _, _ = run_digest(store, T3, archive_dir)
    [row] = [d for d in store.digests() if d.window_end == T3]
    assert publish_timelines(store, two, row.id, archive_dir) == [archive_dir / timeline_name(two.stories[0].story_id)]
    sid = two.stories[0].story_id
    assert sid is not None and len(store.story_appearances([sid])[sid]) == 2
    assert identify_stories(store, two).stories[0].digests_before == 1, "its own row is not an earlier digest"


# --- the page, by hand --------------------------------------------------------------

def test_the_page_marks_each_headline_with_its_language() -> None:
    """A Russian and a Chinese report: lang="ru" and lang="zh" on their headlines, on the page's own too."""
    from briefing.store import DigestRecord, StoryAppearance

    ru = Article("ru1", "ru", "https://ru.example/1", "Путин и Си подписали соглашение о зерне", "Путин и Си "
                 "подписали соглашение о поставках зерна в Китай.", "h1", T0, outlet="ТАСС", lang="ru")
    zh = Article("zh1", "zh", "/inbox/zh.md", "中俄签署粮食协议", "中俄两国签署了粮食贸易协议。", "h2", T2,
                 outlet="新华社", lang="zh")
    record = DigestRecord(1, T0, T1, T1, True, "/archive/digest-1.html", 1, 2)
    seen = [StoryAppearance("s1", record, zh.title, 1)]
    page_data = timeline("s1", [zh, ru], seen, {})
    assert isinstance(page_data, Timeline) and page_data.first == ru
    page = render_timeline(page_data, "Russia–China Relations Digest", T3)
    doc = lxml.html.fromstring(page)
    langs = {el.text_content().strip("“”"): el.get("lang") for el in doc.iter() if el.get("lang")}
    assert langs[ru.title] == "ru" and langs[zh.title] == "zh"
    assert '<a href="https://ru.example/1"' in page and 'href="/inbox/zh.md"' not in page, "files are not links"
    assert timeline("s1", [zh], [], {}) is None, "in no counted digest: no page"


# --- the flow -----------------------------------------------------------------------

def _write_report(folder: Path, name: str, title: str, body: str, outlet: str, url: str) -> None:
    meta = yaml.safe_dump({"title": title, "outlet": outlet, "url": url}, allow_unicode=True)
    (folder / name).write_text(f"---\n{meta}---\n\n{body}\n", encoding="utf-8")


@pytest.mark.usefixtures("prefect_server")
def test_two_flow_runs_link_the_developing_story_to_its_page(tmp_path: Path) -> None:
    """briefing_flow twice over a folder: the second digest links the story's page, which lists both digests."""
    from flows.briefing import briefing_flow

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _write_report(inbox, "a.md", HEADLINE, FIRST, "Reuters", "https://wire.example/grain-pact")
    config = tmp_path / "briefing.yaml"
    config.write_text(yaml.safe_dump({"state_dir": "state", "archive_dir": "archive", "topic": str(TOPIC),
                                      "sources": [{"name": "inbox", "folder": str(inbox)}]}), encoding="utf-8")
    first = briefing_flow(str(config))
    assert first.status == "archived" and first.path is not None
    assert not (tmp_path / "archive" / "stories").exists()

    _write_report(inbox, "b.md", FOLLOW_TITLE, FOLLOW, "TASS", "https://tass.example/grain-trains")
    second = briefing_flow(str(config))
    assert second.status == "archived" and second.path is not None and second.stories == 1
    [page] = sorted((tmp_path / "archive" / "stories").glob("*.html"))
    uri = page.resolve().as_uri()  # no archive_url configured: the archive folder's file URI, as the email has
    assert f'href="{uri}"' in second.path.read_text(encoding="utf-8")
    assert uri in second.path.with_suffix(".txt").read_text(encoding="utf-8")
    body = " ".join(lxml.html.fromstring(page.read_text(encoding="utf-8")).text_content().split())
    assert "In the digests (2)" in body and "Each outlet's first report (2)" in body
    assert f"../{first.path.name}" in page.read_text(encoding="utf-8")
