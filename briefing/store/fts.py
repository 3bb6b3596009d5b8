"""The search index's upkeep: made (with a backfill) by a migration, written with the articles.

SQLite: ``article_search`` is a contentless FTS5 table keyed by the articles' rowid, kept by triggers on
``articles``, so an insert, an update and a rolled-back or killed write move the index with the row, in
the same transaction. FTS5 cannot cut Chinese, so the triggers index ``briefing_index_text(...)``: the
words of ``briefing.search.tokens`` joined by spaces, a function each connection registers
(``base._sqlite_pragmas``). A client without it (the ``sqlite3`` shell) can read the store but cannot
write articles: it gets "no such function", never an index out of step. (The key is the rowid, which
SQLite's VACUUM keeps for a table whose rows were never re-keyed; an explicit rebuild is
``INSERT INTO article_search(article_search) VALUES('delete-all')`` and the backfill below.)

PostgreSQL: ``article_search`` holds each article's ``tsvector`` (built in Python from the same words)
under a GIN index; ``upsert_articles`` writes it in its own transaction through ``index_articles``.

Knows only the tables in ``schema`` and never opens a connection itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, column, select, table, text
from sqlalchemy.dialects.postgresql import TSVECTOR

from briefing.search import tsvector
from briefing.store import schema
from briefing.types import Article

__all__ = ["PG_TABLE", "create_index", "index_articles"]

PG_TABLE = table("article_search", column("id"), column("doc", TSVECTOR))

_SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS article_search USING fts5("
    "title, body, content='', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER IF NOT EXISTS article_search_insert AFTER INSERT ON articles BEGIN "
    "INSERT INTO article_search (rowid, title, body) "
    "VALUES (new.rowid, briefing_index_text(new.title), briefing_index_text(new.text)); END",
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


def index_articles(conn: Connection, articles: Sequence[Article]) -> None:
    """Index new or changed articles in the caller's transaction (PostgreSQL; SQLite's triggers do it)."""
    if conn.dialect.name != "sqlite" and articles:
        _write_pg(conn, [(a.id, a.title, a.text) for a in articles])


def _write_pg(conn: Connection, rows: list[tuple[str, str, str]]) -> None:
    if rows:
        conn.execute(text("INSERT INTO article_search (id, doc) VALUES (:id, CAST(:doc AS tsvector)) "
                          "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc"),
                     [{"id": i, "doc": tsvector(title, body)} for i, title, body in rows])
