"""Full-text search over the articles: SQLite's FTS5 table or PostgreSQL's ``tsvector``, behind one method.

How the index is made and kept in step with the articles is ``fts``; the migration that makes it, with a
backfill of the rows already stored, is ``migrations._article_search``. Scores: higher is better (SQLite:
BM25 negated, title words weighing ``TITLE_WEIGHT`` times a word of the text; PostgreSQL: ``ts_rank_cd``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Select, cast, column, func, literal, literal_column, select, table, text
from sqlalchemy.dialects.postgresql import TSQUERY

from briefing.search import Filters, Query, fts5_match, tsquery
from briefing.store import schema
from briefing.store.base import StoreBase
from briefing.store.fts import PG_TABLE
from briefing.types import Article

__all__ = ["SearchMixin"]

# BM25's weight of a title word against a word of the text (PostgreSQL: weights A and B, 1.0 and 0.4).
TITLE_WEIGHT = 3.0

_fts = table("article_search", column("rowid"))
_pg = PG_TABLE


class SearchMixin(StoreBase):
    """Search over the ``articles`` table's index."""

    def search_articles(self, query: Query, filters: Filters, limit: int,
                        offset: int = 0) -> list[tuple[Article, float]]:
        """The articles matching ``query`` and ``filters``, best first (score, then latest), with their score."""
        from briefing.store.articles import _ARTICLE_COLUMNS

        t = schema.articles
        sqlite = self.engine.dialect.name == "sqlite"
        when = func.coalesce(t.c.published, t.c.first_seen)
        rank: Any
        key: Any
        score: Any
        order: Any
        if sqlite:
            rank = func.bm25(literal_column("article_search"), TITLE_WEIGHT, 1.0)
            match = text("article_search MATCH :match").bindparams(match=fts5_match(query))
            if _unfiltered(filters):  # ranked in the index alone: no article row is read but the hits shown
                best = (select(_fts.c.rowid.label("key"), (-rank).label("score")).select_from(_fts).where(match)
                        .order_by(rank).limit(offset + limit + _TIES).subquery())
                key = literal_column("articles.rowid")
                return self._hits(select(*_ARTICLE_COLUMNS, best.c.score).select_from(t.join(best, best.c.key == key))
                                  .order_by(best.c.score.desc(), when.desc(), t.c.id).limit(limit).offset(offset))
            key, score, order = literal_column("articles.rowid"), -rank, rank
            found = select(key.label("key"), score.label("score")).select_from(
                t.join(_fts, _fts.c.rowid == key)).where(match)
        else:
            q = cast(literal(tsquery(query)), TSQUERY)
            rank = func.ts_rank_cd(_pg.c.doc, q, type_=Float)
            key, score, order = t.c.id, rank, rank.desc()
            found = (select(key.label("key"), score.label("score"))
                     .select_from(t.join(_pg, _pg.c.id == t.c.id)).where(_pg.c.doc.op("@@")(q)))
        # The best ``limit`` keys first, sorted with nothing but their score and date; then their articles.
        best = (_filtered(found, filters, sqlite).order_by(order, when.desc(), t.c.id)
                .limit(limit).offset(offset).subquery())
        return self._hits(select(*_ARTICLE_COLUMNS, best.c.score).select_from(t.join(best, best.c.key == key))
                          .order_by(best.c.score.desc(), when.desc(), t.c.id))

    def _hits(self, stmt: Select[Any]) -> list[tuple[Article, float]]:
        from briefing.store.articles import article_of

        with self._tx("cannot search store") as conn:
            return [(article_of(row), float(row[-1])) for row in conn.execute(stmt)]


# Hits past the page read along with it when the index alone ranks them, so that ties of score at the page's
# edge are still ordered by date (an exact tie beyond these is ordered as the index found it).
_TIES = 50


def _unfiltered(filters: Filters) -> bool:
    return filters.since is None and filters.until is None and not filters.sources and not filters.outlets


def _filtered(stmt: Select[Any], filters: Filters, sqlite: bool) -> Select[Any]:
    t = schema.articles
    when = func.coalesce(t.c.published, t.c.first_seen)
    if filters.since is not None:
        stmt = stmt.where(when >= _utc(filters.since))
    if filters.until is not None:
        stmt = stmt.where(when < _utc(filters.until))
    if filters.sources:
        stmt = stmt.where(t.c.source.in_(filters.sources))
    if filters.outlets:  # SQLite's lower() knows only ASCII: its connections have casefold (base._sqlite_pragmas)
        name = func.coalesce(t.c.outlet, t.c.source)
        outlet, wanted = ((func.briefing_casefold(name), [o.casefold() for o in filters.outlets]) if sqlite
                          else (func.lower(name), [o.lower() for o in filters.outlets]))
        stmt = stmt.where(outlet.in_(wanted))
    return stmt


def _utc(value: Any) -> Any:
    """A bound as the column stores it (naive UTC), since ``coalesce`` hides the column's type."""
    return literal(value, schema.UTCDateTime)
