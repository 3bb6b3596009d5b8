"""Named schema migrations, applied in order and recorded in the ``migrations`` table (sqlite-utils' shape).

A new column or table is one function here plus one line in ``MIGRATIONS``; a step must be safe to rerun
on a store that already has its change (it checks before it alters), since stores made before the
ledger of migrations existed are brought up to date by running every step. ``migrate`` is called by
``StoreBase`` when a store is opened; it never reaches for the engine itself, so this module knows only
the tables in ``schema``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, inspect, select, text

from briefing.exceptions import StorageError
from briefing.store import fts, schema

__all__ = ["MIGRATIONS", "migrate"]


def _initial(conn: Connection) -> None:
    schema.metadata.create_all(conn)


def _digest_kinds_and_locks(conn: Connection) -> None:
    """Backfills beside regular digests in the ledger; the locks table."""
    if "kind" not in {c["name"] for c in inspect(conn).get_columns("digests")}:
        conn.execute(text("ALTER TABLE digests ADD COLUMN kind VARCHAR(20) DEFAULT 'regular' NOT NULL"))
    schema.locks.create(conn, checkfirst=True)
    if "ix_articles_published" not in {i["name"] for i in inspect(conn).get_indexes("articles")}:
        conn.execute(text("CREATE INDEX ix_articles_published ON articles (published)"))


def _article_teasers(conn: Connection) -> None:
    """Feed entries kept with only their headline and dek are marked, so a digest can say so."""
    if "teaser" not in {c["name"] for c in inspect(conn).get_columns("articles")}:
        conn.execute(text("ALTER TABLE articles ADD COLUMN teaser BOOLEAN DEFAULT FALSE NOT NULL"))


def _article_outlets(conn: Connection) -> None:
    """Each article names its outlet (TASS, Reuters), which a folder or an aggregator feed does not."""
    if "outlet" not in {c["name"] for c in inspect(conn).get_columns("articles")}:
        conn.execute(text("ALTER TABLE articles ADD COLUMN outlet VARCHAR(200)"))


def _article_search(conn: Connection) -> None:
    """The full-text index of the articles (FTS5 in SQLite, a tsvector under GIN in PostgreSQL), filled
    with the articles already stored; from then on it is written with them (see ``fts``)."""
    fts.create_index(conn)


def _article_languages(conn: Connection) -> None:
    """Each article keeps its language, identified once when it is cleaned; stored ones are identified now,
    in batches, so a search by language and the stages after the store need not guess again."""
    from briefing.language import detect_language

    if "lang" not in {c["name"] for c in inspect(conn).get_columns("articles")}:
        conn.execute(text("ALTER TABLE articles ADD COLUMN lang VARCHAR(8)"))
    t = schema.articles
    last = ""
    while True:
        rows = conn.execute(select(t.c.id, t.c.title, t.c.text).where(t.c.lang.is_(None), t.c.id > last)
                            .order_by(t.c.id).limit(1000)).all()
        if not rows:
            return
        for row in rows:
            conn.execute(t.update().where(t.c.id == row.id).values(lang=detect_language(row.title, row.text)))
        last = rows[-1].id


def _article_revisions(conn: Connection) -> None:
    """Earlier versions of edited articles (a headline or body changed under the same GUID or link), so the
    store keeps what was first seen and a digest can say a story it sent was revised."""
    schema.article_revisions.create(conn, checkfirst=True)


def _story_timelines(conn: Connection) -> None:
    """Stories keep an id across digests: which story each article first belonged to, and the stories each
    digest carried, so the archive can give a developing story a page of its own (``briefing.timelines``)."""
    schema.story_articles.create(conn, checkfirst=True)
    schema.digest_stories.create(conn, checkfirst=True)


# Named migrations, applied in order and recorded in the ``migrations`` table.
MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0001_initial", _initial),
    ("0002_digest_kinds_and_locks", _digest_kinds_and_locks),
    ("0003_article_teasers", _article_teasers),
    ("0004_article_outlets", _article_outlets),
    ("0005_article_search", _article_search),
    ("0006_article_languages", _article_languages),
    ("0007_article_revisions", _article_revisions),
    ("0008_story_timelines", _story_timelines),
    ("0009_article_search_batches", fts.index_new_articles_in_batches),
]


def migrate(conn: Connection, where: str) -> None:
    """Apply the missing migrations in order, inside the caller's transaction; refuse a newer store.

    Args:
        conn: a connection in the transaction that opens the store.
        where: the store's file or URL, as messages name it.

    Raises:
        StorageError: the store records a migration this version does not know (a newer Briefing made it).
    """
    schema.migrations.create(conn, checkfirst=True)
    done = set(conn.scalars(select(schema.migrations.c.name)))
    unknown = sorted(done - {name for name, _ in MIGRATIONS})
    if unknown:
        raise StorageError(f"store {where} was created by a newer Briefing (it records migration "
                           f"{', '.join(unknown)}, unknown to this version); upgrade Briefing to use it")
    for name, step in MIGRATIONS:
        if name not in done:
            step(conn)
            conn.execute(schema.migrations.insert().values(name=name, applied=datetime.now(UTC)))
