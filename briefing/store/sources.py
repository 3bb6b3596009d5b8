"""Sources: each feed's or folder's fetch state (ETag, Last-Modified, failures) and how its last fetch went.

The failure counter is what suspends a feed that keeps failing; it counts up on each failed fetch and
goes back to zero on the next success, so it is written here, in one transaction with the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from briefing.sources import FetchState
from briefing.store import schema
from briefing.store.base import StoreBase
from briefing.types import SourceHealth

__all__ = ["SourcesMixin"]


class SourcesMixin(StoreBase):
    """The ``sources`` table."""

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
            values: dict[str, Any] = {"last_fetched": when, "last_status": health.status,
                                      "last_error": health.error, "failures": failures, "etag": state.etag,
                                      "last_modified": state.last_modified, "items": health.items, "new": health.new}
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
