"""The search index's upkeep: made (with a backfill) by a migration, written with the articles.

SQLite: ``article_search`` is a contentless FTS5 table keyed by the articles' rowid, written in the same
transaction as the articles, so a rolled-back or killed write moves the index with the rows. FTS5 cannot
cut Chinese, so it indexes ``index_text``: the text normalised as ``briefing.search.tokens`` cuts it.

* New articles are indexed by ``index_articles``, called by ``upsert_articles`` after its insert: one
  ``executemany`` into the FTS5 table per batch. Not a trigger: every statement that writes through a
  trigger opens a statement savepoint, and FTS5 writes its pending words out as a new segment at each
  savepoint, so a trigger per inserted row wrote (and merged again and again) one segment per article,
  more than half of the index's cost at ingest (bench/README.md, "Full-text search").
* A guard trigger on insert calls ``briefing_index_text``, a function each Briefing connection registers
  (``base._sqlite_pragmas``): a client without it (the ``sqlite3`` shell) can read the store but cannot
  write articles, it gets "no such function", never an unindexed article. Briefing inserts articles only
  through ``upsert_articles``.
* Edits and deletes stay triggers (they need the old text's words, and are few): they call the same function.

(The key is the rowid, which SQLite's VACUUM keeps for a table whose rows were never re-keyed; an explicit
rebuild is ``INSERT INTO article_search(article_search) VALUES('delete-all')`` and the backfill below.)

PostgreSQL: ``article_search`` holds each article's ``tsvector`` (built in Python from the same words)
under a GIN index; ``upsert_articles`` writes it in its own transaction through ``index_articles``.

Knows only the tables in ``schema`` and never opens a connection itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, column, literal_column, select, table, text
from sqlalchemy.dialects.postgresql import TSVECTOR

from briefing.search import index_text, tsvector
from briefing.store import schema
from briefing.types import Article

__all__ = ["PG_TABLE", "create_index", "index_articles", "index_new_articles_in_batches"]

PG_TABLE = table("article_search", column("id"), column("doc", TSVECTOR))

# No insert trigger writes the index (``index_articles`` does, per batch); this one only makes a client without
# Briefing's function fail to insert, rather than insert an article the index never sees.
_GUARD = ("CREATE TRIGGER IF NOT EXISTS article_search_guard AFTER INSERT ON articles BEGIN "
          "SELECT briefing_index_text(NULL); END")

_SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS article_search USING fts5("
    "title, body, content='', tokenize='unicode61 remove_diacritics 0')",
    _GUARD,
    "CREATE TRIGGER IF NOT EXISTS article_search_delete AFTER DELETE ON articles BEGIN "
    "INSERT INTO article_search (article_search, rowid, title, body) "
    "VALUES ('delete', old.rowid, briefing_index_text(old.title), briefing_index_text(old.text)); END",
    "CREATE TRIGGER IF NOT EXISTS article_search_update AFTER UPDATE OF title, text ON articles BEGIN "
    "INSERT INTO article_search (article_search, rowid, title, body) "
    "VALUES ('delete', old.rowid, briefing_index_text(old.title), briefing_index_text(old.text)); "
    "INSERT INTO article_search (rowid, title, body) "
    "VALUES (new.rowid, briefing_index_text(new.title), briefing_index_text(new.text)); END",
]

_PG_INDEX = [
    "CREATE TABLE IF NOT EXISTS article_search (id VARCHAR(40) PRIMARY KEY "
    "REFERENCES articles (id) ON DELETE CASCADE, doc tsvector NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_article_search_doc ON article_search USING gin (doc)",
]


def create_index(conn: Connection) -> None:
    """Make the search index and fill it with the articles already stored (safe to rerun: it checks first)."""
    if conn.dialect.name == "sqlite":
        made = conn.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'article_search'"))
        for ddl in _SQLITE_INDEX:
            conn.execute(text(ddl))
        if not made:
            conn.execute(text("INSERT INTO article_search (rowid, title, body) SELECT rowid, "
                              "briefing_index_text(title), briefing_index_text(text) FROM articles"))
        return
    for ddl in _PG_INDEX:
        conn.execute(text(ddl))
    t = schema.articles
    rows = conn.execute(select(t.c.id, t.c.title, t.c.text)
                        .where(~t.c.id.in_(select(PG_TABLE.c.id)))).all()
    for i in range(0, len(rows), 500):
        _write_pg(conn, [(r.id, r.title, r.text) for r in rows[i:i + 500]])


def index_new_articles_in_batches(conn: Connection) -> None:
    """Migration 0009: SQLite's index of new articles is written per batch by ``index_articles``, not by a
    trigger per row (safe to rerun). PostgreSQL: nothing to do."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER IF EXISTS article_search_insert"))
        conn.execute(text(_GUARD))


def index_articles(conn: Connection, added: Sequence[Article], changed: Sequence[Article]) -> None:
    """Index the articles just inserted (``added``) or updated (``changed``), in the caller's transaction.

    SQLite: ``added`` in one ``executemany`` (``changed`` were moved by the update trigger); PostgreSQL: both.
    """
    if conn.dialect.name != "sqlite":
        _write_pg(conn, [(a.id, a.title, a.text) for a in [*added, *changed]])
        return
    by_id = {a.id: a for a in added}
    rows = []
    for chunk in schema.chunks(by_id):
        found = conn.execute(select(literal_column("rowid"), schema.articles.c.id)
                             .where(schema.articles.c.id.in_(chunk)))
        rows += [{"key": key, "title": index_text(by_id[id_].title), "body": index_text(by_id[id_].text)}
                 for key, id_ in found]
    if rows:  # in rowid order: FTS5 writes its pending words out whenever a rowid is lower than the last one
        conn.execute(text("INSERT INTO article_search (rowid, title, body) VALUES (:key, :title, :body)"),
                     sorted(rows, key=lambda r: int(r["key"])))


def _write_pg(conn: Connection, rows: list[tuple[str, str, str]]) -> None:
    if rows:
        conn.execute(text("INSERT INTO article_search (id, doc) VALUES (:id, CAST(:doc AS tsvector)) "
                          "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc"),
                     [{"id": i, "doc": tsvector(title, body)} for i, title, body in rows])
