"""The store: articles, sources with their fetch state, and the digest ledger.

Everything SQL lives in this package. Driver errors become ``StorageError``
here, at the boundary. Each write is one transaction, so a run killed midway
leaves no half-written article and a rerun inserts whatever is missing.

A store is never reset or re-created behind the user's back: a file that is
not a SQLite database, or a damaged one, is an error naming the file, which
is left as it is; so is a store whose ``migrations`` table names a migration
this version does not know (a newer Briefing made it). SQLite itself finds a
truncated file when it opens it (the header's page count exceeds the file);
damage inside the file shows when that page is read. No ``PRAGMA quick_check``
at open: it reads the whole file (1.4 s for 100k articles, 420 MB), and a run
opens the store several times.
"""

from __future__ import annotations

import gc
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (Connection, and_, create_engine, delete, event, func, inspect, make_url, or_, select, text,
                        update)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from briefing.exceptions import BusyError, StorageError
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
    kind: str = "regular"


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


# Named migrations, applied in order and recorded in the ``migrations`` table.
MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0001_initial", _initial),
    ("0002_digest_kinds_and_locks", _digest_kinds_and_locks),
    ("0003_article_teasers", _article_teasers),
    ("0004_article_outlets", _article_outlets),
]


class Store:
    """Open (and create or migrate) the database at ``url``.

    ``Store.open_dir(state_dir)`` keeps the SQLite file under a state folder.
    """

    def __init__(self, url: str):
        try:
            self.url = make_url(url).render_as_string(hide_password=True)  # what messages show
        except Exception:  # noqa: BLE001 - any malformed URL is reported the same way
            raise StorageError("cannot open store: not a database URL "
                               "(e.g. postgresql+psycopg://user@host/db)") from None
        # What messages name: the file of a SQLite store, else the URL without its password.
        self.where = _sqlite_file(url) or self.url
        try:
            self.engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot open store {self.url}: {exc}") from exc
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            self._migrate()
        except StorageError:
            self.engine.dispose()  # no connection stays open on a store that was refused
            raise

    @classmethod
    def for_config(cls, config: Any) -> Store:
        """The config's ``store_url`` if set, else the SQLite file in its ``state_dir``."""
        return cls(config.store_url) if config.store_url else cls.open_dir(config.state_dir)

    @classmethod
    @contextmanager
    def open(cls, config: Any) -> Iterator[Store]:
        """``with Store.open(config) as store:`` — the config's store, closed when the block ends."""
        store = cls.for_config(config)
        try:
            yield store
        finally:
            store.close()

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
    def _tx(self, doing: str = "store") -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise self._error(doing, exc) from exc

    def _error(self, doing: str, exc: SQLAlchemyError) -> StorageError:
        orig = getattr(exc, "orig", None)  # the driver's own error
        code = getattr(orig, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in _DAMAGED:
            return StorageError(f"store file {self.where} is damaged or not a SQLite database ({orig}); "
                                "it was left as it is: restore it from a backup, or move it aside to start a new store")
        return StorageError(f"{doing} {self.url}: {exc}")

    def _migrate(self) -> None:
        """Apply the missing migrations in order; refuse a store made by a newer Briefing.

        Raises:
            StorageError: not a database or damaged; or a migration recorded that this version does not know.
        """
        with self._tx("cannot open store") as conn:
            schema.migrations.create(conn, checkfirst=True)
            done = set(conn.scalars(select(schema.migrations.c.name)))
            unknown = sorted(done - {name for name, _ in MIGRATIONS})
            if unknown:
                raise StorageError(f"store {self.where} was created by a newer Briefing (it records migration "
                                   f"{', '.join(unknown)}, unknown to this version); upgrade Briefing to use it")
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
                    location=a.location, teaser=a.teaser, outlet=a.outlet))
        return new, changed

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

    def _read_articles(self, query: Any) -> list[Article]:
        """Rows in Article's field order, built positionally; the cyclic GC paused meanwhile, since
        a window of 100k articles would otherwise be rescanned again and again as it grows."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            with self._tx() as conn:
                return [Article(*row[:-2], bool(row[-2]), row[-1]) for row in conn.execute(query)]
        finally:
            if enabled:
                gc.enable()

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

    # --- locks --------------------------------------------------------------

    @contextmanager
    def lock(self, name: str, *, wait: float = 0, lease: float = 6 * 3600, poll: float = 0.5) -> Iterator[None]:
        """Hold the named lock for the ``with`` block, so two runs of one job never overlap.

        Waits up to ``wait`` seconds for another holder. A lock is stale, and is
        taken over, once its lease has run out or when its holder was a process
        on this host that no longer exists (a killed run does not block the next).

        Raises:
            BusyError: another live run still held the lock after ``wait`` seconds.
        """
        pid = os.getpid()
        holder = f"{socket.gethostname()}:{pid}:{_process_start(pid) or '-'}:{uuid.uuid4().hex[:8]}"
        deadline = time.monotonic() + wait
        while True:
            current = self._try_lock(name, holder, lease)
            if current is None:
                break
            if time.monotonic() >= deadline:
                raise BusyError(name, f"{current.host}:{current.pid}", current.acquired.isoformat(timespec="seconds"),
                                wait)
            time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        try:
            yield
        finally:
            with self._tx() as conn:
                t = schema.locks
                conn.execute(delete(t).where(t.c.name == name, t.c.holder == holder))

    def _try_lock(self, name: str, holder: str, lease: float) -> Any:
        """Take the lock (None) or return the row of the live holder that has it."""
        t = schema.locks
        now = _now()
        try:
            with self._tx() as conn:
                row = conn.execute(select(t).where(t.c.name == name)).first()
                if row is not None and not _stale(row, now):
                    return row
                if row is not None:
                    conn.execute(delete(t).where(t.c.name == name, t.c.holder == row.holder))
                conn.execute(t.insert().values(name=name, holder=holder, host=socket.gethostname(), pid=os.getpid(),
                                               acquired=now, expires=now + timedelta(seconds=lease)))
        except StorageError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            with self._tx() as conn:  # another run inserted it first
                row = conn.execute(select(t).where(t.c.name == name)).first()
            # ... and may have released it already: then try again rather than report it taken by us
            return row if row is not None else self._try_lock(name, holder, lease)
        return None

    # --- digest ledger ------------------------------------------------------

    def last_delivered(self) -> DigestRecord | None:
        """The regular digest delivered last: the next window starts at its end (backfills don't count)."""
        t = schema.digests
        query = (select(t).where(t.c.delivered.is_(True), t.c.kind == "regular")
                 .order_by(t.c.window_end.desc()).limit(1))
        with self._tx() as conn:
            row = conn.execute(query).first()
        return _digest(row._mapping) if row else None

    def digests(self) -> list[DigestRecord]:
        with self._tx() as conn:
            rows = conn.execute(select(schema.digests).order_by(schema.digests.c.window_end.desc()))
            return [_digest(r._mapping) for r in rows]

    def delivered_window(self, start: datetime, end: datetime) -> DigestRecord | None:
        """A delivered regular digest overlapping this window, if any (a re-run must not send it again)."""
        t = schema.digests
        query = select(t).where(t.c.delivered.is_(True), t.c.kind == "regular", t.c.window_start < end,
                                t.c.window_end > start).order_by(t.c.window_end.desc())
        with self._tx() as conn:
            row = conn.execute(query.limit(1)).first()
        return _digest(row._mapping) if row else None

    def mark_delivered(self, digest_id: int, when: datetime) -> None:
        t = schema.digests
        with self._tx() as conn:
            conn.execute(update(t).where(t.c.id == digest_id).values(delivered=True, delivered_at=when))

    def record_digest(self, *, window_start: datetime, window_end: datetime, created: datetime,
                      delivered: bool, archive_path: str | None, stories: int, articles: int,
                      kind: str = "regular") -> int:
        with self._tx() as conn:
            result = conn.execute(schema.digests.insert().values(
                window_start=window_start, window_end=window_end, created=created, delivered=delivered,
                delivered_at=created if delivered else None, archive_path=archive_path,
                stories=stories, articles=articles, kind=kind))
            return int(result.inserted_primary_key[0])


_DAMAGED = {11, 26}  # SQLite's primary result codes SQLITE_CORRUPT ("malformed") and SQLITE_NOTADB


def _sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL (None: in memory, or not SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages: a 100k-article window reads 300 MB
    cur.execute("PRAGMA mmap_size=1073741824")  # read through the OS page cache, without a copy per page
    cur.close()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _stale(lock: Any, now: datetime) -> bool:
    """A lease run out, or a holder on this host whose process is gone (killed, crashed).

    Gone includes a zombie (killed, not yet reaped) and a pid now worn by
    another process (a restarted container hands out the same pids): the
    holder records its process's start time, which the newcomer does not share.
    """
    if lock.expires <= now:
        return True
    if lock.host != socket.gethostname():
        return False
    try:
        os.kill(lock.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    parts = lock.holder.split(":")
    recorded = parts[2] if len(parts) == 4 and parts[2] != "-" else None
    started = _process_start(lock.pid)
    return started == "zombie" or (recorded is not None and started is not None and started != recorded)


def _process_start(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot, from /proc), "zombie" if it has exited; None off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields_ = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state is field 3, starttime field 22
    return "zombie" if fields_[0] in ("Z", "X") else fields_[19]


_ARTICLE_COLUMNS = tuple(schema.articles.c[f.name] for f in fields(Article))


def _article_row(a: Article) -> dict[str, Any]:
    return dict(id=a.id, source=a.source, location=a.location, title=a.title, text=a.text,
                content_hash=a.content_hash, published=a.published, first_seen=a.first_seen, teaser=a.teaser,
                outlet=a.outlet)


def _digest(m: Any) -> DigestRecord:
    return DigestRecord(id=m["id"], window_start=m["window_start"], window_end=m["window_end"],
                        created=m["created"], delivered=bool(m["delivered"]), archive_path=m["archive_path"],
                        stories=m["stories"], articles=m["articles"], kind=m["kind"])
