"""Ingest: every configured source → cleaned articles → the store (new ones only).

Feeds are fetched together in one task (one HTTP client, bounded concurrency,
retries inside the fetcher); each folder is one task. Extraction is one task
and storing one task for the whole run: a Prefect task costs tens of
milliseconds, so 200 feeds must not mean 400 tasks.
"""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from briefing.config import Config, FetchConfig, SourceConfig, load_config
from briefing.exceptions import BusyError
from briefing.ingest import Extracted, extract_outcome, source_health, suspended
from briefing.outlets import registry_for
from briefing.sources import FetchState, SourceOutcome, make_source
from briefing.sources.feed import fetch_all
from briefing.store import Store
from briefing.types import SourceHealth, health_summary
from flows.progress import report

STORE_BATCH = 500


@task(cache_policy=NO_CACHE, task_run_name="fetch-{source.name}")
def fetch_folder(source: SourceConfig) -> SourceOutcome:
    return make_source(source).fetch(FetchState())


@task(cache_policy=NO_CACHE, task_run_name="fetch-feeds")
def fetch_feeds(sources: list[SourceConfig], states: dict[str, FetchState], policy: FetchConfig) -> list[SourceOutcome]:
    return fetch_all(sources, states, policy)


@task(cache_policy=NO_CACHE)
def extract_articles(outcomes: list[SourceOutcome], now: datetime, config: Config) -> list[Extracted | None]:
    outlets = registry_for(config)
    return [extract_outcome(o, now, outlets) if o.ok and o.items else None for o in outcomes]


@task(cache_policy=NO_CACHE)
def store_articles(config: Config, outcomes: list[SourceOutcome], extracted: list[Extracted | None],
                   now: datetime) -> list[SourceHealth]:
    """A transaction per source and per ``STORE_BATCH`` articles: a run killed midway keeps what it stored,
    and the rerun (articles have stable ids) adds only the rest."""
    store = Store.for_config(config)
    healths = []
    try:
        for outcome, ex in zip(outcomes, extracted):
            new, updated = [], []
            articles = ex.articles if ex else ()
            for i in range(0, len(articles), STORE_BATCH):
                added, changed = store.upsert_articles(articles[i:i + STORE_BATCH])
                new += added
                updated += changed
            health = source_health(outcome, ex, len(new), len(updated))
            store.record_fetch(health, now, outcome.state)
            healths.append(health)
    finally:
        store.close()
    return healths


def health_markdown(healths: list[SourceHealth]) -> str:
    if not healths:
        return "No sources."
    rows = "\n".join(f"| {h.source} | {h.status} | {h.items} | {h.new} | {(h.error or '').replace('|', '/')} |"
                     for h in healths)
    return (health_summary(healths) + "\n\n| source | status | items | new | note |\n|---|---|---|---|---|\n"
            + rows)


@flow(name="ingest", log_prints=True)
def ingest_flow(config_path: str) -> list[SourceHealth]:
    """Fetch all sources, clean their items and store the new ones.

    Args:
        config_path: The Briefing config file (YAML).
    """
    config = load_config(config_path)
    store = Store.for_config(config)
    try:
        with store.lock("ingest", wait=config.schedule.lock_wait_seconds):
            return _ingest(config, store)
    except BusyError as exc:
        get_run_logger().warning("%s", exc)
        return []
    finally:
        store.close()


def _ingest(config: Config, store: Store) -> list[SourceHealth]:
    logger = get_run_logger()
    now = datetime.now(timezone.utc)
    states = {s.name: store.fetch_state(s.name) for s in config.sources}
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
    report("fetch", 0, len(folder_futures) + len(feeds))
    if feeds:
        outcomes.update({o.source: o for o in fetch_feeds(feeds, states, config.fetch)})
        report("fetch", len(outcomes), len(folder_futures) + len(feeds))
    for name, future in folder_futures.items():
        outcomes[name] = future.result()
        report("fetch", len(outcomes), len(folder_futures) + len(feeds))
    fetched = [outcomes[s.name] for s in config.sources if s.name in outcomes]
    items = sum(len(o.items) for o in fetched)
    report("extract", 0, items)
    extracted = extract_articles(fetched, now, config)
    report("extract", items, items)
    for outcome, ex in zip(fetched, extracted):
        if not outcome.ok:
            logger.warning("source %s failed: %s", outcome.source, outcome.error)
        for location, reason in (ex.skipped if ex else outcome.skipped):
            logger.warning("skipped %s: %s", location, reason)
    stored = {h.source: h for h in store_articles(config, fetched, extracted, now)}
    for name, health in resting_health.items():
        logger.warning("source %s: %s", name, health.error)
    healths = [stored.get(s.name) or resting_health[s.name] for s in config.sources]
    total = sum(h.new for h in healths)
    logger.info("ingested %d new articles; %s", total, health_summary(healths))
    create_markdown_artifact(key="briefing-ingest", description="Ingest: new articles per source",
                             markdown=f"# Ingest\n\n**{total} new articles**\n\n" + health_markdown(healths))
    return healths
