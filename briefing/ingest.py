"""The ingest's decisions: what to fetch, what rests, what to store in which batches, and how each source fared.

Like reader's Decider, the planners take data (the configured sources, their stored fetch states, the fetch
policy, the clock as ``now``) and return plans; ``flows/ingest.py`` carries them out. Pure apart from the
extractor and ``store_writes``, which applies a store plan to whatever store it is given. Never imports
prefect or flows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from briefing.config import FetchConfig, SourceConfig
from briefing.exceptions import ExtractionError, one_line
from briefing.extract import to_article
from briefing.outlets import Registry
from briefing.sources import FetchState, SourceOutcome
from briefing.types import Article, SourceHealth, health_summary

log = logging.getLogger(__name__)

STORE_BATCH = 500  # articles per transaction: a run killed midway keeps every whole batch it stored


@dataclass(frozen=True)
class Extracted:
    source: str
    articles: tuple[Article, ...]
    skipped: tuple[tuple[str, str], ...]  # (location, reason), the source's and the extractor's


@dataclass(frozen=True)
class IngestPlan:
    """What one ingest run fetches, and what it reports without fetching.

    ``feeds`` are the due feeds (fetched together), ``folders`` every folder (each always read), ``resting``
    the suspended feeds' health with the reason; ``order`` is every source's name in config order, the order
    of the run's report.
    """

    feeds: tuple[SourceConfig, ...]
    folders: tuple[SourceConfig, ...]
    resting: tuple[SourceHealth, ...]
    order: tuple[str, ...]

    @property
    def fetches(self) -> int:
        """How many sources are fetched (the progress bar's total)."""
        return len(self.feeds) + len(self.folders)


@dataclass(frozen=True)
class SourceWrite:
    """Storing one fetched source: each batch in a transaction of its own, then its fetch record."""

    outcome: SourceOutcome
    extracted: Extracted | None
    batches: tuple[tuple[Article, ...], ...]


class ArticleSink(Protocol):
    """The part of the store that ``store_writes`` needs (``briefing.store.Store`` is one)."""

    def upsert_articles(self, articles: Iterable[Article]) -> tuple[list[Article], list[Article]]:
        """Insert new articles and update edited ones in one transaction; return (added, updated)."""
        ...

    def record_fetch(self, health: SourceHealth, when: datetime, state: FetchState) -> None:
        """Remember how a source's fetch went."""
        ...


def plan_ingest(sources: Sequence[SourceConfig], states: Mapping[str, FetchState], policy: FetchConfig,
                now: datetime) -> IngestPlan:
    """Split the configured sources into due feeds, folders and resting (suspended) feeds.

    Args:
        sources: The config's sources, in config order.
        states: Each source's stored fetch state by name (a missing one counts as never fetched).
        policy: The fetch policy (``max_failures``, ``suspend_hours``).
        now: The run's clock.

    Returns:
        The plan; a resting feed is not fetched, so its failure streak and clock stay as they are.
    """
    feeds: list[SourceConfig] = []
    resting: list[SourceHealth] = []
    for s in sources:
        if s.feed is None:
            continue
        rest = suspended(s.name, states.get(s.name, FetchState()), policy, now)
        if rest is None:
            feeds.append(s)
        else:
            resting.append(SourceHealth(s.name, "failed", error=rest.error))
    folders = tuple(s for s in sources if s.folder is not None)
    return IngestPlan(tuple(feeds), folders, tuple(resting), tuple(s.name for s in sources))


def in_config_order(plan: IngestPlan, outcomes: Iterable[SourceOutcome]) -> list[SourceOutcome]:
    """The fetched outcomes in config order, whichever order their fetches finished in."""
    by_name = {o.source: o for o in outcomes}
    return [by_name[name] for name in plan.order if name in by_name]


def extract_all(outcomes: Iterable[SourceOutcome], now: datetime,
                outlets: Registry | None = None) -> list[Extracted | None]:
    """Clean every source that brought items; None for a failed, unchanged or empty one."""
    return [extract_outcome(o, now, outlets) if o.ok and o.items else None for o in outcomes]


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
            skipped.append((item.location, f"extraction failed: {type(exc).__name__}: {one_line(exc)}"))
    return Extracted(outcome.source, tuple(articles), tuple(skipped))


def fetch_warnings(outcomes: Sequence[SourceOutcome], extracted: Sequence[Extracted | None]) -> list[str]:
    """The run log's warnings for the fetched sources: each failure, then each skipped document."""
    lines: list[str] = []
    for outcome, ex in zip(outcomes, extracted, strict=True):
        if not outcome.ok:
            lines.append(f"source {outcome.source} failed: {outcome.error}")
        lines += [f"skipped {location}: {reason}" for location, reason in (ex.skipped if ex else outcome.skipped)]
    return lines


def resting_warnings(plan: IngestPlan) -> list[str]:
    """The run log's warning for each resting feed, with why and until when."""
    return [f"source {h.source}: {h.error}" for h in plan.resting]


def plan_store(outcomes: Sequence[SourceOutcome], extracted: Sequence[Extracted | None],
               batch: int = STORE_BATCH) -> list[SourceWrite]:
    """A transaction per source and per ``batch`` articles: a run killed midway keeps what it stored,
    and the rerun (articles have stable ids) adds only the rest."""
    writes = []
    for outcome, ex in zip(outcomes, extracted, strict=True):
        articles = ex.articles if ex else ()
        batches = tuple(articles[i:i + batch] for i in range(0, len(articles), batch))
        writes.append(SourceWrite(outcome, ex, batches))
    return writes


def store_writes(store: ArticleSink, writes: Iterable[SourceWrite], now: datetime) -> list[SourceHealth]:
    """Carry out a store plan in order; return each written source's health."""
    healths = []
    for write in writes:
        new = updated = 0
        for articles in write.batches:
            added, changed = store.upsert_articles(articles)
            new += len(added)
            updated += len(changed)
        health = source_health(write.outcome, write.extracted, new, updated)
        store.record_fetch(health, now, write.outcome.state)
        healths.append(health)
    return healths


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


def merge_health(plan: IngestPlan, stored: Iterable[SourceHealth]) -> list[SourceHealth]:
    """Every source's health in config order: the stored one of each fetched source, else its resting one.

    Raises:
        KeyError: A source of the plan has neither (the fetch lost an outcome).
    """
    fetched = {h.source: h for h in stored}
    resting = {h.source: h for h in plan.resting}
    return [fetched.get(name) or resting[name] for name in plan.order]


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


def health_markdown(healths: Sequence[SourceHealth]) -> str:
    """The per-source table of the ingest artifact and the digest's run notes."""
    if not healths:
        return "No sources."
    rows = "\n".join(f"| {h.source} | {h.status} | {h.items} | {h.new} | {(h.error or '').replace('|', '/')} |"
                     for h in healths)
    return (health_summary(list(healths)) + "\n\n| source | status | items | new | note |\n|---|---|---|---|---|\n"
            + rows)


def run_summary(healths: Sequence[SourceHealth]) -> str:
    """The run log's last line: new articles in all, then the fetched / not modified / failed counts."""
    return f"ingested {sum(h.new for h in healths)} new articles; {health_summary(list(healths))}"


def run_markdown(healths: Sequence[SourceHealth]) -> str:
    """The ingest run's artifact: the new articles in all, then the per-source table."""
    return f"# Ingest\n\n**{sum(h.new for h in healths)} new articles**\n\n" + health_markdown(healths)
