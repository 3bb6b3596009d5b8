"""The store's foundation: opening the engine, one transaction per call, and driver errors made StorageError.

``StoreBase`` is what every aggregate's mixin (articles, sources, locks, ledger) builds on, so that only
this module knows how a URL becomes an engine, which SQLite pragmas apply, and how a driver error reads
(a damaged file is named as such, and left as it is). Opening a store migrates it (``migrations``);
nothing here knows any table but through that step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from sqlalchemy import Connection, create_engine, event, make_url
from sqlalchemy.exc import SQLAlchemyError

from briefing.exceptions import StorageError
from briefing.search import index_text
from briefing.store.migrations import migrate

__all__ = ["StoreBase"]


class StoreBase:
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
            event.listen(self.engine, "handle_error", _raise_held_signal)
        try:
            self._migrate()
        except StorageError:
            self.engine.dispose()  # no connection stays open on a store that was refused
            raise

    @classmethod
    def for_config(cls, config: Any) -> Self:
        """The config's ``store_url`` if set, else the SQLite file in its ``state_dir``."""
        return cls(config.store_url) if config.store_url else cls.open_dir(config.state_dir)

    @classmethod
    @contextmanager
    def open(cls, config: Any) -> Iterator[Self]:
        """``with Store.open(config) as store:`` — the config's store, closed when the block ends."""
        store = cls.for_config(config)
        try:
            yield store
        finally:
            store.close()

    @classmethod
    def open_dir(cls, state_dir: Path) -> Self:
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
            migrate(conn, self.where)


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
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a killed process loses nothing committed and
    # the file is never corrupt; a power cut may roll back the last commits (articles and their feeds' ETags
    # together, so the next run fetches them again). FULL cost ~8 ms a commit: 1.5 of an all-304 pass's 2.7 s.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages: a 100k-article window reads 300 MB
    cur.execute("PRAGMA mmap_size=1073741824")  # read through the OS page cache, without a copy per page
    cur.close()
    # The search index's cut of a text into words (Chinese too): the batch insert and the update/delete triggers
    # on ``articles`` call it, and a guard trigger makes a client without it fail rather than skip the index.
    dbapi_conn.create_function("briefing_index_text", 1, _passing_signals(index_text), deterministic=True)
    dbapi_conn.create_function("briefing_casefold", 1, _passing_signals(_casefold),
                               deterministic=True)  # SQLite's lower(): ASCII only


_held = threading.local()  # a signal's exception raised inside a SQL function, until its statement fails


def _passing_signals(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``fn`` as a SQL function that does not swallow a signal.

    sqlite3 turns any exception raised in a Python SQL function into OperationalError ("user-defined
    function raised exception") and drops it. A SIGTERM or Ctrl-C whose handler runs inside one (the
    index cut runs for every inserted row) would then read as a store failure, exit 1, instead of a stop
    with 128 + signal. The exception is held here and raised in the error's place by ``_raise_held_signal``.
    """
    def call(value: Any) -> Any:
        try:
            return fn(value)
        except Exception:
            raise
        except BaseException as exc:  # KeyboardInterrupt, Prefect's TerminationSignal, SystemExit
            _held.exc = exc
            raise
    return call


def _raise_held_signal(context: Any) -> BaseException | None:
    """SQLAlchemy's ``handle_error`` hook: the statement failed because a signal landed in a SQL function."""
    exc = getattr(_held, "exc", None)
    _held.exc = None
    return exc


def _casefold(value: str | None) -> str | None:
    return None if value is None else value.casefold()


def _now() -> datetime:
    return datetime.now(UTC)
