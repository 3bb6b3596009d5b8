"""Source outcome → Articles, with every skipped document and its reason kept.

Pure apart from the extractor: the clock comes in as ``now``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from briefing.config import FetchConfig
from briefing.exceptions import ExtractionError
from briefing.extract import to_article
from briefing.outlets import Registry
from briefing.sources import FetchState, SourceOutcome
from briefing.types import Article, SourceHealth

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Extracted:
    source: str
    articles: tuple[Article, ...]
    skipped: tuple[tuple[str, str], ...]  # (location, reason), the source's and the extractor's


def extract_outcome(outcome: SourceOutcome, now: datetime, outlets: Registry | None = None) -> Extracted:
    """Clean every item of one source; a bad document is skipped with its reason (the caller logs them).

    ``outlets``: the registry naming each article's outlet (the config's, from ``registry_for``; default bundled).
    """
    articles: list[Article] = []
    skipped = list(outcome.skipped)
    for item in outcome.items:
        try:
            articles.append(to_article(item, now, outlets))
        except ExtractionError as exc:
            skipped.append((item.location, exc.message))
        except Exception as exc:  # one document an extractor chokes on must not cost the run
            log.warning("extracting %s failed unexpectedly", item.location, exc_info=True)
            skipped.append((item.location, f"extraction failed: {type(exc).__name__}: {_one_line(exc)}"))
    return Extracted(outcome.source, tuple(articles), tuple(skipped))


def _one_line(value: object) -> str:
    return " ".join(str(value).split())[:300]


def source_health(outcome: SourceOutcome, extracted: Extracted | None, new: int, updated: int = 0) -> SourceHealth:
    if not outcome.ok:
        return SourceHealth(outcome.source, "failed", error=outcome.error)
    if outcome.not_modified:
        return SourceHealth(outcome.source, "not-modified")
    items = len(extracted.articles) if extracted else 0
    notes = []
    if updated:
        notes.append(f"{updated} updated")
    if extracted and extracted.skipped:
        notes.append(f"{len(extracted.skipped)} skipped")
    return SourceHealth(outcome.source, "ok", items=items, new=new, error=", ".join(notes) or None)


def suspended(name: str, state: FetchState, policy: FetchConfig, now: datetime) -> SourceOutcome | None:
    """A feed that failed ``max_failures`` times in a row rests ``suspend_hours`` between tries.

    Returns the outcome to report instead of fetching, or None when the feed is due.
    """
    if state.failures < policy.max_failures or state.last_fetched is None:
        return None
    next_try = state.last_fetched + timedelta(hours=policy.suspend_hours)
    if now >= next_try:
        return None
    return SourceOutcome(name, state=state, error=(
        f"suspended after {state.failures} failures in a row (last: {state.last_error}); "
        f"next try after {next_try:%Y-%m-%d %H:%M} UTC"))
