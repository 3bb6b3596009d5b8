"""The store: articles, sources with their fetch state, locks and the digest ledger.

Everything SQL lives in this package, one module per aggregate, behind the protocols in ``protocol``:

- ``base``: the engine, one transaction per call (``_tx``), driver errors made ``StorageError``, SQLite pragmas;
- ``migrations``: the named ``MIGRATIONS`` and the step that applies them when a store is opened;
- ``schema``: the tables, in SQLAlchemy Core;
- ``articles``, ``search``, ``sources``, ``locks``, ``ledger``, ``stories``: one mixin each over ``StoreBase``,
  composed into ``Store`` here (``ledger`` also holds ``DigestRecord`` and the ``delivery_status`` rule; ``fts``
  keeps the search index in step with the articles; ``stories`` the digests' stories, for their timelines).

Driver errors become ``StorageError`` here, at the boundary. Each write is one transaction, so a run
killed midway leaves no half-written article and a rerun inserts whatever is missing.

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

from typing import TYPE_CHECKING

from briefing.store import schema
from briefing.store.articles import ArticlesMixin
from briefing.store.ledger import DigestRecord, LedgerMixin, delivery_status
from briefing.store.locks import LocksMixin

# Re-exported for the tests of the lock's liveness check.
from briefing.store.locks import _process_start as _process_start
from briefing.store.migrations import MIGRATIONS
from briefing.store.protocol import (
    ArticleStore,
    LedgerStore,
    LockStore,
    SourceStore,
    Storage,
)
from briefing.store.search import SearchMixin
from briefing.store.sources import SourcesMixin
from briefing.store.stories import StoriesMixin, StoryAppearance, StoryEntry

__all__ = ["MIGRATIONS", "ArticleStore", "DigestRecord", "LedgerStore", "LockStore", "SourceStore", "Storage",
           "Store", "StoryAppearance", "StoryEntry", "delivery_status", "schema"]


class Store(ArticlesMixin, SearchMixin, SourcesMixin, LocksMixin, LedgerMixin, StoriesMixin):
    """Open (and create or migrate) the database at ``url``.

    ``Store.open_dir(state_dir)`` keeps the SQLite file under a state folder;
    ``with Store.open(config) as store:`` opens the config's store and closes it.
    """


if TYPE_CHECKING:
    _satisfies: type[Storage] = Store  # mypy: the concrete store has every method of the protocol
