"""The store's protocols match the concrete Store, and the ledger's delivery_status rule."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, Protocol

import pytest

import briefing.store
from briefing.store import (
    ArticleStore,
    DigestRecord,
    LedgerStore,
    LockStore,
    SourceStore,
    Storage,
    Store,
    delivery_status,
)

DAY = timedelta(days=1)
T0 = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
AGGREGATES = (ArticleStore, SourceStore, LockStore, LedgerStore)
# Store's public names that are not a store's behaviour: how one is made, and its engine.
CONSTRUCTION = {"for_config", "open", "open_dir", "engine", "url"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open_dir(tmp_path / "state")
    yield s
    s.close()


def _members(proto: type) -> set[str]:
    """The names a protocol asks for: those defined in it and in the protocols it extends."""
    return {name for cls in proto.__mro__ if cls not in (Protocol, Generic, object)
            for name in vars(cls) if not name.startswith("_")}


def _public(cls: type) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_")}


# --- the protocol ---------------------------------------------------------------

def test_store_is_a_storage_and_each_aggregate(store: Store) -> None:
    """A real Store passes isinstance for Storage and every aggregate's protocol."""
    assert isinstance(store, Storage)
    for proto in AGGREGATES:
        assert isinstance(store, proto), proto.__name__


def test_an_object_missing_an_aggregate_is_not_a_storage(store: Store) -> None:
    """The runtime check can fail: an object with the articles' methods only is an ArticleStore, not a Storage."""
    class ArticlesOnly:
        pass

    half = ArticlesOnly()
    for name in _members(ArticleStore):
        setattr(half, name, getattr(store, name))
    assert isinstance(half, ArticleStore)
    assert not isinstance(half, Storage)
    assert not isinstance(half, LedgerStore)
    assert not isinstance(object(), Storage)


def test_storage_is_the_aggregates_plus_where_and_close() -> None:
    """Storage asks for every aggregate's methods, and the aggregates do not overlap."""
    parts = [_members(p) for p in AGGREGATES]
    assert sum(map(len, parts)) == len(set().union(*parts))
    assert _members(Storage) == set().union(*parts) | {"where", "close"}


def test_every_public_store_method_is_in_the_protocol(store: Store) -> None:
    """A method added to Store without its protocol fails here (construction aside)."""
    public = _public(Store) | {n for n in vars(store) if not n.startswith("_")}
    assert public - CONSTRUCTION == _members(Storage)


@pytest.mark.parametrize("name", sorted(set().union(*(_members(p) for p in AGGREGATES)) | {"close"}))
def test_protocol_signatures_match_the_store(name: str) -> None:
    """Each protocol method has Store's parameters (names, kinds, defaults, annotations) and return."""
    want = inspect.signature(getattr(Storage, name))
    got = inspect.signature(getattr(Store, name))
    assert list(want.parameters.values()) == list(got.parameters.values())
    if name == "lock":  # a @contextmanager generator: the protocol names what calling it gives
        assert (want.return_annotation, got.return_annotation) == ("AbstractContextManager[None]",
                                                                   "Iterator[None]")
    else:
        assert want.return_annotation == got.return_annotation


@pytest.mark.parametrize("name", sorted(set().union(*(_members(p) for p in AGGREGATES))))
def test_each_protocol_method_lists_what_it_raises(name: str) -> None:
    """Every method's docstring has a Raises section naming StorageError; lock also names BusyError."""
    doc = inspect.getdoc(getattr(Storage, name)) or ""
    assert "Raises:" in doc
    raises = doc.split("Raises:", 1)[1]
    assert "StorageError" in raises
    assert ("BusyError" in raises) == (name == "lock")


def test_store_package_exports() -> None:
    """What callers import from briefing.store is there, and __all__ names only what exists."""
    assert set(briefing.store.__all__) >= {"Store", "DigestRecord", "Storage", "delivery_status", "MIGRATIONS"}
    for name in briefing.store.__all__:
        assert hasattr(briefing.store, name), name
    assert briefing.store.MIGRATIONS[0][0] == "0001_initial"
    assert callable(briefing.store._process_start)


# --- delivery_status ------------------------------------------------------------

def _record(id_: int, start: datetime, end: datetime, *, delivered: bool, kind: str = "regular") -> DigestRecord:
    return DigestRecord(id=id_, window_start=start, window_end=end, created=end, delivered=delivered,
                        archive_path=None, stories=1, articles=1, kind=kind)


def test_delivered_is_delivered_whatever_else_the_ledger_holds() -> None:
    d = _record(1, T0, T0 + DAY, delivered=True)
    other = _record(2, T0, T0 + DAY, delivered=True)
    assert delivery_status(d, [d, other]) == "delivered"
    assert delivery_status(_record(3, T0, T0 + DAY, delivered=True, kind="backfill"), [other]) == "delivered"


def test_undelivered_backfill_is_archived_even_when_covered() -> None:
    """A backfill is only ever archived: a delivered regular digest over its window does not supersede it."""
    backfill = _record(1, T0, T0 + 7 * DAY, delivered=False, kind="backfill")
    regular = _record(2, T0, T0 + DAY, delivered=True)
    assert delivery_status(backfill, [backfill, regular]) == "archived"
    assert delivery_status(backfill, []) == "archived"


def test_undelivered_regular_overlapped_by_a_delivered_one_is_superseded() -> None:
    failed = _record(4, T0, T0 + DAY, delivered=False)
    later = _record(5, T0 + DAY / 2, T0 + 2 * DAY, delivered=True)
    assert delivery_status(failed, [later, failed]) == "superseded by #5"


def test_superseded_names_the_lowest_covering_id() -> None:
    failed = _record(4, T0, T0 + DAY, delivered=False)
    covering = [_record(9, T0, T0 + DAY, delivered=True), _record(6, T0 + DAY / 2, T0 + 3 * DAY, delivered=True),
                _record(7, T0 - DAY, T0 + DAY / 4, delivered=True)]
    assert delivery_status(failed, [failed, *covering]) == "superseded by #6"


@pytest.mark.parametrize("other", [
    _record(5, T0 + DAY, T0 + 2 * DAY, delivered=True),  # starts where this one ends: no overlap
    _record(5, T0 - DAY, T0, delivered=True),  # ends where this one starts
    _record(5, T0, T0 + DAY, delivered=False),  # overlapping, but not delivered either
    _record(5, T0, T0 + DAY, delivered=True, kind="backfill"),  # delivered, but a backfill
], ids=["adjacent-after", "adjacent-before", "undelivered", "backfill"])
def test_undelivered_regular_without_a_delivered_regular_overlap_is_not_delivered(other: DigestRecord) -> None:
    failed = _record(4, T0, T0 + DAY, delivered=False)
    assert delivery_status(failed, [failed, other]) == "NOT delivered"
    assert delivery_status(failed, []) == "NOT delivered"


def test_delivery_status_over_a_real_ledger(store: Store) -> None:
    """The rule reads the records the store gives back: a failed send superseded by the next delivered one."""
    def record(start: datetime, end: datetime, delivered: bool, kind: str = "regular") -> int:
        return store.record_digest(window_start=start, window_end=end, created=end, delivered=delivered,
                                   archive_path=None, stories=1, articles=2, kind=kind)

    failed = record(T0, T0 + DAY, False)
    backfill = record(T0 - 30 * DAY, T0 - 23 * DAY, False, "backfill")
    lonely = record(T0 - 10 * DAY, T0 - 9 * DAY, False)
    rerun = record(T0, T0 + 2 * DAY, True)
    ledger = store.digests()
    got: dict[int, Any] = {r.id: delivery_status(r, ledger) for r in ledger}
    assert got == {failed: f"superseded by #{rerun}", backfill: "archived", lonely: "NOT delivered",
                   rerun: "delivered"}
