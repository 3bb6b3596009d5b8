"""Every stage of the pipeline at 1k, 10k and 100k articles: seconds, peak memory, growth.

Run by hand (not in CI), from the checkout with the project installed::

    python bench/pipeline.py                          # sizes 1000,10000,100000 (~6 min)
    python bench/pipeline.py --sizes 1000,10000 --repeat 3
    python bench/pipeline.py --sizes 10000 --flow     # also the Prefect digest flow on the 10k store
    python bench/pipeline.py --json out.json
    python bench/pipeline.py --grouping-only --sizes 100000,1000000   # duplicates + stories only

The corpus is ``bench/dedupe.py``'s generator (N articles from ``--sources`` outlets over 14
days, 200–600 words, planted duplicate families and multi-article stories) with a share of the
stories (``--on-topic``) made about Russia–China relations: every text of such a story carries
one sentence naming both sides and a relation word, drawn per story from a few templates, and
some titles name both sides. The rest stays off topic, as most of a real feed set is.

Stages, each a library call over the whole batch (no Prefect)::

    extract    to_article(RawItem) for every item (cleaning, title, dates, ids)
    store      Store.upsert_articles into a fresh SQLite file (one transaction)
    window     Store.articles_seen_between over the whole span
    relevance  score_articles (the topic lexicon, every article)
    duplicates duplicate_groups over the relevant articles (canonical URL, fingerprint, MinHash LSH)
    stories    story_groups over the kept copies (TF-IDF, blocking, time proximity)
    summarize  write_stories for the 15 stories a digest writes up (summaries, key phrases)
    render     render.render of the digest (HTML, text, CSS inlined)

Peak memory is sampled from /proc/self/statm every 5 ms while a stage runs: the most the
process's resident set grew above where it stood when the stage began. The growth exponent
between two sizes is log(t2 / t1) / log(n2 / n1): 1.0 is linear.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dedupe as corpus  # noqa: E402  bench/dedupe.py: the generator

import briefing.digest as digest_module  # noqa: E402
from briefing import render  # noqa: E402
from briefing.config import DedupeConfig, DigestConfig  # noqa: E402
from briefing.digest import Window, assemble, plan_stories, score_articles, write_stories  # noqa: E402
from briefing.extract import to_article  # noqa: E402
from briefing.relevance import load_topic  # noqa: E402
from briefing.store import Store  # noqa: E402
from briefing.types import Article, RawItem  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOPIC = ROOT / "config" / "topics" / "russia_china.yaml"
STAGES = ("extract", "store", "window", "relevance", "duplicates", "stories", "summarize", "render")
RUSSIA = ("Vladimir Putin", "Sergei Lavrov", "Moscow", "Russian officials", "Gazprom", "the Kremlin")
CHINA = ("Xi Jinping", "Wang Yi", "Beijing", "Chinese officials", "CNPC", "Li Qiang")
RELATION = ("talks on", "a deal over", "joint drills near", "sanctions against", "a summit about",
            "trade in", "a treaty on")
PAGE = 4096


def topical(articles: list[Article], truth: corpus.Truth, share: float, seed: int) -> list[Article]:
    """Every text of ``share`` of the stories gains one Russia–China sentence (the same per story)."""
    rng = np.random.default_rng(seed)
    stories = sorted(set(truth.story))
    chosen = set(rng.choice(stories, size=round(len(stories) * share), replace=False).tolist())
    sentence: dict[int, tuple[str, bool]] = {}
    out = []
    for a, story in zip(articles, truth.story):
        if story not in chosen:
            out.append(a)
            continue
        if story not in sentence:
            r = np.random.default_rng(seed * 1_000_003 + story)
            words = a.text.split()
            thing = words[int(r.integers(len(words)))].strip(".,").lower()
            sentence[story] = (f"{RUSSIA[r.integers(len(RUSSIA))]} and {CHINA[r.integers(len(CHINA))]} "
                               f"held {RELATION[r.integers(len(RELATION))]} {thing}, officials said.",
                               bool(r.random() < 0.4))
        line, in_title = sentence[story]
        paragraphs = a.text.split("\n\n")
        paragraphs[0] = f"{paragraphs[0]} {line}"
        title = f"Russia and China: {a.title}" if in_title else a.title
        out.append(Article(a.id, a.source, a.location, title, "\n\n".join(paragraphs), a.content_hash,
                           a.first_seen, a.published))
    return out


def raw_items(articles: list[Article]) -> list[RawItem]:
    """What a source would hand over: the text with a byline and a share line to clean off."""
    return [RawItem(a.source, a.location, f"By Staff Reporter\n\n{a.text}\n\nShare this article", "text",
                    a.title, a.published) for a in articles]


class PeakRSS:
    """The most the resident set grew above its level at start, sampled every 5 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE

    def __enter__(self) -> PeakRSS:
        self.base = self.rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss() - self.base)
            time.sleep(0.005)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss() - self.base)


def run_once(items: list[RawItem], state: Path, now: datetime) -> tuple[dict[str, tuple[float, int]], dict[str, int]]:
    """All stages in order on a fresh store; (seconds, peak bytes) per stage and some counts."""
    timings: dict[str, tuple[float, int]] = {}

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        with PeakRSS() as mem:
            t = time.perf_counter()
            out = fn()
            seconds = time.perf_counter() - t
        timings[name] = (seconds, mem.peak)
        return out

    topic = load_topic(TOPIC)
    articles = stage("extract", lambda: [to_article(item, now - timedelta(days=1)) for item in items])
    store = Store(f"sqlite:///{state}")
    try:
        stage("store", lambda: store.upsert_articles(articles))
        window = Window(now - timedelta(days=400), now)
        loaded = stage("window", lambda: store.articles_seen_between(window.start, window.end))
    finally:
        store.close()
    scored = stage("relevance", lambda: score_articles(loaded, topic))
    plan, split = time_grouping(loaded, scored)
    timings.update(split)
    stories = stage("summarize", lambda: write_stories(plan.stories[:15], 3))  # the write-ups a digest shows
    digest = assemble(plan, stories, loaded, scored, DigestConfig(), window, now)
    stage("render", lambda: render.render(digest, 15))
    counts = {"articles": len(loaded), "relevant": plan.relevant, "duplicates": plan.duplicates,
              "stories": len(stories)}
    return {name: timings[name] for name in STAGES}, counts


CPU_SECONDS: dict[str, float] = {}  # the last grouping's CPU seconds per half: on a loaded machine, wall time is not


def time_grouping(articles: list[Article], scored: dict[str, Any]) -> tuple[Any, dict[str, tuple[float, int]]]:
    """``plan_stories`` with its two halves (duplicates, then stories) timed: (plan, seconds and peak bytes)."""
    inner = {"duplicates": digest_module.duplicate_groups, "stories": digest_module.story_groups}
    split: dict[str, tuple[float, int]] = {}

    def wrap(name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            with PeakRSS() as mem:
                t, cpu = time.perf_counter(), time.process_time()
                out = inner[name](*args, **kwargs)
                split[name] = (time.perf_counter() - t, mem.peak)
            CPU_SECONDS[name] = time.process_time() - cpu
            return out
        return call

    digest_module.duplicate_groups, digest_module.story_groups = wrap("duplicates"), wrap("stories")
    try:
        plan = plan_stories(articles, [], scored, DedupeConfig())
    finally:
        digest_module.duplicate_groups, digest_module.story_groups = inner["duplicates"], inner["stories"]
    return plan, split


def grouping_once(articles: list[Article], scored: dict[str, Any]) -> tuple[dict[str, tuple[float, int]],
                                                                             dict[str, int]]:
    """Only the grouping (``--grouping-only``): the generated articles as they are, relevance scored untimed.

    Sizes where every stage would take too long (1M: cleaning alone ~20 min) still show how the
    grouping grows. The generated text is what cleaning would keep of the raw item, less the byline and
    share line it removes; the language is identified by ``score``, as the store would have it.
    """
    plan, split = time_grouping(articles, scored)
    return split, {"articles": len(articles), "relevant": plan.relevant, "duplicates": plan.duplicates,
                   "stories": len(plan.stories), **{f"{k}_cpu_ms": round(v * 1000) for k, v in CPU_SECONDS.items()}}


def time_flow(items: list[RawItem], tmp: Path, now: datetime, runner: str) -> dict[str, float]:
    """The Prefect digest flow on a store holding the items, after the server has started."""
    import yaml
    from prefect import flow

    from flows.digest import digest_flow

    state = tmp / "flow-state"
    state.mkdir()
    store = Store.open_dir(state)
    store.upsert_articles([to_article(item, now - timedelta(hours=1)) for item in items])
    store.close()
    config = tmp / "flow.yaml"
    config.write_text(yaml.safe_dump({"state_dir": str(state), "archive_dir": str(tmp / "archive"),
                                      "topic": str(TOPIC), "sources": [], "runner": {"kind": runner}}),
                      encoding="utf-8")

    @flow
    def warm() -> None:
        pass

    t = time.perf_counter()
    warm()
    start = time.perf_counter() - t
    t = time.perf_counter()
    result = digest_flow(str(config))
    return {"server_start_s": start, "digest_flow_s": time.perf_counter() - t, "stories": result.stories}


def exponent(n1: int, t1: float, n2: int, t2: float) -> float | None:
    if t1 <= 0 or t2 <= 0:
        return None
    return math.log(t2 / t1) / math.log(n2 / n1)


def report(results: list[dict[str, Any]], stages: tuple[str, ...] = STAGES) -> None:
    head = ["stage"] + [f"{r['n']:,} s" for r in results] + [f"{r['n']:,} MiB" for r in results]
    pairs = list(zip(results, results[1:]))
    head += [f"exp {a['n'] // 1000}k→{b['n'] // 1000}k" for a, b in pairs]
    rows = []
    for name in (*stages, "total"):
        row = [name]
        row += [f"{r['seconds'][name]:.3f}" for r in results]
        row += [f"{r['peak_mib'][name]:.0f}" for r in results]
        for a, b in pairs:
            e = exponent(a["n"], a["seconds"][name], b["n"], b["seconds"][name])
            row.append("–" if e is None else f"{e:.2f}")
        rows.append(row)
    rows.append(["articles/s"] + [f"{r['n'] / r['seconds']['total']:,.0f}" for r in results]
                + [""] * (len(results) + len(pairs)))
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["--:"] * (len(head) - 1)) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for r in results:
        print(f"n={r['n']:,}: {r['counts']}; generated in {r['generate_s']:.1f} s; "
              + (f"flow {r['flow']}" if r.get("flow") else ""))


@click.command()
@click.option("--sizes", default="1000,10000,100000", show_default=True, help="Comma-separated article counts.")
@click.option("--repeat", default=1, show_default=True, help="Rounds per size; seconds are the median.")
@click.option("--on-topic", default=0.3, show_default=True, help="Share of stories about Russia–China.")
@click.option("--sources", default=400, show_default=True)
@click.option("--seed", default=7, show_default=True)
@click.option("--flow", "with_flow", is_flag=True, help="Also time the Prefect digest flow at each size.")
@click.option("--runner", type=click.Choice(["threads", "dask"]), default="threads", show_default=True,
              help="The flow's task runner (with --flow); dask starts a local cluster of 2 workers.")
@click.option("--grouping-only", is_flag=True,
              help="Only the duplicates and stories halves (e.g. at 1M, where cleaning alone takes ~20 min).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write all numbers.")
def main(sizes: str, repeat: int, on_topic: float, sources: int, seed: int, with_flow: bool, runner: str,
         grouping_only: bool, json_path: Path | None) -> None:
    """Run every stage at each size and print seconds, peak memory and growth exponents."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    stages = ("duplicates", "stories") if grouping_only else STAGES
    results = []
    for n in (int(s) for s in sizes.split(",")):
        t = time.perf_counter()
        articles, truth = corpus.generate(n, 0.10, 0.20, sources, seed)
        marked = topical(articles, truth, on_topic, seed)
        generate_s = time.perf_counter() - t
        print(f"n={n:,} generated in {generate_s:.0f} s", file=sys.stderr)
        rounds = []
        flow = None
        if grouping_only:
            scored = score_articles(marked, load_topic(TOPIC))
            rounds = [grouping_once(marked, scored) for _ in range(repeat)]
        else:
            items = raw_items(marked)
            with tempfile.TemporaryDirectory() as tmp:
                for i in range(repeat):
                    rounds.append(run_once(items, Path(tmp) / f"round{i}.sqlite", now))
                flow = time_flow(items, Path(tmp), now, runner) if with_flow else None
        seconds = {name: statistics.median(r[0][name][0] for r in rounds) for name in stages}
        peak = {name: max(r[0][name][1] for r in rounds) / 2**20 for name in stages}
        seconds["total"], peak["total"] = sum(seconds.values()), max(peak.values())
        counts = {k: round(statistics.median(r[1][k] for r in rounds)) if k.endswith("_cpu_ms") else v
                  for k, v in rounds[0][1].items()}  # CPU ms as the seconds: the median round, not the first
        results.append({"n": n, "seconds": seconds, "peak_mib": peak, "counts": counts,
                        "generate_s": generate_s, "flow": flow})
        print(f"n={n:,} done: " + ", ".join(f"{k} {seconds[k]:.1f} s / {peak[k]:.0f} MiB" for k in seconds),
              file=sys.stderr)
    report(results, stages)
    if json_path:
        json_path.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
