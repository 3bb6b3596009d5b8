"""Ingest: every configured source → cleaned articles → the store (new ones only).

Feeds are fetched together in one task (one HTTP client, bounded concurrency,
retries inside the fetcher); each folder is one task. Extraction is one task
and storing one task for the whole run: a Prefect task costs tens of
milliseconds, so 200 feeds must not mean 400 tasks. What to fetch, what rests,
what to store and how each source fared are decided in ``briefing.ingest``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from briefing import ingest
from briefing.config import Config, FetchConfig, SourceConfig, load_config
from briefing.exceptions import BusyError
from briefing.ingest import STORE_BATCH, Extracted, SourceWrite, health_markdown
from briefing.outlets import registry_for
from briefing.sources import FetchState, SourceOutcome, make_source
from briefing.sources.feed import fetch_all
from briefing.store import Store
from briefing.types import SourceHealth
from flows.progress import report

__all__ = ["STORE_BATCH", "health_markdown", "ingest_flow"]  # flows.digest and tests import these from here


@task(cache_policy=NO_CACHE, task_run_name="fetch-{source.name}")
def fetch_folder(source: SourceConfig) -> SourceOutcome:
    return make_source(source).fetch(FetchState())


@task(cache_policy=NO_CACHE, task_run_name="fetch-feeds")
def fetch_feeds(sources: list[SourceConfig], states: dict[str, FetchState], policy: FetchConfig) -> list[SourceOutcome]:
    return fetch_all(sources, states, policy)


@task(cache_policy=NO_CACHE)
def extract_articles(outcomes: list[SourceOutcome], now: datetime, config: Config) -> list[Extracted | None]:
    return ingest.extract_all(outcomes, now, registry_for(config))


@task(cache_policy=NO_CACHE)
def store_articles(config: Config, writes: list[SourceWrite], now: datetime) -> list[SourceHealth]:
    with Store.open(config) as store:
        return ingest.store_writes(store, writes, now)


@flow(name="ingest", log_prints=True)
def ingest_flow(config_path: str) -> list[SourceHealth]:
    """Fetch all sources, clean their items and store the new ones.

    Args:
        config_path: The Briefing config file (YAML).
    """
    config = load_config(config_path)
    with Store.open(config) as store:
        try:
            with store.lock("ingest", wait=config.schedule.lock_wait_seconds):
                return _ingest(config, store)
        except BusyError as exc:
            get_run_logger().warning("%s", exc)
            return []


def _ingest(config: Config, store: Store) -> list[SourceHealth]:
    logger = get_run_logger()
    now = datetime.now(UTC)
    states = {s.name: store.fetch_state(s.name) for s in config.sources}
    plan = ingest.plan_ingest(config.sources, states, config.fetch, now)
    folder_futures = [fetch_folder.submit(s) for s in plan.folders]
    outcomes: list[SourceOutcome] = []
    report("fetch", 0, plan.fetches)
    if plan.feeds:
        outcomes += fetch_feeds(list(plan.feeds), states, config.fetch)
        report("fetch", len(outcomes), plan.fetches)
    for future in folder_futures:
        outcomes.append(future.result())
        report("fetch", len(outcomes), plan.fetches)
    fetched = ingest.in_config_order(plan, outcomes)
    items = sum(len(o.items) for o in fetched)
    report("extract", 0, items)
    extracted = extract_articles(fetched, now, config)
    report("extract", items, items)
    for line in ingest.fetch_warnings(fetched, extracted):
        logger.warning("%s", line)
    stored = store_articles(config, ingest.plan_store(fetched, extracted), now)
    for line in ingest.resting_warnings(plan):
        logger.warning("%s", line)
    healths = ingest.merge_health(plan, stored)
    logger.info("%s", ingest.run_summary(healths))
    create_markdown_artifact(key="briefing-ingest", description="Ingest: new articles per source",
                             markdown=ingest.run_markdown(healths))
    return healths
