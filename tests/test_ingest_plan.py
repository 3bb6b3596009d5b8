"""The ingest's planner without Prefect: what is fetched, what rests, how storing is batched, the report's order."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import make_article

from briefing import ingest
from briefing.config import FetchConfig, SourceConfig
from briefing.ingest import STORE_BATCH, Extracted, IngestPlan
from briefing.sources import FetchState, SourceOutcome
from briefing.store import Store
from briefing.types import Article, SourceHealth

NOW = datetime(2026, 11, 26, 6, tzinfo=UTC)
POLICY = FetchConfig(max_failures=3, suspend_hours=2)


def feed(name: str) -> SourceConfig:
    return SourceConfig(name=name, feed=f"https://{name}.example/feed.xml")


def folder(name: str, tmp: Path = Path("/nonexistent")) -> SourceConfig:
    return SourceConfig(name=name, folder=tmp / name)


def failing(failures: int, hours_ago: float) -> FetchState:
    return FetchState(failures=failures, last_fetched=NOW - timedelta(hours=hours_ago), last_error="HTTP 503")


SOURCES = [feed("resting"), folder("inbox"), feed("due"), feed("recovered"), feed("fresh"), folder("drop")]
STATES = {"resting": failing(3, 1), "due": failing(2, 0.1), "recovered": failing(5, 3),
          "inbox": failing(9, 0), "drop": FetchState()}  # "fresh" was never fetched: no state at all


def test_a_feed_rests_only_after_max_failures_and_within_suspend_hours() -> None:
    plan = ingest.plan_ingest(SOURCES, STATES, POLICY, NOW)
    assert [s.name for s in plan.feeds] == ["due", "recovered", "fresh"]
    assert [h.source for h in plan.resting] == ["resting"]


def test_folders_are_always_fetched_whatever_their_streak() -> None:
    plan = ingest.plan_ingest(SOURCES, STATES, POLICY, NOW)
    assert [s.name for s in plan.folders] == ["inbox", "drop"]
    assert plan.fetches == 5 and plan.order == tuple(s.name for s in SOURCES)


def test_a_resting_feed_reports_failed_with_its_streak_last_error_and_next_try() -> None:
    plan = ingest.plan_ingest(SOURCES, STATES, POLICY, NOW)
    [rest] = plan.resting
    assert rest == SourceHealth("resting", "failed", error=(
        "suspended after 3 failures in a row (last: HTTP 503); next try after 2026-11-26 07:00 UTC"))
    assert ingest.resting_warnings(plan) == [f"source resting: {rest.error}"]


def test_a_feed_is_due_again_once_its_rest_is_over() -> None:
    plan = ingest.plan_ingest(SOURCES, STATES, POLICY, NOW + timedelta(hours=1))
    assert "resting" in [s.name for s in plan.feeds] and plan.resting == ()


def test_outcomes_and_healths_come_back_in_config_order() -> None:
    plan = ingest.plan_ingest(SOURCES, STATES, POLICY, NOW)
    finished = [SourceOutcome(n) for n in ("drop", "fresh", "inbox", "recovered", "due")]  # as fetches ended
    assert [o.source for o in ingest.in_config_order(plan, finished)] == ["inbox", "due", "recovered", "fresh", "drop"]
    stored = [SourceHealth(n, "ok", items=1, new=1) for n in ("fresh", "drop", "due", "inbox", "recovered")]
    merged = ingest.merge_health(plan, stored)
    assert [h.source for h in merged] == [s.name for s in SOURCES]
    assert merged[0] == plan.resting[0] and merged[1] == SourceHealth("inbox", "ok", items=1, new=1)


def test_storing_is_one_batch_per_store_batch_articles_and_a_write_per_source() -> None:
    many = tuple(make_article(f"Text number {i}.", "big") for i in range(2 * STORE_BATCH + 1))
    outcomes = [SourceOutcome("big"), SourceOutcome("gone", error="HTTP 410 Gone"),
                SourceOutcome("same", not_modified=True)]
    writes = ingest.plan_store(outcomes, [Extracted("big", many, ()), None, None])
    assert [w.outcome.source for w in writes] == ["big", "gone", "same"]
    assert [len(b) for b in writes[0].batches] == [STORE_BATCH, STORE_BATCH, 1]
    assert sum(writes[0].batches, ()) == many
    assert writes[1].batches == writes[2].batches == ()


class CountingStore:
    """A real store that counts the transactions ``store_writes`` asks of it."""

    def __init__(self, store: Store) -> None:
        self.store, self.upserts, self.records = store, 0, 0

    def upsert_articles(self, articles: Iterable[Article]) -> tuple[list[Article], list[Article]]:
        self.upserts += 1
        return self.store.upsert_articles(articles)

    def record_fetch(self, health: SourceHealth, when: datetime, state: FetchState) -> None:
        self.records += 1
        self.store.record_fetch(health, when, state)


def test_store_writes_stores_each_batch_and_records_every_source(tmp_path: Path) -> None:
    kept = make_article("Kept from the first run.", "big")
    many = (kept, *(make_article(f"Text number {i}.", "big") for i in range(STORE_BATCH)))
    outcomes = [SourceOutcome("big", state=FetchState(etag='"v2"')), SourceOutcome("gone", error="HTTP 410 Gone")]
    extracted = [Extracted("big", many, (("https://big.example/x", "no text"),)), None]
    store = Store.open_dir(tmp_path)
    try:
        store.add_articles([kept])
        counting = CountingStore(store)
        healths = ingest.store_writes(counting, ingest.plan_store(outcomes, extracted), NOW)
        assert (counting.upserts, counting.records) == (2, 2)
        assert healths == [SourceHealth("big", "ok", items=STORE_BATCH + 1, new=STORE_BATCH, error="1 skipped"),
                           SourceHealth("gone", "failed", error="HTTP 410 Gone")]
        assert store.fetch_state("big").etag == '"v2"' and store.fetch_state("gone").failures == 1
    finally:
        store.close()


def test_fetch_warnings_name_failures_then_skipped_documents() -> None:
    outcomes = [SourceOutcome("gone", error="HTTP 410 Gone", skipped=(("a", "ignored: failed"),)),
                SourceOutcome("inbox", skipped=(("f.bin", "not text"),))]
    extracted = [None, Extracted("inbox", (), (("f.bin", "not text"), ("g.md", "empty")))]
    assert ingest.fetch_warnings(outcomes, extracted) == [
        "source gone failed: HTTP 410 Gone", "skipped a: ignored: failed", "skipped f.bin: not text",
        "skipped g.md: empty"]


def test_the_run_summary_and_artifact_count_new_articles() -> None:
    healths = [SourceHealth("a", "ok", items=3, new=2), SourceHealth("b", "failed", error="x | y")]
    assert ingest.run_summary(healths) == "ingested 2 new articles; 2 sources: 1 fetched, 0 not modified, 1 failed"
    assert ingest.run_markdown(healths) == (
        "# Ingest\n\n**2 new articles**\n\n2 sources: 1 fetched, 0 not modified, 1 failed"
        "\n\n| source | status | items | new | note |\n|---|---|---|---|---|\n"
        "| a | ok | 3 | 2 |  |\n| b | failed | 0 | 0 | x / y |")
    assert ingest.health_markdown([]) == "No sources."


def test_an_empty_config_plans_nothing() -> None:
    plan = ingest.plan_ingest([], {}, POLICY, NOW)
    assert plan == IngestPlan((), (), (), ()) and ingest.merge_health(plan, []) == []
