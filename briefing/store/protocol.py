"""What the rest of Briefing may ask of a store: one ``Protocol`` per aggregate, and ``Storage`` over them all.

Flows, the CLI and the planners depend on these shapes, not on SQLAlchemy (reader's ``_types.py`` shape):
a fake store for a test, or another backend, is any object with these methods. Each method lists what
it raises. Every one may raise ``StorageError``: driver errors (a locked or damaged database, a lost
server, a naive datetime refused by the schema) become it at the store's boundary, and nothing else
escapes from the driver. ``LockStore.lock`` also raises ``BusyError`` (a ``StorageError``).

``briefing.store.Store`` satisfies ``Storage``: mypy checks it in ``briefing/store/__init__.py`` and
``tests/test_store_protocol.py`` checks it at runtime.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from briefing.search import Filters, Query
    from briefing.sources import FetchState
    from briefing.store.ledger import DigestRecord
    from briefing.store.stories import StoryAppearance, StoryEntry
    from briefing.types import Article, Revision, SourceHealth

__all__ = ["ArticleStore", "LedgerStore", "LockStore", "SourceStore", "Storage"]


@runtime_checkable
class ArticleStore(Protocol):
    """Articles kept once each by id; an edit updates the stored one in place (a material one keeps the old)."""

    def add_articles(self, articles: Iterable[Article]) -> list[Article]:
        """Insert the articles not stored yet (and update edited ones); return those added.

        Raises:
            StorageError: the database could not be written; nothing of the batch was stored.
        """
        ...

    def upsert_articles(self, articles: Iterable[Article]) -> tuple[list[Article], list[Article]]:
        """In one transaction, insert new ids and update stored ones whose content changed: (added, updated).

        An update keeps the stored ``first_seen``.

        Raises:
            StorageError: the database could not be written; nothing of the batch was stored.
        """
        ...

    def articles_revised_between(self, start: datetime, end: datetime,
                                 seen_before: datetime) -> list[tuple[Article, Revision]]:
        """Articles first seen before ``seen_before`` and materially edited in [start, end), oldest edit first,
        each as it is now with the first of those revisions (the version before the window's edits).

        Raises:
            StorageError: the database could not be read, or a bound is a naive datetime.
        """
        ...

    def revised_at(self, ids: Iterable[str]) -> dict[str, datetime]:
        """When each of ``ids`` that was materially edited was last edited (unrevised ones are left out).

        Raises:
            StorageError: the database could not be read.
        """
        ...

    def revisions(self, article_id: str) -> list[Revision]:
        """The earlier versions of one article, oldest (the first seen) first; empty if never revised.

        Raises:
            StorageError: the database could not be read.
        """
        ...

    def has_articles(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` already stored.

        Raises:
            StorageError: the database could not be read.
        """
        ...

    def articles_seen_between(self, start: datetime, end: datetime) -> list[Article]:
        """Articles first seen in [start, end), oldest first: a regular digest's window.

        Raises:
            StorageError: the database could not be read, or a bound is a naive datetime.
        """
        ...

    def articles_dated_between(self, start: datetime, end: datetime) -> list[Article]:
        """Articles published in [start, end) (first seen, when undated), oldest first: a backfill's window.

        Raises:
            StorageError: the database could not be read, or a bound is a naive datetime.
        """
        ...

    def count_articles(self) -> int:
        """How many articles are stored.

        Raises:
            StorageError: the database could not be read.
        """
        ...

    def search_articles(self, query: Query, filters: Filters, limit: int,
                        offset: int = 0) -> list[tuple[Article, float]]:
        """The articles matching ``query`` (``briefing.search.parse_query``) and ``filters``, best first, with
        their score (higher is better: BM25 in SQLite, ts_rank_cd in PostgreSQL; ties: the latest first).

        Raises:
            StorageError: the database could not be read, or a bound is a naive datetime.
        """
        ...


@runtime_checkable
class SourceStore(Protocol):
    """Each source's fetch state and how its last fetch went."""

    def fetch_state(self, name: str) -> FetchState:
        """The caching validators and failure count recorded for source ``name`` (empty if never fetched).

        Raises:
            StorageError: the database could not be read.
        """
        ...

    def record_fetch(self, health: SourceHealth, when: datetime, state: FetchState) -> None:
        """Remember how a fetch went; failures count up until the next success.

        Raises:
            StorageError: the database could not be written, or ``when`` is a naive datetime.
        """
        ...

    def source_health(self, names: Iterable[str] | None = None) -> list[SourceHealth]:
        """How each source (those named, or all) fared at its last fetch, by name.

        Raises:
            StorageError: the database could not be read.
        """
        ...


@runtime_checkable
class LockStore(Protocol):
    """Named locks, so two runs of one job never overlap."""

    def lock(self, name: str, *, wait: float = 0, lease: float = 6 * 3600,
             poll: float = 0.5) -> AbstractContextManager[None]:
        """Hold the named lock for the ``with`` block; a stale lock (lease out, holder gone) is taken over.

        Raises:
            BusyError: another live run still held the lock after ``wait`` seconds.
            StorageError: the database could not be read or written.
        """
        ...


@runtime_checkable
class LedgerStore(Protocol):
    """The digest ledger: each digest made, its window, whether it was delivered, and the stories it carried."""

    def last_delivered(self) -> DigestRecord | None:
        """The regular digest delivered last (backfills don't count); None before the first.

        Raises:
            StorageError: the database could not be read.
        """
        ...

    def digests(self) -> list[DigestRecord]:
        """The whole ledger, latest window first.

        Raises:
            StorageError: the database could not be read.
        """
        ...

    def delivered_window(self, start: datetime, end: datetime) -> DigestRecord | None:
        """A delivered regular digest overlapping [start, end), if any (a re-run must not send it again).

        Raises:
            StorageError: the database could not be read, or a bound is a naive datetime.
        """
        ...

    def mark_delivered(self, digest_id: int, when: datetime) -> None:
        """Record that digest ``digest_id`` was delivered at ``when``.

        Raises:
            StorageError: the database could not be written, or ``when`` is a naive datetime.
        """
        ...

    def record_digest(self, *, window_start: datetime, window_end: datetime, created: datetime,
                      delivered: bool, archive_path: str | None, stories: int, articles: int,
                      kind: str = "regular") -> int:
        """Add a digest to the ledger; return its id.

        Raises:
            StorageError: the database could not be written, or a datetime is naive.
        """
        ...

    def record_stories(self, digest_id: int, stories: Sequence[StoryEntry]) -> None:
        """In one transaction, record digest ``digest_id``'s stories in order, and each of their articles not
        yet in a story under its story (an article keeps the first story it was in). Safe to repeat.

        Raises:
            StorageError: the database could not be written (nothing of the digest's stories was recorded).
        """
        ...

    def stories_of(self, article_ids: Iterable[str]) -> dict[str, str]:
        """The story id each of ``article_ids`` was first recorded under; unrecorded ones are left out.

        Raises:
            StorageError: the database could not be read.
        """
        ...

    def story_appearances(self, story_ids: Iterable[str]) -> dict[str, list[StoryAppearance]]:
        """Each digest each of ``story_ids`` was in, oldest window first; a story in none is left out.

        Raises:
            StorageError: the database could not be read.
        """
        ...

    def story_articles(self, story_ids: Iterable[str]) -> dict[str, list[Article]]:
        """Every stored article of each of ``story_ids``, first seen first; a story with none is left out.

        Raises:
            StorageError: the database could not be read.
        """
        ...


@runtime_checkable
class Storage(ArticleStore, SourceStore, LockStore, LedgerStore, Protocol):
    """The whole store: every aggregate, plus what names it in messages and how to let it go."""

    @property
    def where(self) -> str:
        """What messages name: the SQLite file, else the URL without its password."""
        ...

    def close(self) -> None:
        """Release the store's connections; the store is not used after this.

        Raises:
            Nothing: closing never fails.
        """
        ...
