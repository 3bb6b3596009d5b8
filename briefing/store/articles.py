"""Articles: insert new ones, update edited ones, read a digest's window back in ``Article`` field order.

An update keeps an article's ``first_seen``, so an edit never brings an old story into a new window by
itself; a material edit (``briefing.revisions``) also keeps the replaced version in ``article_revisions``,
in the same transaction, which is how a digest learns that a story it sent was revised.
Reads build ``Article``s positionally from ``_ARTICLE_COLUMNS`` (the dataclass's own field order), which
is why the table's column names must match ``Article``'s fields.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, func, or_, select, update

from briefing.revisions import change_kind
from briefing.store import schema
from briefing.store.base import StoreBase
from briefing.store.fts import index_articles
from briefing.types import Article, Revision

__all__ = ["ArticlesMixin"]


class ArticlesMixin(StoreBase):
    """The ``articles`` table."""

    def add_articles(self, articles: Iterable[Article]) -> list[Article]:
        """Insert the articles not stored yet (and update edited ones); return those added."""
        return self.upsert_articles(articles)[0]

    def upsert_articles(self, articles: Iterable[Article]) -> tuple[list[Article], list[Article]]:
        """In one transaction: insert new ids, update stored ones whose content changed.

        An update keeps the article's ``first_seen``, so an edit does not bring
        an old story back into a new digest window. Returns (added, updated).
        """
        batch = {a.id: a for a in articles}
        if not batch:
            return [], []
        t = schema.articles
        with self._tx() as conn:
            known: dict[str, tuple[str, str]] = {}
            for chunk in schema.chunks(batch):
                rows = conn.execute(select(t.c.id, t.c.content_hash, t.c.title).where(t.c.id.in_(chunk)))
                known.update({r.id: (r.content_hash, r.title) for r in rows})
            new = [a for a in batch.values() if a.id not in known]
            # A changed headline over the same text is an edit too (the hash is of the text alone).
            changed = [a for a in batch.values() if a.id in known and known[a.id] != (a.content_hash, a.title)]
            if new:
                conn.execute(t.insert(), [_article_row(a) for a in new])
            _keep_revisions(conn, changed)
            for a in changed:
                conn.execute(update(t).where(t.c.id == a.id).values(
                    title=a.title, text=a.text, content_hash=a.content_hash, published=a.published,
                    location=a.location, teaser=a.teaser, outlet=a.outlet, lang=a.lang))
            index_articles(conn, new, changed)  # the search index, in this transaction (see ``fts``)
        return new, changed

    def articles_revised_between(self, start: datetime, end: datetime,
                                 seen_before: datetime) -> list[tuple[Article, Revision]]:
        """Articles first seen before ``seen_before`` and materially edited in [start, end), oldest edit first:
        each with its current version and the revision it had at ``start`` (the version a digest showed)."""
        r, t = schema.article_revisions, schema.articles
        first = (select(r.c.article_id, func.min(r.c.id).label("rid"))
                 .where(r.c.replaced >= start, r.c.replaced < end).group_by(r.c.article_id).subquery())
        query = (select(*_ARTICLE_COLUMNS, r.c.title, r.c.text, r.c.seen, r.c.replaced, r.c.change)
                 .select_from(t.join(first, first.c.article_id == t.c.id).join(r, r.c.id == first.c.rid))
                 .where(t.c.first_seen < seen_before).order_by(r.c.replaced, t.c.id))
        with self._tx() as conn:
            out = []
            for row in conn.execute(query):
                article = article_of(row)
                title, text, seen, replaced, change = row[_FIELDS:]
                out.append((article, Revision(article.id, title, text, seen, replaced, change)))
            return out

    def revised_at(self, ids: Iterable[str]) -> dict[str, datetime]:
        """When each of ``ids`` that was materially edited was last edited (the others are left out)."""
        r = schema.article_revisions
        found: dict[str, datetime] = {}
        with self._tx() as conn:
            for chunk in schema.chunks(ids):
                rows = conn.execute(select(r.c.article_id, func.max(r.c.replaced).label("last"))
                                    .where(r.c.article_id.in_(chunk)).group_by(r.c.article_id))
                found.update({row.article_id: row.last for row in rows})  # max() keeps the column's type
        return found

    def revisions(self, article_id: str) -> list[Revision]:
        """The earlier versions of one article, oldest first (the first one is what was first seen)."""
        r = schema.article_revisions
        with self._tx() as conn:
            rows = conn.execute(select(r).where(r.c.article_id == article_id).order_by(r.c.id))
            return [Revision(m["article_id"], m["title"], m["text"], m["seen"], m["replaced"], m["change"])
                    for m in (row._mapping for row in rows)]

    def has_articles(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        with self._tx() as conn:
            return set(conn.scalars(select(schema.articles.c.id).where(schema.articles.c.id.in_(ids))))

    def articles_seen_between(self, start: datetime, end: datetime) -> list[Article]:
        """Articles first seen in [start, end), oldest first."""
        t = schema.articles
        query = (select(*_ARTICLE_COLUMNS).where(t.c.first_seen >= start, t.c.first_seen < end)
                 .order_by(t.c.first_seen, t.c.id))
        return self._read_articles(query)

    def articles_dated_between(self, start: datetime, end: datetime) -> list[Article]:
        """Articles published in [start, end) (first seen, when undated), oldest first: a backfill's window.

        A past window is about when things happened, so a folder of last month's
        articles ingested today still lands in last month's backfill.
        """
        t = schema.articles
        dated = and_(t.c.published >= start, t.c.published < end)
        undated = and_(t.c.published.is_(None), t.c.first_seen >= start, t.c.first_seen < end)
        query = (select(*_ARTICLE_COLUMNS).where(or_(dated, undated))
                 .order_by(func.coalesce(t.c.published, t.c.first_seen), t.c.id))
        return self._read_articles(query)

    def _read_articles(self, query: Select[Any]) -> list[Article]:
        """Rows in Article's field order, built positionally; the cyclic GC paused meanwhile, since
        a window of 100k articles would otherwise be rescanned again and again as it grows."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            with self._tx() as conn:
                return [article_of(row) for row in conn.execute(query)]
        finally:
            if enabled:
                gc.enable()

    def count_articles(self) -> int:
        with self._tx() as conn:
            return int(conn.scalar(select(func.count()).select_from(schema.articles)) or 0)


_ARTICLE_COLUMNS = tuple(schema.articles.c[f.name] for f in fields(Article))
_FIELDS = len(_ARTICLE_COLUMNS)
_TEASER = [f.name for f in fields(Article)].index("teaser")  # SQLite hands a boolean back as 0/1
# ``Article`` itself, called with a row's values in field order (mypy cannot count a row's length).
_from_row: Callable[..., Article] = Article


def article_of(row: Sequence[Any]) -> Article:
    """The Article of a row that starts with ``_ARTICLE_COLUMNS`` (a query may select more after them)."""
    return _from_row(*row[:_TEASER], bool(row[_TEASER]), *row[_TEASER + 1:_FIELDS])


def _keep_revisions(conn: Connection, changed: list[Article]) -> None:
    """Before ``changed`` replace their stored rows: keep each stored version a material edit replaces.

    The kept version was seen from the last revision's ``replaced`` (else the article's ``first_seen``)
    until now, the edited article's ``first_seen`` (the run's clock). Same transaction as the update.
    """
    if not changed:
        return
    t, r = schema.articles, schema.article_revisions
    by_id = {a.id: a for a in changed}
    rows = []
    for chunk in schema.chunks(by_id):
        last = (select(r.c.article_id, func.max(r.c.replaced).label("last"))
                .where(r.c.article_id.in_(chunk)).group_by(r.c.article_id).subquery())
        stored = conn.execute(select(t.c.id, t.c.title, t.c.text, t.c.content_hash, t.c.first_seen, last.c.last)
                              .select_from(t.outerjoin(last, last.c.article_id == t.c.id))
                              .where(t.c.id.in_(chunk)))
        for s in stored:
            a = by_id[s.id]
            change = change_kind(s.title, s.text, a.title, a.text)
            if change is None:
                continue
            seen = s.last if s.last is not None else s.first_seen  # this version began with the last edit
            rows.append({"article_id": s.id, "title": s.title, "text": s.text, "content_hash": s.content_hash,
                         "seen": seen, "replaced": a.first_seen, "change": change})
    if rows:
        conn.execute(r.insert(), rows)


def _article_row(a: Article) -> dict[str, Any]:
    return {"id": a.id, "source": a.source, "location": a.location, "title": a.title, "text": a.text,
            "content_hash": a.content_hash, "published": a.published, "first_seen": a.first_seen,
            "teaser": a.teaser, "outlet": a.outlet, "lang": a.lang}
