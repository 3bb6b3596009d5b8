"""The store: articles, sources with their fetch state, and the digest ledger.

Everything SQL lives in this package. Driver errors become ``StorageError``
here, at the boundary. Each write is one transaction, so a run killed midway
leaves no half-written article and a rerun inserts whatever is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from briefing.exceptions import StorageError
from briefing.sources import FetchState
from briefing.store import schema
from briefing.types import Article, SourceHealth

__all__ = ["DigestRecord", "Store"]


@dataclass(frozen=True)
class DigestRecord:
    id: int
    window_start: datetime
    window_end: datetime
    created: datetime
    delivered: bool
    archive_path: str | None
    stories: int
    articles: int


def _initial(conn: Connection) -> None:
    schema.metadata.create_all(conn)


# Named migrations, applied in order and recorded in the ``migrations`` table.
MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [("0001_initial", _initial)]


class Store:
    """Open (and create or migrate) the database at ``url``.

    ``Store.open_dir(state_dir)`` keeps the SQLite file under a state folder.
    """

    def __init__(self, url: str):
        self.url = url
        try:
            self.engine = create_engine(url)
            if url.startswith("sqlite"):
                event.listen(self.engine, "connect", _sqlite_pragmas)
            self._migrate()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot open store {url}: {exc}") from exc

    @classmethod
    def open_dir(cls, state_dir: Path) -> Store:
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create state folder {state_dir}: {exc.strerror}") from exc
        return cls(f"sqlite:///{state_dir / 'briefing.sqlite'}")

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StorageError(f"store {self.url}: {exc}") from exc

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            schema.migrations.create(conn, checkfirst=True)
            done = set(conn.scalars(select(schema.migrations.c.name)))
            for name, step in MIGRATIONS:
                if name not in done:
                    step(conn)
                    conn.execute(schema.migrations.insert().values(name=name, applied=_now()))

    # --- articles -----------------------------------------------------------

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
            known: dict[str, str] = {}
            ids = list(batch)
            for i in range(0, len(ids), 500):
                rows = conn.execute(select(t.c.id, t.c.content_hash).where(t.c.id.in_(ids[i:i + 500])))
                known.update({r.id: r.content_hash for r in rows})
            new = [a for a in batch.values() if a.id not in known]
            changed = [a for a in batch.values() if a.id in known and known[a.id] != a.content_hash]
            if new:
                conn.execute(t.insert(), [_article_row(a) for a in new])
            for a in changed:
                conn.execute(update(t).where(t.c.id == a.id).values(
                    title=a.title, text=a.text, content_hash=a.content_hash, published=a.published,
                    location=a.location))
        return new, changed

    def has_articles(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        with self._tx() as conn:
            return set(conn.scalars(select(schema.articles.c.id).where(schema.articles.c.id.in_(ids))))

    def articles_seen_between(self, start: datetime, end: datetime) -> list[Article]:
        """Articles first seen in [start, end), oldest first."""
        t = schema.articles
        query = select(t).where(t.c.first_seen >= start, t.c.first_seen < end).order_by(t.c.first_seen, t.c.id)
        with self._tx() as conn:
            return [_article(row._mapping) for row in conn.execute(query)]

    def count_articles(self) -> int:
        with self._tx() as conn:
            return int(conn.scalar(select(func.count()).select_from(schema.articles)) or 0)

    # --- sources ------------------------------------------------------------

    def fetch_state(self, name: str) -> FetchState:
        with self._tx() as conn:
            row = conn.execute(select(schema.sources).where(schema.sources.c.name == name)).first()
        if row is None:
            return FetchState()
        return FetchState(row.etag, row.last_modified, failures=row.failures, last_fetched=row.last_fetched,
                          last_error=row.last_error)

    def record_fetch(self, health: SourceHealth, when: datetime, state: FetchState) -> None:
        """Remember how a fetch went; failures count up until the next success."""
        t = schema.sources
        name = health.source
        with self._tx() as conn:
            row = conn.execute(select(t).where(t.c.name == name)).first()
            failures = (row.failures if row else 0) + 1 if health.status == "failed" else 0
            values: dict[str, Any] = dict(last_fetched=when, last_status=health.status, last_error=health.error,
                                          failures=failures, etag=state.etag, last_modified=state.last_modified,
                                          items=health.items, new=health.new)
            if row is None:
                conn.execute(t.insert().values(name=name, **values))
            else:
                conn.execute(update(t).where(t.c.name == name).values(**values))

    def source_health(self, names: Iterable[str] | None = None) -> list[SourceHealth]:
        """How each source fared at its last fetch (for the digest footer)."""
        t = schema.sources
        query = select(t).order_by(t.c.name)
        if names is not None:
            query = query.where(t.c.name.in_(list(names)))
        with self._tx() as conn:
            return [SourceHealth(r.name, r.last_status or "unknown", items=r.items, new=r.new, error=r.last_error)
                    for r in conn.execute(query)]

    # --- digest ledger ------------------------------------------------------

    def last_delivered(self) -> DigestRecord | None:
        t = schema.digests
        query = select(t).where(t.c.delivered.is_(True)).order_by(t.c.window_end.desc()).limit(1)
        with self._tx() as conn:
            row = conn.execute(query).first()
        return _digest(row._mapping) if row else None

    def digests(self) -> list[DigestRecord]:
        with self._tx() as conn:
            rows = conn.execute(select(schema.digests).order_by(schema.digests.c.window_end.desc()))
            return [_digest(r._mapping) for r in rows]

    def delivered_window(self, start: datetime, end: datetime) -> DigestRecord | None:
        """The delivered digest of exactly this window, if any (a re-run must not send it again)."""
        t = schema.digests
        query = select(t).where(t.c.delivered.is_(True), t.c.window_start == start, t.c.window_end == end)
        with self._tx() as conn:
            row = conn.execute(query.limit(1)).first()
        return _digest(row._mapping) if row else None

    def mark_delivered(self, digest_id: int, when: datetime) -> None:
        t = schema.digests
        with self._tx() as conn:
            conn.execute(update(t).where(t.c.id == digest_id).values(delivered=True, delivered_at=when))

    def record_digest(self, *, window_start: datetime, window_end: datetime, created: datetime,
                      delivered: bool, archive_path: str | None, stories: int, articles: int) -> int:
        with self._tx() as conn:
            result = conn.execute(schema.digests.insert().values(
                window_start=window_start, window_end=window_end, created=created, delivered=delivered,
                delivered_at=created if delivered else None, archive_path=archive_path,
                stories=stories, articles=articles))
            return int(result.inserted_primary_key[0])


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _article_row(a: Article) -> dict[str, Any]:
    return dict(id=a.id, source=a.source, location=a.location, title=a.title, text=a.text,
                content_hash=a.content_hash, published=a.published, first_seen=a.first_seen)


def _article(m: Any) -> Article:
    return Article(id=m["id"], source=m["source"], location=m["location"], title=m["title"], text=m["text"],
                   content_hash=m["content_hash"], first_seen=m["first_seen"], published=m["published"])


def _digest(m: Any) -> DigestRecord:
    return DigestRecord(id=m["id"], window_start=m["window_start"], window_end=m["window_end"],
                        created=m["created"], delivered=bool(m["delivered"]), archive_path=m["archive_path"],
                        stories=m["stories"], articles=m["articles"])
