"""The store against real SQLite: a file under tmp_path and an in-memory database."""

from __future__ import annotations

import os
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import make_article
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from briefing.exceptions import StorageError
from briefing.extract import content_hash
from briefing.sources import FetchState
from briefing.store import Store, schema
from briefing.types import Article, SourceHealth

UTC = timezone.utc
T0 = datetime(2026, 11, 3, 12, 0, 0, 123456, tzinfo=UTC)
WIDE = (datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))


@pytest.fixture(params=["file", "memory", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    # "sqlite://" is in-memory; SQLAlchemy keeps one connection per thread for it, so tables persist.
    if request.param == "postgres":
        s = Store(request.getfixturevalue("postgres_url"))
    else:
        s = Store.open_dir(tmp_path / "state") if request.param == "file" else Store("sqlite://")
    yield s
    s.close()


def _failures(store: Store, name: str) -> int:
    # source_health() does not expose the counter, so read the column directly.
    with store.engine.connect() as conn:
        return conn.scalar(select(schema.sources.c.failures).where(schema.sources.c.name == name))


# --- articles -----------------------------------------------------------------

def test_add_articles_returns_only_new_ones(store: Store) -> None:
    """add_articles returns the articles it inserted, and [] when all are already stored."""
    a, b = make_article("First story."), make_article("Second story.", location="inbox/b.txt")
    assert store.add_articles([a]) == [a]
    assert store.add_articles([a, b]) == [b]
    assert store.add_articles([a, b]) == []
    assert store.add_articles([]) == []
    assert store.count_articles() == 2
    assert store.has_articles([a.id, b.id, "missing"]) == {a.id, b.id}


def test_edited_document_is_a_new_article(store: Store) -> None:
    """Same location with different text gets a new id and is stored beside the old version."""
    old = make_article("Talks resumed on Monday.", location="inbox/a.txt")
    edited = make_article("Talks resumed on Monday, officials said.", location="inbox/a.txt")
    assert old.location == edited.location and old.id != edited.id
    store.add_articles([old])
    assert store.add_articles([edited]) == [edited]
    assert {a.id for a in store.articles_seen_between(*WIDE)} == {old.id, edited.id}


def test_rewrapped_text_is_not_an_edit(store: Store) -> None:
    """Whitespace-only changes keep the content hash, so the article is not stored twice."""
    store.add_articles([make_article("Talks resumed\non Monday.")])
    assert store.add_articles([make_article("Talks  resumed on   Monday.")]) == []


def test_articles_seen_between_is_half_open(store: Store) -> None:
    """articles_seen_between includes start, excludes end, and sorts oldest first."""
    times = [T0 + timedelta(hours=h) for h in range(4)]
    arts = [make_article(f"Story {i}.", location=f"x/{i}", first_seen=t) for i, t in enumerate(times)]
    store.add_articles(reversed(arts))
    assert store.articles_seen_between(times[1], times[3]) == arts[1:3]
    assert store.articles_seen_between(times[0], times[0]) == []
    assert store.articles_seen_between(times[3], times[3] + timedelta(microseconds=1)) == [arts[3]]


def test_round_trip_keeps_every_field_and_returns_utc(store: Store) -> None:
    """Every Article field comes back equal, with tz-aware UTC datetimes (also for non-UTC input)."""
    plus3 = timezone(timedelta(hours=3))
    dated = make_article("Dated.", location="x/1", first_seen=T0.astimezone(plus3),
                         published=datetime(2026, 11, 2, 23, 30, tzinfo=plus3))
    undated = make_article("Undated.", location="x/2", first_seen=T0 + timedelta(seconds=1), published=None)
    store.add_articles([dated, undated])
    got = store.articles_seen_between(*WIDE)
    assert got == [dated, undated]
    for article in got:
        assert article.first_seen.utcoffset() == timedelta(0)
        assert article.first_seen.tzinfo == UTC
    assert got[0].published == datetime(2026, 11, 2, 20, 30, tzinfo=UTC)
    assert got[0].published.tzinfo == UTC
    assert got[1].published is None
    assert got[0].first_seen.microsecond == 123456


def test_naive_datetimes_are_rejected_as_storage_error(store: Store) -> None:
    """A naive datetime raises StorageError (wrapping the ValueError), and the batch is not half-written."""
    good = make_article("Good.", location="x/good")
    naive = make_article("Naive.", location="x/naive", first_seen=datetime(2026, 11, 3, 12, 0))
    with pytest.raises(StorageError, match="naive datetime") as info:
        store.add_articles([good, naive])
    assert not isinstance(info.value, ValueError)
    assert isinstance(getattr(info.value.__cause__, "orig", None), ValueError)
    assert store.count_articles() == 0
    with pytest.raises(StorageError, match="naive datetime"):
        store.articles_seen_between(datetime(2026, 1, 1), datetime(2027, 1, 1))
    with pytest.raises(StorageError, match="naive datetime"):
        store.record_digest(window_start=datetime(2026, 1, 1), window_end=T0, created=T0,
                            delivered=True, archive_path=None, stories=0, articles=0)


# Text as extraction leaves it: no NUL or other control characters (to_article strips them).
title_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")) | st.sampled_from("\n\t"),
                     min_size=1).filter(lambda s: s.strip())
aware = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1),
                     timezones=st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-14),
                                                                 max_value=timedelta(hours=14))))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=title_text, text=title_text, first_seen=aware, published=st.none() | aware)
def test_any_unicode_article_round_trips(store: Store, title: str, text: str, first_seen: datetime,
                                         published: datetime | None) -> None:
    """Any article with unicode title/text and any aware datetimes comes back unchanged."""
    article = Article(id=uuid.uuid4().hex[:20], source="src", location=f"loc/{title}", title=title,
                      text=text, content_hash=content_hash(text), first_seen=first_seen, published=published)
    assert store.add_articles([article]) == [article]
    window = store.articles_seen_between(first_seen, first_seen + timedelta(microseconds=1))
    assert [a for a in window if a.id == article.id] == [article]


# --- digest ledger --------------------------------------------------------------

def _digest(store: Store, start_day: int, delivered: bool, path: str | None = None) -> int:
    start = datetime(2026, 11, start_day, 6, tzinfo=UTC)
    return store.record_digest(window_start=start, window_end=start + timedelta(days=1), created=start,
                               delivered=delivered, archive_path=path, stories=3, articles=7)


def test_last_delivered_skips_undelivered_and_takes_latest_window(store: Store) -> None:
    """last_delivered is None until a delivery, ignores undelivered digests, and picks the latest window."""
    assert store.last_delivered() is None
    _digest(store, 10, delivered=False)
    assert store.last_delivered() is None
    second = _digest(store, 2, delivered=True, path="digests/b.html")
    first = _digest(store, 1, delivered=True, path="digests/a.html")  # recorded later, older window
    _digest(store, 20, delivered=False)
    last = store.last_delivered()
    assert last is not None and last.id == second != first
    assert last.window_start == datetime(2026, 11, 2, 6, tzinfo=UTC)
    assert last.window_end == datetime(2026, 11, 3, 6, tzinfo=UTC)
    assert last.window_end.tzinfo == UTC
    assert (last.delivered, last.archive_path, last.stories, last.articles) == (True, "digests/b.html", 3, 7)
    assert [d.window_start.day for d in store.digests()] == [20, 10, 2, 1]


# --- sources -----------------------------------------------------------------------

def test_fetch_state_and_health_round_trip(store: Store) -> None:
    """record_fetch keeps ETag/Last-Modified, counts failures until a success, and feeds source_health."""
    assert store.fetch_state("feed") == FetchState(None, None)
    state = FetchState('W/"abc"', "Tue, 03 Nov 2026 10:00:00 GMT")
    store.record_fetch(SourceHealth("feed", "ok", items=5, new=2), T0, state)
    got = store.fetch_state("feed")
    assert (got.etag, got.last_modified, got.failures, got.last_fetched) == (state.etag, state.last_modified, 0, T0)
    assert store.source_health() == [SourceHealth("feed", "ok", items=5, new=2)]
    assert _failures(store, "feed") == 0

    for _ in range(2):
        store.record_fetch(SourceHealth("feed", "failed", error="HTTP 503"), T0, state)
    assert _failures(store, "feed") == 2 == store.fetch_state("feed").failures
    assert store.fetch_state("feed").last_error == "HTTP 503"
    assert store.source_health() == [SourceHealth("feed", "failed", error="HTTP 503")]

    store.record_fetch(SourceHealth("feed", "not-modified"), T0, state)
    assert _failures(store, "feed") == 0
    store.record_fetch(SourceHealth("folder", "ok", items=1, new=1), T0, FetchState())
    assert store.fetch_state("folder") == FetchState(failures=0, last_fetched=T0)
    assert [h.source for h in store.source_health()] == ["feed", "folder"]
    assert store.source_health(["folder"]) == [SourceHealth("folder", "ok", items=1, new=1)]


# --- migrations and file handling ----------------------------------------------------

def test_reopening_applies_migrations_once(tmp_path: Path) -> None:
    """Reopening the same file keeps the data and the migrations table holds one 0001_initial row."""
    state = tmp_path / "state"
    first = Store.open_dir(state)
    article = make_article("Kept across reopen.")
    first.add_articles([article])
    first.close()
    second = Store.open_dir(state)
    assert second.articles_seen_between(*WIDE) == [article]
    second.close()
    with sqlite3.connect(state / "briefing.sqlite") as conn:
        assert conn.execute("SELECT name FROM migrations ORDER BY name").fetchall() == [
            ("0001_initial",), ("0002_digest_kinds_and_locks",), ("0003_article_teasers",), ("0004_article_outlets",),
            ("0005_article_search",), ("0006_article_languages",), ("0007_article_revisions",),
            ("0008_story_timelines",), ("0009_article_search_batches",)]


def test_each_article_keeps_its_language_and_an_older_store_gains_them(tmp_path: Path) -> None:
    """Cleaning identifies the language once; the store keeps it; 0006 identifies the rows stored before it."""
    from briefing.extract import to_article
    from briefing.types import RawItem

    texts = {"en": "Russia and China signed a new gas agreement in Beijing on Monday, officials said.",
             "ru": "Россия и Китай подписали в понедельник в Пекине новое газовое соглашение.",
             "zh": "中俄两国周一在北京签署了新的天然气协议，双方官员表示。"}
    articles = [to_article(RawItem("wire", f"/in/{lang}.txt", text, "text"), T0) for lang, text in texts.items()]
    assert [a.lang for a in articles] == ["en", "ru", "zh"]
    state = tmp_path / "state"
    store = Store.open_dir(state)
    store.add_articles(articles)
    assert {a.lang for a in store.articles_seen_between(*WIDE)} == {"en", "ru", "zh"}
    store.close()
    with sqlite3.connect(state / "briefing.sqlite") as conn:  # as a store from before 0006 left them
        conn.create_function("briefing_index_text", 1, lambda v: v)
        conn.execute("UPDATE articles SET lang = NULL")
        conn.execute("DELETE FROM migrations WHERE name = '0006_article_languages'")
    reopened = Store.open_dir(state)
    try:
        assert sorted(a.lang or "" for a in reopened.articles_seen_between(*WIDE)) == ["en", "ru", "zh"]
    finally:
        reopened.close()


def test_a_store_from_before_backfills_is_upgraded(legacy_store: Path) -> None:
    """A store made by 0001 alone (no digest kind, no locks) opens, keeps its ledger, and gains both."""
    store = Store(f"sqlite:///{legacy_store}")
    try:
        last = store.last_delivered()
        assert last is not None and last.kind == "regular" and last.window_end == datetime(2026, 11, 2, 7, tzinfo=UTC)
        with store.lock("digest"):
            pass
        assert store.articles_dated_between(*WIDE) == []
    finally:
        store.close()


# --- run locks --------------------------------------------------------------------------

def test_a_held_lock_makes_a_second_holder_wait_then_give_up(store: Store) -> None:
    """While one run holds 'digest', another gets BusyError (after waiting); once released it gets the lock."""
    from briefing.exceptions import BusyError

    with store.lock("digest"):
        with pytest.raises(BusyError, match="digest is already running") as info:
            with store.lock("digest", wait=0.3, poll=0.05):
                pass
        assert info.value.name == "digest"
        with store.lock("ingest"):  # another name is another lock
            assert sorted(_holders(store)) == [("digest", os.getpid()), ("ingest", os.getpid())]
    assert _holders(store) == []
    with store.lock("digest"):
        assert _holders(store) == [("digest", os.getpid())]


def _plant_lock(store: Store, *, pid: int, expires: datetime, host: str | None = None) -> None:
    import socket

    host = host or socket.gethostname()
    with store.engine.begin() as conn:
        conn.execute(schema.locks.insert().values(name="digest", holder=f"{host}:{pid}:x", pid=pid, host=host,
                                                  acquired=T0, expires=expires))


def _holders(store: Store) -> list[tuple[str, int]]:
    """(name, pid) of every lock row."""
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(schema.locks.c.name, schema.locks.c.pid))]


def test_a_killed_holders_lock_is_taken_over(store: Store) -> None:
    """A lock left by a process of this host that no longer exists does not block the next run."""
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _plant_lock(store, pid=int(gone.stdout), expires=datetime.now(UTC) + timedelta(hours=1))
    assert _holders(store) == [("digest", int(gone.stdout))]
    with store.lock("digest"):
        assert _holders(store) == [("digest", os.getpid())], "the dead run's lock is now this run's"
    assert _holders(store) == [], "and released at the end of the block"


def test_an_expired_lease_is_taken_over_but_a_live_remote_one_is_not(store: Store) -> None:
    """Another host's lock holds until its lease runs out."""
    from briefing.exceptions import BusyError

    _plant_lock(store, pid=1, host="elsewhere", expires=datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(BusyError, match="elsewhere"):
        with store.lock("digest"):
            pass
    with store.engine.begin() as conn:
        conn.execute(schema.locks.delete())
    _plant_lock(store, pid=1, host="elsewhere", expires=datetime.now(UTC) - timedelta(seconds=1))
    with store.lock("digest"):
        pass


def test_open_dir_on_a_file_raises_storage_error(tmp_path: Path) -> None:
    """A state folder that cannot be created is a StorageError, not an OSError."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="not-a-dir"):
        Store.open_dir(blocker / "state")


# --- database locked ------------------------------------------------------------------

@pytest.fixture
def file_store(tmp_path: Path):
    # ?timeout= only bounds the store's connect-time pragmas: it then sets busy_timeout=5000 on
    # every connection and has no option to change it, so add a later listener and drop the
    # pooled connections (an open connection would also keep the exclusive-mode lock below out).
    s = Store(f"sqlite:///{tmp_path / 'locked.sqlite'}?timeout=0.1")
    event.listen(s.engine, "connect", lambda dbapi_conn, _rec: dbapi_conn.execute("PRAGMA busy_timeout=100"))
    s.engine.dispose()
    yield s
    s.close()


def _lock(path: Path, *, readers_too: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    if readers_too:  # in WAL mode BEGIN EXCLUSIVE still lets readers in; exclusive locking mode does not
        # (the store then fails while opening its connection, which is what a second process would see)
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
    conn.execute("BEGIN EXCLUSIVE")
    return conn


WRITES = {
    "add_articles": lambda s: s.add_articles([make_article("Locked out.")]),
    "record_fetch": lambda s: s.record_fetch(SourceHealth("feed", "ok"), T0, FetchState("e", None)),
    "record_digest": lambda s: _digest(s, 1, delivered=True),
}
READS = {
    "has_articles": lambda s: s.has_articles(["x"]),
    "articles_seen_between": lambda s: s.articles_seen_between(*WIDE),
    "count_articles": lambda s: s.count_articles(),
    "fetch_state": lambda s: s.fetch_state("feed"),
    "source_health": lambda s: s.source_health(),
    "last_delivered": lambda s: s.last_delivered(),
    "digests": lambda s: s.digests(),
}


@pytest.mark.parametrize("method", sorted(WRITES))
def test_locked_database_write_raises_storage_error(file_store: Store, tmp_path: Path, method: str) -> None:
    """A write while another connection holds BEGIN EXCLUSIVE raises StorageError, and works after."""
    conn = _lock(tmp_path / "locked.sqlite")
    try:
        with pytest.raises(StorageError, match="locked"):
            WRITES[method](file_store)
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    WRITES[method](file_store)


@pytest.mark.parametrize("method", sorted(READS))
def test_locked_database_read_raises_storage_error(file_store: Store, tmp_path: Path, method: str) -> None:
    """A read while another process holds the file in exclusive locking mode raises StorageError."""
    conn = _lock(tmp_path / "locked.sqlite", readers_too=True)
    try:
        with pytest.raises(StorageError, match="locked"):
            READS[method](file_store)
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    READS[method](file_store)


def test_a_backfill_window_is_by_publication_date_else_first_seen(store: Store) -> None:
    """articles_dated_between: published in [start, end), or undated and first seen then; oldest first."""
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)
    late = datetime(2026, 11, 27, tzinfo=UTC)
    inside = make_article("Published inside, ingested late.", location="a", first_seen=late,
                          published=datetime(2026, 11, 3, tzinfo=UTC))
    edge = make_article("Published at the end.", location="b", first_seen=late, published=end)
    undated = make_article("Undated, seen inside.", location="c", first_seen=datetime(2026, 11, 2, tzinfo=UTC),
                           published=None)
    outside = make_article("Published before, seen inside.", location="d",
                           first_seen=datetime(2026, 11, 2, tzinfo=UTC), published=datetime(2026, 10, 1, tzinfo=UTC))
    store.add_articles([inside, edge, undated, outside])
    assert store.articles_dated_between(start, end) == [undated, inside]


def test_control_characters_never_reach_the_store() -> None:
    """to_article drops NUL and other control characters from title and text (PostgreSQL refuses NUL)."""
    from briefing.extract import to_article
    from briefing.types import RawItem

    body = ("Russia and China held talks in Beijing on Tuesday about energy and trade.\x00 Officials said "
            "the talks went well and more meetings would follow.\x07\n\nA second paragraph\tstays as it is.")
    article = to_article(RawItem("s", "x/a.txt", body, "text", "Talks\x00 in Beijing", None), T0)
    assert article.title == "Talks in Beijing"
    assert "\x00" not in article.text and "\x07" not in article.text and "A second paragraph" in article.text


def test_a_zombie_or_a_reused_pid_does_not_hold_the_lock(store: Store) -> None:
    """A killed holder not reaped yet, or a new process wearing the holder's pid, leaves the lock stale."""
    import subprocess
    import sys
    import time

    from briefing.exceptions import BusyError
    from briefing.store import _process_start

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    while _process_start(child.pid) != "zombie":  # exited, not reaped
        time.sleep(0.05)
    try:
        _plant_lock(store, pid=child.pid, expires=datetime.now(UTC) + timedelta(hours=1))
        with store.lock("digest"):
            assert _holders(store) == [("digest", os.getpid())], "the zombie's lock is now this run's"
    finally:
        child.wait()
    me, host = os.getpid(), __import__("socket").gethostname()
    for start, taken_over in (("1", True), (_process_start(me), False)):  # pid reused vs the holder itself
        with store.engine.begin() as conn:
            conn.execute(schema.locks.delete())
            conn.execute(schema.locks.insert().values(name="digest", holder=f"{host}:{me}:{start}:x", pid=me,
                                                      host=host, acquired=T0,
                                                      expires=datetime.now(UTC) + timedelta(hours=1)))
        if taken_over:
            with store.lock("digest"):
                pass
        else:
            with pytest.raises(BusyError, match=f"{host}:{me}"):
                with store.lock("digest"):
                    pass


def test_a_signal_inside_the_index_cut_stops_the_write_as_a_signal(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """sqlite3 drops an exception raised in a Python SQL function; a SIGTERM landing in the index cut of an
    insert must still unwind as the signal (exit 128 + signal), not as a store error, and roll the batch back."""
    import briefing.store.base as base

    original, calls = base.index_text, 0

    def cut(text: str) -> str:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt  # what Python's signal handler raises when it runs in this function
        return original(text)

    store = Store.open_dir(tmp_path / "state")
    try:
        monkeypatch.setattr(base, "index_text", cut)
        store.close()  # SQL functions are registered per connection: the next one takes the patched cut
        with pytest.raises(KeyboardInterrupt):
            store.add_articles([make_article(f"Rail freight note {i}.") for i in range(5)])
        assert calls == 3
        monkeypatch.setattr(base, "index_text", original)
        store.add_articles([make_article("Rail freight note 9.")])  # the store goes on after the stop
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "state" / "briefing.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone() == (1,), "the cut-short batch rolled back"
