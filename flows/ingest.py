"""Ingest: every configured source → cleaned articles → the store (new ones only).

Feeds are fetched together in one task (one HTTP client, bounded concurrency,
retries inside the fetcher); each folder is one task. Extraction and storing
are one task per source: batches, never one task per article.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from briefing.config import Config, FetchConfig, SourceConfig, load_config
from briefing.ingest import Extracted, extract_outcome, source_health, suspended
from briefing.sources import FetchState, SourceOutcome, make_source
from briefing.sources.feed import fetch_all
from briefing.store import Store
from briefing.types import SourceHealth, health_summary


@task(cache_policy=NO_CACHE, task_run_name="fetch-{source.name}")
def fetch_folder(source: SourceConfig) -> SourceOutcome:
    return make_source(source).fetch(FetchState())


@task(cache_policy=NO_CACHE, task_run_name="fetch-feeds")
def fetch_feeds(sources: list[SourceConfig], states: dict[str, FetchState], policy: FetchConfig) -> list[SourceOutcome]:
    return fetch_all(sources, states, policy)


@task(cache_policy=NO_CACHE, task_run_name="extract-{outcome.source}")
def extract_articles(outcome: SourceOutcome, now: datetime) -> Extracted:
    return extract_outcome(outcome, now)


@task(cache_policy=NO_CACHE, task_run_name="store-{outcome.source}")
def store_articles(config: Config, outcome: SourceOutcome, extracted: Extracted | None,
                   now: datetime) -> SourceHealth:
    store = Store.open_dir(config.state_dir)
    try:
        new, updated = store.upsert_articles(extracted.articles) if extracted else ([], [])
        health = source_health(outcome, extracted, len(new), len(updated))
        store.record_fetch(health, now, outcome.state)
    finally:
        store.close()
    return health


def health_markdown(healths: list[SourceHealth]) -> str:
    if not healths:
        return "No sources."
    rows = "\n".join(f"| {h.source} | {h.status} | {h.items} | {h.new} | {(h.error or '').replace('|', '/')} |"
                     for h in healths)
    return (health_summary(healths) + "\n\n| source | status | items | new | note |\n|---|---|---|---|---|\n"
            + rows)


@flow(name="ingest", log_prints=True)
def ingest_flow(config_path: str) -> list[SourceHealth]:
    """Fetch all sources, clean their items and store the new ones."""
    logger = get_run_logger()
    config = load_config(config_path)
    now = datetime.now(timezone.utc)
    store = Store.open_dir(config.state_dir)
    try:
        states = {s.name: store.fetch_state(s.name) for s in config.sources}
    finally:
        store.close()
    outcomes: dict[str, SourceOutcome] = {}
    resting_health: dict[str, SourceHealth] = {}
    feeds = []
    for s in config.sources:
        if s.feed is None:
            continue
        resting = suspended(s.name, states[s.name], config.fetch, now)
        if resting is not None:  # not fetched, so its failure streak and clock stay as they are
            resting_health[s.name] = SourceHealth(s.name, "failed", error=resting.error)
        else:
            feeds.append(s)
    folder_futures = {s.name: fetch_folder.submit(s) for s in config.sources if s.folder is not None}
    if feeds:
        outcomes.update({o.source: o for o in fetch_feeds(feeds, states, config.fetch)})
    outcomes.update({name: f.result() for name, f in folder_futures.items()})
    healths = []
    for s in config.sources:
        if s.name in resting_health:
            logger.warning("source %s: %s", s.name, resting_health[s.name].error)
            healths.append(resting_health[s.name])
            continue
        outcome = outcomes[s.name]
        if not outcome.ok:
            logger.warning("source %s failed: %s", outcome.source, outcome.error)
        extracted = extract_articles(outcome, now) if outcome.ok and outcome.items else None
        for location, reason in (extracted.skipped if extracted else outcome.skipped):
            logger.warning("skipped %s: %s", location, reason)
        healths.append(store_articles(config, outcome, extracted, now))
    total = sum(h.new for h in healths)
    logger.info("ingested %d new articles; %s", total, health_summary(healths))
    create_markdown_artifact(key="briefing-ingest", description="Ingest: new articles per source",
                             markdown=f"# Ingest\n\n**{total} new articles**\n\n" + health_markdown(healths))
    return healths
