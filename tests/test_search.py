"""Full-text search (issue 22) on a real SQLite file and on the throwaway PostgreSQL: the query language,
each filter, Russian and Chinese, an index in step through ingest, update and a killed ingest, and the CLI."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_article
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from briefing.cli import main
from briefing.exceptions import StorageError, UsageError
from briefing.search import Filters, Query, fts5_match, parse_query, search, snippet, tokens, tsquery
from briefing.store import Store
from briefing.types import Article

UTC = timezone.utc
TESTS = Path(__file__).parent


def day(n: int) -> datetime:
    return datetime(2026, 11, n, 9, 0, tzinfo=UTC)


def art(text_: str, title: str, *, source: str = "wire", outlet: str | None = None, published: int | None = None,
        location: str | None = None) -> Article:
    a = make_article(text_, source, title=title, published=day(published) if published else None, location=location)
    return dataclasses.replace(a, outlet=outlet)


CORPUS = [
    art("Moscow and Beijing signed a gas deal for the Power of Siberia pipeline.", "Gas deal signed",
        source="feed-a", outlet="TASS", published=3),
    art("The pipeline talks stalled over the price of gas, officials said.", "Pipeline talks stall",
        source="feed-b", outlet="Reuters", published=5),
    art("Russia and China held naval drills near Japan; Japan protested the drills.", "Naval drills",
        source="feed-b", outlet="Reuters", published=7),
    art("China and Russia issued a statement on trade, not on drills.", "A joint statement",
        source="feed-a", outlet="Xinhua", published=9),
    art("Путин встретился с Си Цзиньпином в Москве и обсудил поставки газа.", "Встреча Путина и Си",
        source="feed-ru", outlet="ТАСС", published=10),
    art("Визит Путину предложили перенести; в Кремле ёлку уже поставили.", "Визит перенесли",
        source="feed-ru", outlet="Коммерсантъ", published=11),
    art("中俄关系进入新时代，普京会见习近平，双方讨论天然气合作。", "普京会见习近平",
        source="feed-zh", outlet="新华社", published=12),
    art("北京举行记者会，外交部发言人回答了关于贸易的问题。", "外交部记者会", source="feed-zh", outlet="新华社",
        published=13),
    art("An undated note about the gas pipeline, with no publication date.", "Undated pipeline note",
        source="feed-a"),
]


@pytest.fixture(params=["file", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'briefing.sqlite'}"


@pytest.fixture
def store(url: str):
    s = Store(url)
    s.add_articles(CORPUS)
    yield s
    s.close()


def titles(store: Store, q: str, filters: Filters | None = None, limit: int = 50, keep=None) -> list[str]:
    return [h.article.title for h in search(store, parse_query(q), filters or Filters(), limit, keep)]


# --- the query language ----------------------------------------------------------------

def test_words_are_anded(store: Store) -> None:
    """Every word must be in the article, anywhere in its title or text."""
    assert set(titles(store, "pipeline gas")) == {"Gas deal signed", "Pipeline talks stall", "Undated pipeline note"}
    assert titles(store, "pipeline price") == ["Pipeline talks stall"]
    assert titles(store, "pipeline zebra") == []


def test_a_quoted_phrase_matches_only_as_a_phrase(store: Store) -> None:
    """"Russia and China" is one article; the same words in another order are another."""
    assert titles(store, '"Russia and China"') == ["Naval drills"]
    assert titles(store, '"China and Russia"') == ["A joint statement"]
    assert set(titles(store, "Russia and China")) == {"Naval drills", "A joint statement"}
    assert titles(store, '"power of siberia" moscow') == ["Gas deal signed"]


def test_a_minus_word_or_phrase_excludes(store: Store) -> None:
    assert titles(store, "drills -Japan") == ["A joint statement"]
    assert titles(store, 'russia china -"naval drills"') == ["A joint statement"]
    assert set(titles(store, "pipeline -price -undated")) == {"Gas deal signed"}


def test_a_star_is_a_prefix_and_syntax_is_plain_words(store: Store) -> None:
    assert set(titles(store, "pipe*")) == {"Gas deal signed", "Pipeline talks stall", "Undated pipeline note"}
    assert titles(store, "NEAR(drills Japan) OR") == []  # NEAR, OR: words this corpus lacks, not operators
    assert titles(store, "drills OR japan") == []  # "or" is a word too, and in no text here
    assert titles(store, "drills, japan;") == ["Naval drills"]


def test_ranked_by_bm25_then_the_latest(url: str) -> None:
    """A title match outranks a word in passing; equal texts come latest first."""
    s = Store(url)
    try:
        s.add_articles([art("Notes from the week; sanctions came up once.", "Weekly notes", published=20),
                        art("Sanctions were the subject, and sanctions the outcome.", "Sanctions widen", published=2),
                        art("Same text twice.", "Older", source="a", published=3),
                        art("Same text twice.", "Newer", source="b", published=4)])
        assert titles(s, "sanctions") == ["Sanctions widen", "Weekly notes"]
        assert titles(s, "same text twice") == ["Newer", "Older"]
        assert titles(s, "same text twice", Filters(sources=("a", "b"))) == ["Newer", "Older"]  # ranked in SQL
        scores = [h.score for h in search(s, parse_query("sanctions"))]
        assert scores[0] > scores[1] > 0
    finally:
        s.close()


# --- filters ---------------------------------------------------------------------------

def test_since_and_until_bound_the_date(store: Store) -> None:
    """[since, until) on the published date; an undated article by when it was first seen (conftest's NOW)."""
    assert set(titles(store, "gas", Filters(since=day(4)))) >= {"Pipeline talks stall"}
    assert "Gas deal signed" not in titles(store, "gas", Filters(since=day(4)))
    assert titles(store, "gas", Filters(until=day(4))) == ["Gas deal signed"]
    assert titles(store, "pipeline", Filters(since=day(3), until=day(5))) == ["Gas deal signed"]


def test_source_and_outlet_filters(store: Store) -> None:
    assert titles(store, "drills", Filters(sources=("feed-a",))) == ["A joint statement"]
    assert set(titles(store, "gas", Filters(sources=("feed-a", "feed-b")))) == {
        "Gas deal signed", "Pipeline talks stall", "Undated pipeline note"}
    assert titles(store, "drills", Filters(outlets=("reuters",))) == ["Naval drills"]  # any case
    assert titles(store, "pipeline", Filters(outlets=("feed-a",))) == ["Undated pipeline note"]  # source stands in
    assert titles(store, "путин", Filters(outlets=("тасс",))) == ["Встреча Путина и Си"]


def test_language_and_relevance_filter_what_the_store_does_not_keep(store: Store) -> None:
    """``keep`` (the CLI's --lang and --relevant) filters after the store, page by page, until ``limit``."""
    english = titles(store, "gas", keep=lambda a: not any("\u0400" <= c <= "\u04ff" for c in a.text))
    assert "Встреча Путина и Си" not in english and english
    assert titles(store, "gas", limit=1, keep=lambda a: a.source == "feed-b") == ["Pipeline talks stall"]


def test_limit(store: Store) -> None:
    assert len(titles(store, "gas", limit=2)) == 2


# --- Russian and Chinese ------------------------------------------------------------------

def test_russian_words_find_their_inflections_outside_quotes(store: Store) -> None:
    """Путин finds Путина and Путину (the stem's prefix); in quotes a word is taken as written."""
    assert set(titles(store, "Путин")) == {"Встреча Путина и Си", "Визит перенесли"}
    assert set(titles(store, "путину")) == {"Встреча Путина и Си", "Визит перенесли"}
    assert titles(store, '"Путину"') == ["Визит перенесли"]
    assert titles(store, "Путин газ*") == ["Встреча Путина и Си"]
    assert titles(store, "елку") == ["Визит перенесли"], "ё is searched as е"
    assert titles(store, "путин -кремль") == ["Встреча Путина и Си"]


def test_chinese_words_and_phrases_are_found_as_written(store: Store) -> None:
    """Two-character words (普京, 中俄), a longer phrase, and no match for characters apart."""
    assert titles(store, "普京") == ["普京会见习近平"]
    assert titles(store, "中俄") == ["普京会见习近平"]
    assert titles(store, "天然气合作 习近平") == ["普京会见习近平"]
    assert titles(store, "外交部") == ["外交部记者会"]
    assert titles(store, "普北") == []
    assert titles(store, "新华社") == [], "an outlet's name is not in the text"
    assert titles(store, "贸易 -普京") == ["外交部记者会"]


_ALPHABET = st.sampled_from([*"abcxyzéüßАБВёйжЁ中俄关系普京0123456789", " ", "  ", ", ", "-", ".", "«", "»", "\n", "_"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.lists(_ALPHABET, min_size=1, max_size=60).map("".join), data=st.data())
def test_every_phrase_a_grep_finds_the_index_finds(body: str, data: st.DataObject) -> None:
    """Recall 1.0 by construction: any run of whole words of a text, searched as a phrase, finds the text
    (SQLite's unicode61 cuts the indexed text where ``tokens`` does, whatever the script)."""
    words = tokens(body)
    assume(words)
    start = data.draw(st.integers(0, len(words) - 1))
    end = data.draw(st.integers(start + 1, min(len(words), start + 4)))
    s = Store("sqlite://")
    try:
        s.add_articles([art(body, "t")])
        q = '"' + " ".join(words[start:end]) + '"'
        assert titles(s, q) == ["t"], (body, q)
    finally:
        s.close()


def test_tokens_cut_every_script_alike() -> None:
    assert tokens("Café, ЁЛКА! 中俄关系 U.S.-led") == ["cafe", "елка", "中", "俄", "关", "系", "u", "s", "led"]


# --- the index stays in step ----------------------------------------------------------------

def test_an_update_moves_the_index_with_the_article(url: str) -> None:
    """An edited article (same id, new content) is found by its new words, not its old ones."""
    s = Store(url)
    try:
        old = art("The summit was postponed.", "Summit", location="feed/1", published=5)
        s.add_articles([old])
        new = dataclasses.replace(old, text="The summit opened in Kazan.", content_hash="x" * 64,
                                  title="Summit opens")
        assert s.upsert_articles([new]) == ([], [new])
        assert titles(s, "postponed") == []
        assert titles(s, "kazan") == ["Summit opens"]
        assert titles(s, "summit") == ["Summit opens"]
    finally:
        s.close()


def test_a_rolled_back_batch_leaves_nothing_in_the_index(url: str) -> None:
    """A batch that fails midway (a naive date on its last article) stores and indexes none of it."""
    s = Store(url)
    try:
        bad = dataclasses.replace(art("Broken date on a gas story.", "Bad"), published=datetime(2026, 11, 1))
        with pytest.raises(StorageError):
            s.add_articles([*CORPUS, bad])
        assert s.count_articles() == 0
        assert titles(s, "gas") == []
        s.add_articles(CORPUS)
        assert len(titles(s, "gas")) == 3
    finally:
        s.close()


KILLER = """
import os, signal, sys
sys.path.insert(0, {tests!r})
import briefing.store.articles as articles
from test_search import CORPUS
from briefing.store import Store

real = articles.index_articles

def index_then_die(conn, added, changed):
    real(conn, added, changed)  # every row and its index entry written, the transaction not committed
    os.kill(os.getpid(), signal.SIGKILL)

articles.index_articles = index_then_die
Store({url!r}).add_articles(CORPUS)
"""


def test_a_killed_ingest_leaves_the_index_in_step_and_a_rerun_finds_the_same(url: str, tmp_path: Path) -> None:
    """An ingest killed mid-write (SIGKILL inside its transaction): nothing found; a rerun matches a fresh store."""
    script = tmp_path / "kill.py"
    script.write_text(textwrap.dedent(KILLER.format(tests=str(TESTS), url=url)))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=120)
    assert done.returncode == -9, done.stderr.decode()
    s = Store(url)
    try:
        assert s.count_articles() == 0
        assert titles(s, "gas") == []
        s.add_articles(CORPUS)
        s.add_articles(CORPUS)  # a second rerun adds nothing and indexes nothing twice
        fresh = Store("sqlite://")
        fresh.add_articles(CORPUS)
        for q in ["gas", "Путин", "普京", '"Russia and China"', "drills -japan"]:
            assert titles(s, q) == titles(fresh, q), q
        fresh.close()
        assert _indexed(s) == s.count_articles() == len(CORPUS)
    finally:
        s.close()


def _indexed(s: Store) -> int:
    """Documents in the index: FTS5's docsize rows, or PostgreSQL's article_search rows."""
    table = "article_search_docsize" if s.engine.dialect.name == "sqlite" else "article_search"
    with s.engine.connect() as conn:
        return int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


def test_the_migration_backfills_articles_stored_before_it(url: str) -> None:
    """A store from before 0005_article_search: opening it indexes the articles it already holds."""
    Store(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for name in ("article_search_guard", "article_search_update", "article_search_delete"):
                conn.execute(text(f"DROP TRIGGER {name}"))
        conn.execute(text("DROP TABLE article_search"))
        conn.execute(text("DELETE FROM migrations WHERE name = '0005_article_search'"))
    engine.dispose()
    old = Store(url)
    old.add_articles(CORPUS)  # stored with no index to write to (PostgreSQL's write fails without its table)
    old.close()
    s = Store(url)
    try:
        assert _indexed(s) == len(CORPUS)
        assert titles(s, '"Russia and China"') == ["Naval drills"]
        assert titles(s, "普京") == ["普京会见习近平"]
    finally:
        s.close()


def test_a_sqlite_client_without_briefing_cannot_write_articles_out_of_step(tmp_path: Path) -> None:
    """The plain sqlite3 shell reads the store, but an insert is refused (no index function), not left unindexed."""
    Store.open_dir(tmp_path).close()
    with sqlite3.connect(tmp_path / "briefing.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone() == (0,)
        with pytest.raises(sqlite3.OperationalError, match="briefing_index_text"):
            conn.execute("INSERT INTO articles (id, source, location, title, text, content_hash, first_seen, teaser) "
                         "VALUES ('x', 's', 'l', 't', 'x', 'h', '2026-11-01', 0)")
    conn.close()


def test_a_batch_of_new_articles_is_indexed_in_one_flush_not_one_per_article(tmp_path: Path) -> None:
    """FTS5 writes its pending words at every statement savepoint: a batch inserted one statement per article
    wrote index blocks (and merged them) for every article, twice the index's cost at ingest."""
    from sqlalchemy import event

    s = Store(f"sqlite:///{tmp_path / 'batch.sqlite'}")
    traced: list[str] = []
    event.listen(s.engine, "before_cursor_execute",
                 lambda _c, cursor, *_a: cursor.connection.set_trace_callback(traced.append))
    batch = [art(f"Pipeline talks number {i}: gas, trade and the Power of Siberia.", f"Talks {i}") for i in range(300)]
    try:
        s.add_articles(batch)
        blocks = [t for t in traced if t.startswith("-- REPLACE INTO 'main'.'article_search_data'")]
        assert 0 < len(blocks) < len(batch) // 10
        assert len(s.search_articles(parse_query("siberia"), Filters(), 1000)) == len(batch)
    finally:
        s.close()


def test_migration_0009_replaces_the_per_row_insert_trigger(tmp_path: Path) -> None:
    """A store indexed by 0005's insert trigger loses it (and gains the guard): each article is indexed once."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    Store(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER article_search_guard"))
        conn.execute(text("CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN "
                          "INSERT INTO article_search (rowid, title, body) VALUES (new.rowid, 'x', 'x'); END"))
        conn.execute(text("DELETE FROM migrations WHERE name = '0009_article_search_batches'"))
    engine.dispose()
    s = Store(url)
    try:
        s.add_articles(CORPUS)
        with s.engine.connect() as conn:
            triggers = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        assert {"article_search_guard", "article_search_update", "article_search_delete"} <= triggers
        assert "article_search_insert" not in triggers
        assert _indexed(s) == len(CORPUS)
        assert titles(s, "普京") == ["普京会见习近平"]
    finally:
        s.close()


def test_a_locked_database_search_raises_storage_error(tmp_path: Path) -> None:
    s = Store(f"sqlite:///{tmp_path / 'locked.sqlite'}")
    s.add_articles(CORPUS)
    from sqlalchemy import event
    event.listen(s.engine, "connect", lambda dbapi_conn, _rec: dbapi_conn.execute("PRAGMA busy_timeout=100"))
    s.engine.dispose()
    conn = sqlite3.connect(tmp_path / "locked.sqlite", timeout=0.1, isolation_level=None)
    conn.execute("PRAGMA locking_mode=EXCLUSIVE")
    conn.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StorageError, match="locked"):
            s.search_articles(parse_query("gas"), Filters(), 5)
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert len(s.search_articles(parse_query("gas"), Filters(), 5)) == 3
    s.close()


# --- parsing and snippets ---------------------------------------------------------------

@pytest.mark.parametrize("bad", ['"unclosed phrase', "-gas", '-"a phrase"', "", "   ", "( ) * -", '""'])
def test_a_bad_query_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="search query"):
        parse_query(bad)


def test_user_text_never_reaches_the_database_as_syntax() -> None:
    q = parse_query('NEAR(x "a b" -c* d:e \'quote')
    assert fts5_match(q) == '("near" + "x" AND "a" + "b" AND "d" + "e" AND "quote") NOT ("c"*)'
    assert tsquery(q) == "('near' <-> 'x') & ('a' <-> 'b') & !('c':*) & ('d' <-> 'e') & ('quote')"


def test_the_snippet_marks_each_match() -> None:
    a = art("Long preamble about nothing at all, " * 5 + "then Russia and China met; China spoke.", "t")
    s = snippet(a, parse_query('"Russia and China" spoke'))
    assert "[Russia and China] met; China [spoke]." in s and s.startswith("…")
    assert snippet(art("中俄关系进入新时代", "t"), parse_query("关系")) == "中俄[关系]进入新时代"
    assert snippet(art("Путина встретили.", "t"), parse_query("путин")) == "[Путина] встретили."


def test_an_empty_query_object_is_never_built() -> None:
    with pytest.raises(UsageError):
        parse_query("-only -exclusions")
    assert Query("x", ()).wanted == ()


# --- the command -----------------------------------------------------------------------

def cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def config(url: str, tmp_path: Path) -> Path:
    where = f"store_url: {url}\n" if url.startswith("postgresql") else f"state_dir: {tmp_path / 'state'}\n"
    path = tmp_path / "briefing.yaml"
    path.write_text(where + f"archive_dir: {tmp_path / 'digests'}\nsources: []\n")
    from briefing.config import load_config

    with Store.open(load_config(path)) as s:
        s.add_articles(CORPUS)
    return path


def test_cli_jsonl_has_every_field(config: Path) -> None:
    result = cli("search", '"naval drills"', "--jsonl", "--config", config)
    assert result.exit_code == 0, result.stderr
    [hit] = [json.loads(line) for line in result.stdout.splitlines()]
    assert set(hit) == {"id", "title", "url", "outlet", "source", "published", "score", "snippet", "revised"}
    assert (hit["title"], hit["outlet"], hit["source"], hit["revised"]) == ("Naval drills", "Reuters", "feed-b", False)
    assert hit["published"].startswith("2026-11-07") and hit["score"] > 0
    assert "[Russia and China held naval drills]" not in hit["snippet"] and "[naval drills]" in hit["snippet"]


def test_cli_table_and_filters(config: Path) -> None:
    result = cli("search", "--config", config, "--since", "2026-11-04", "--until", "2026-11-08", "--outlet",
                 "reuters", "--", "pipeline", "-drills")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and "Pipeline talks stall" in lines[0] and "Reuters" in lines[0]
    assert "[pipeline]" in lines[1]
    result = cli("search", "газ", "--source", "feed-ru", "--jsonl", "--config", config)
    assert [json.loads(x)["title"] for x in result.stdout.splitlines()] == ["Встреча Путина и Си"]


def test_cli_lang_and_relevant(config: Path) -> None:
    """--lang detects the language; --relevant scores with the config's topic (the store keeps neither)."""
    result = cli("search", "газа", "--lang", "ru", "--jsonl", "--config", config)
    assert [json.loads(x)["title"] for x in result.stdout.splitlines()] == ["Встреча Путина и Си"]
    assert cli("search", "gas", "--lang", "zh", "--config", config).stdout == ""
    relevant = cli("search", "pipeline", "--relevant", "--jsonl", "--config", config)
    every = cli("search", "pipeline", "--jsonl", "--config", config)
    assert relevant.exit_code == every.exit_code == 0
    kept = {json.loads(x)["title"] for x in relevant.stdout.splitlines()}
    assert kept < {json.loads(x)["title"] for x in every.stdout.splitlines()}
    assert "Gas deal signed" in kept, "Moscow and Beijing's gas deal is on the topic"


def test_cli_no_hit_is_not_an_error(config: Path) -> None:
    result = cli("search", "zebra", "--config", config)
    assert result.exit_code == 0 and result.stdout == ""
    assert "no article matches" in result.stderr


@pytest.mark.parametrize("args", [['"unclosed'], ["--", "-gas"], ["NEAR(", '"']],
                         ids=["quote", "only-exclusion", "stray-quote"])
def test_cli_bad_query_is_one_line_and_exit_2(config: Path, args: list[str]) -> None:
    result = cli("search", "--config", config, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: search query") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_cli_window_that_ends_before_it_starts_exits_2(config: Path) -> None:
    result = cli("search", "gas", "--since", "2026-11-09", "--until", "2026-11-02", "--config", config)
    assert result.exit_code == 2 and "ends before it starts" in result.stderr
