"""Ingest: every configured source → cleaned articles → the store (new ones only)."""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from briefing.config import Config, SourceConfig, load_config
from briefing.ingest import Extracted, extract_outcome, source_health
from briefing.sources import FetchState, SourceOutcome, make_source
from briefing.store import Store
from briefing.types import SourceHealth


@task(cache_policy=NO_CACHE, task_run_name="fetch-{source.name}")
def fetch_source(source: SourceConfig, state: FetchState) -> SourceOutcome:
    return make_source(source).fetch(state)


@task(cache_policy=NO_CACHE, task_run_name="extract-{outcome.source}")
def extract_articles(outcome: SourceOutcome, now: datetime) -> Extracted:
    return extract_outcome(outcome, now)


@task(cache_policy=NO_CACHE, task_run_name="store-{outcome.source}")
def store_articles(config: Config, outcome: SourceOutcome, extracted: Extracted | None,
                   now: datetime) -> SourceHealth:
    store = Store.open_dir(config.state_dir)
    try:
        new = store.add_articles(extracted.articles) if extracted else []
        health = source_health(outcome, extracted, len(new))
        store.record_fetch(health, now, outcome.state)
    finally:
        store.close()
    return health


def health_markdown(healths: list[SourceHealth]) -> str:
    rows = "\n".join(f"| {h.source} | {h.status} | {h.items} | {h.new} | {h.error or ''} |" for h in healths)
    return ("| source | status | items | new | note |\n|---|---|---|---|---|\n" + rows) if healths else "No sources."


@flow(name="ingest", log_prints=True)
def ingest_flow(config_path: str) -> list[SourceHealth]:
    """Fetch all sources concurrently, clean their items and store the new ones."""
    logger = get_run_logger()
    config = load_config(config_path)
    now = datetime.now(timezone.utc)
    store = Store.open_dir(config.state_dir)
    try:
        states = {s.name: store.fetch_state(s.name) for s in config.sources}
    finally:
        store.close()
    futures = [fetch_source.submit(s, states[s.name]) for s in config.sources]
    healths = []
    for future in futures:
        outcome = future.result()
        if not outcome.ok:
            logger.warning("source %s failed: %s", outcome.source, outcome.error)
        extracted = extract_articles(outcome, now) if outcome.ok and outcome.items else None
        for location, reason in (extracted.skipped if extracted else outcome.skipped):
            logger.warning("skipped %s: %s", location, reason)
        healths.append(store_articles(config, outcome, extracted, now))
    total = sum(h.new for h in healths)
    logger.info("ingested %d new articles from %d sources", total, len(healths))
    create_markdown_artifact(key="briefing-ingest", description="Ingest: new articles per source",
                             markdown=f"# Ingest\n\n**{total} new articles**\n\n" + health_markdown(healths))
    return healths
