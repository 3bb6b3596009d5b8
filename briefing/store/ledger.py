"""The digest ledger: one ``DigestRecord`` per digest made, and the rule that says what became of it.

``LedgerMixin`` holds the ledger's queries, mixed into ``Store`` over ``StoreBase``. ``delivery_status`` is
the "superseded" rule the CLI's ``digests`` listing shows; it lives here, beside the queries that decide
"already delivered", so the two read overlap the same way and a test of the library sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import RowMapping, select, update

from briefing.store import schema
from briefing.store.base import StoreBase

__all__ = ["DigestRecord", "LedgerMixin", "delivery_status"]


@dataclass(frozen=True)
class DigestRecord:
    """One row of the ledger: a digest's window, when it was made, and whether it went out."""

    id: int
    window_start: datetime
    window_end: datetime
    created: datetime
    delivered: bool
    archive_path: str | None
    stories: int
    articles: int
    kind: str = "regular"


def delivery_status(record: DigestRecord, ledger: Sequence[DigestRecord]) -> str:
    """What became of ``record``, given the whole ledger: the status column of ``briefing digests``.

    "delivered"; "archived" for an undelivered backfill (a backfill is only ever archived);
    "superseded by #N" for an undelivered regular digest that a delivered regular one overlaps
    (N is the lowest such id); else "NOT delivered".
    """
    if record.delivered:
        return "delivered"
    if record.kind == "backfill":
        return "archived"
    # Overlap, as the digest flow reads "already delivered": the next regular window starts where the
    # last delivered one ended, so a delivered digest overlapping this one came after it and holds its stories.
    covering = [r.id for r in ledger if r.delivered and r.kind == "regular" and r.id != record.id
                and r.window_start < record.window_end and r.window_end > record.window_start]
    return f"superseded by #{min(covering)}" if covering else "NOT delivered"


class LedgerMixin(StoreBase):
    """The ``digests`` table: what was made, for which window, and whether it was delivered."""

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
            key = result.inserted_primary_key
            assert key is not None  # an insert of one row always returns its key
            return int(key[0])


def _digest(m: RowMapping) -> DigestRecord:
    return DigestRecord(id=m["id"], window_start=m["window_start"], window_end=m["window_end"],
                        created=m["created"], delivered=bool(m["delivered"]), archive_path=m["archive_path"],
                        stories=m["stories"], articles=m["articles"], kind=m["kind"])
