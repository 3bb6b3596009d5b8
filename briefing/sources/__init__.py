"""Sources: where raw items come from. One module per kind plus one line in ``make_source``.

A source's ``fetch`` never raises for a bad document or a bad feed: it returns a
``SourceOutcome`` holding the items, the documents it skipped and why, or the
error that stopped it, so one bad source never aborts a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from briefing.config import SourceConfig
from briefing.types import RawItem


@dataclass(frozen=True)
class FetchState:
    """What a source remembers between runs: HTTP validators and its failure streak."""

    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    last_fetched: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class SourceOutcome:
    source: str
    items: tuple[RawItem, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (location, reason)
    error: str | None = None
    not_modified: bool = False
    state: FetchState = field(default_factory=FetchState)

    @property
    def ok(self) -> bool:
        return self.error is None


class Source(Protocol):
    name: str

    def fetch(self, state: FetchState) -> SourceOutcome:
        """Read everything the source holds now (the store drops what it has seen)."""
        ...


def make_source(config: SourceConfig) -> Source:
    """Pick the source class for a config entry."""
    from briefing.sources.feed import FeedSource
    from briefing.sources.folder import FolderSource

    if config.folder is not None:
        return FolderSource(config.name, config.folder)
    assert config.feed is not None
    return FeedSource(config)
