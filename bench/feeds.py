"""Feed-ingest benchmark: N feeds × M items served from loopback, a cold pass then an all-304 pass.

Run by hand (not in CI), from the checkout with the project installed::

    python bench/feeds.py --feeds 200 --items 50            # library-level passes (~70 s in all)
    python bench/feeds.py --flow                            # also the real Prefect ingest flow (+~50 s)
    python bench/feeds.py --no-tracemalloc                  # timings only (~20 s)
    python bench/feeds.py --hosts 8 --per-host 2            # spread the feeds over 127.0.0.1 … 127.0.0.8

What it does:

1. Generates ``--feeds`` distinct RSS 2.0 feeds of ``--items`` items each: synthetic English
   news-like HTML descriptions of 150–300 words (long enough not to count as teasers; the
   fetch policy also sets ``teaser_words=0``), each item with guid, link and pubDate.
2. Serves them from ``http.server.ThreadingHTTPServer`` on loopback, in a forked child process
   (``--server thread``: in background threads of the benchmark's own process, as before).
   The server answers ``If-None-Match`` (ETag) and ``If-Modified-Since`` (Last-Modified) with
   304, and sends pre-compressed gzip when the client accepts it, so serving costs little.
   It counts requests, 200s, 304s, gzip bodies and any other path (a page fetch would show up
   there; there should be none).
3. Measures our code, without Prefect, in two passes over one fresh SQLite store in a temp dir:

   * pass ``cold``: no fetch state, every feed is downloaded, parsed, extracted and stored;
   * pass ``304``: the ETags/Last-Modified saved by the cold pass are sent back, every feed
     should get a 304 and nothing new is stored.

   Each pass has four stages, timed with ``time.perf_counter``:

   * ``states``  – ``Store.fetch_state`` for every feed (as the flow does);
   * ``fetch``   – ``briefing.sources.feed.fetch_all`` (HTTP + feedparser + entry HTML → text);
   * ``extract`` – ``briefing.ingest.extract_outcome`` for every outcome with items;
   * ``store``   – ``Store.upsert_articles`` + ``record_fetch`` per feed (keeps the ETags).

   ``items/s`` is items fetched, parsed, extracted and stored per second of the whole pass.

Memory is reported two ways:

* ``maxrss``: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` after each stage – the process's
  high-water mark so far, so it never goes down. The line "baseline" gives it after the feeds
  were generated and the server started (the served feeds live in this process too).
* ``tracemalloc peak``: the peak of Python allocations during the stage above what was
  allocated when it began. tracemalloc slows Python down a lot, so the two passes are run a
  second time, on a fresh store, with tracemalloc on; seconds always come from the untraced
  round (``--no-tracemalloc`` skips the traced round).

With ``--flow``, it also writes a config YAML (the feeds, a temp ``state_dir``/``archive_dir``,
the repository's Russia–China topic, ``fetch: {allow_private_hosts: true, teaser_words: 0}``)
and runs ``flows.ingest.ingest_flow`` twice on it, reporting each run's wall time. Prefect's
temporary server is started first by a no-op flow (its start, ~8 s, is reported on its own line).
Unless ``PREFECT_HOME`` or ``PREFECT_API_URL`` is set, Prefect runs with a throw-away
``PREFECT_HOME`` in the temp dir, so the benchmark's flow and task runs stay out of your own history.

All output is a plain table on stdout; ``--json FILE`` also writes the numbers as JSON.
Note: with ``--server thread`` the server shares the process (and the GIL) with the code
measured, which then waits for the server's threads at every send; either way this is a
loopback benchmark, not a network one.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import json
import logging
import multiprocessing
import os
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import click

from briefing.config import FetchConfig, SourceConfig
from briefing.ingest import extract_outcome, source_health
from briefing.sources import SourceOutcome
from briefing.sources.feed import fetch_all
from briefing.store import Store

ROOT = Path(__file__).resolve().parents[1]
TOPIC = ROOT / "config" / "topics" / "russia_china.yaml"
PUBLISHED_BASE = datetime(2025, 3, 3, 12, 0, tzinfo=timezone.utc)
FEEDS_MODIFIED = email.utils.format_datetime(PUBLISHED_BASE + timedelta(hours=1), usegmt=True)


# --- synthetic news ----------------------------------------------------------------

_SUBJECTS = [
    "The foreign ministry", "Officials in Beijing", "The Kremlin", "A senior trade negotiator",
    "The central bank", "Regional governors", "The energy minister", "Port authorities",
    "Opposition lawmakers", "A government spokesperson", "Analysts at a Moscow think tank",
    "The state railway company", "Customs officers", "European diplomats", "The defence ministry",
    "Farmers in the border region", "Shipping companies", "The finance ministry", "Local residents",
]
_VERBS = [
    "announced", "criticised", "welcomed", "postponed", "approved", "questioned", "outlined",
    "confirmed", "rejected", "signed", "reviewed", "defended", "proposed", "expanded", "suspended",
]
_OBJECTS = [
    "a new pipeline agreement", "the quarterly trade figures", "plans for joint naval drills",
    "a grain export quota", "the draft budget", "a cross-border rail link", "new sanctions measures",
    "the currency settlement scheme", "a summit communique", "a loan for the bridge project",
    "tariffs on steel imports", "the fishing rights treaty", "an inquiry into the port delays",
    "a framework for energy cooperation", "the visa-free travel programme",
]
_TAILS = [
    "on Tuesday", "after weeks of talks", "despite objections from industry groups",
    "ahead of next month's summit", "in a statement published late on Friday",
    "according to people familiar with the matter", "at a press conference in the capital",
    "for the second time this year", "as prices continued to climb", "without giving details",
]
_FOLLOWUPS = [
    "The decision is expected to affect {n} companies operating in the region.",
    "Trade between the two countries rose {n} percent in the first quarter.",
    "Critics said the timetable was unrealistic and the costs were underestimated.",
    "A spokesperson declined to comment on the talks beyond the official statement.",
    "The agreement still needs the approval of parliament, which meets again in {month}.",
    "Officials said about {n} thousand tonnes of cargo crossed the border last month.",
    "Markets reacted calmly, with the rouble and the yuan little changed by the afternoon.",
    "Residents told reporters that the new rules had not yet changed daily life.",
    "The ministry said further measures would be announced before the end of {month}.",
    "Independent economists cautioned that the official figures were hard to verify.",
]
_MONTHS = ["January", "March", "May", "July", "September", "November"]
_HEADLINE_WORDS = [
    "pipeline", "talks", "trade", "border", "summit", "sanctions", "rail", "grain", "yuan", "rouble",
    "drills", "tariffs", "port", "energy", "budget", "treaty", "bridge", "exports", "loan", "visa",
]


def _sentence(rng: random.Random) -> str:
    if rng.random() < 0.35:
        return rng.choice(_FOLLOWUPS).format(n=rng.randint(3, 480), month=rng.choice(_MONTHS))
    return f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}."


def article_html(rng: random.Random, min_words: int, max_words: int) -> str:
    """2–4 ``<p>`` paragraphs of plain news prose, ``min_words``–``max_words`` words in all."""
    target = rng.randint(min_words, max_words)
    sentences: list[str] = []
    words = 0
    while words < target:
        s = _sentence(rng)
        sentences.append(s)
        words += len(s.split())
    cuts = sorted(rng.sample(range(1, len(sentences)), k=min(len(sentences) - 1, rng.randint(1, 3))))
    paragraphs = [sentences[a:b] for a, b in zip([0, *cuts], [*cuts, len(sentences)])]
    return "".join(f"<p>{' '.join(p)}</p>" for p in paragraphs)


def rss_feed(index: int, items: int, base_url: str, rng: random.Random, min_words: int, max_words: int) -> bytes:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>',
        f"<title>Bench Wire {index:03d}</title><link>{base_url}/</link>",
        f"<description>Synthetic news feed {index} for the ingest benchmark</description>",
        "<language>en</language>",
    ]
    for i in range(items):
        words = rng.sample(_HEADLINE_WORDS, 4)
        title = f"{words[0].capitalize()} {words[1]} and {words[2]}: {words[3]} update {index}-{i}"
        link = f"{base_url}/articles/{index:03d}/{i:03d}.html"
        published = email.utils.format_datetime(PUBLISHED_BASE - timedelta(minutes=17 * i + index), usegmt=True)
        out.append(
            f"<item><title>{escape(title)}</title><link>{link}</link>"
            f'<guid isPermaLink="false">bench-{index:03d}-{i:03d}</guid><pubDate>{published}</pubDate>'
            f"<description>{escape(article_html(rng, min_words, max_words))}</description></item>")
    out.append("</channel></rss>\n")
    return "".join(out).encode("utf-8")


# --- loopback server ---------------------------------------------------------------

@dataclass(frozen=True)
class Served:
    body: bytes
    gzipped: bytes
    etag: str
    last_modified: str


COUNTS_PATH = "/__counts"  # the server's counters as JSON (itself not counted)


@dataclass
class FeedServer:
    """Threaded HTTP servers on one or more loopback addresses, sharing one table of feeds.

    ``process`` (the default) serves from a forked child process, as a real server is not in
    the client's process: in a thread it would compete with the measured code for the GIL.
    """

    hosts: int
    process: bool = True
    feeds: dict[str, Served] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    servers: list[ThreadingHTTPServer] = field(default_factory=list)
    child: Any = None

    def start(self) -> list[str]:
        """Bind (serving starts with ``serve``, once the feeds are built); one base URL per loopback address."""
        handler = _handler(self)
        for n in range(1, self.hosts + 1):
            server = ThreadingHTTPServer((f"127.0.0.{n}", 0), handler)
            server.daemon_threads = True
            self.servers.append(server)
        return self.bases

    @property
    def bases(self) -> list[str]:
        return [f"http://{s.server_address[0]}:{s.server_address[1]}" for s in self.servers]

    def serve(self) -> None:
        """Serve the feeds built so far: in a forked child process, or in daemon threads of this one."""
        if not self.process:
            for n, server in enumerate(self.servers, 1):
                threading.Thread(target=server.serve_forever, name=f"feed-server-{n}", daemon=True).start()
            return
        self.child = multiprocessing.get_context("fork").Process(target=_serve_all, args=(self.servers,),
                                                                 name="feed-server", daemon=True)
        self.child.start()
        for server in self.servers:  # the child accepts on the inherited sockets
            server.server_close()

    def stop(self) -> None:
        if self.child is not None:
            self.child.terminate()
            self.child.join(5)
            return
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def count(self, *keys: str) -> None:
        with self.lock:
            self.counts.update(keys)

    def snapshot(self) -> Counter[str]:
        """The counters, from the child process when it serves."""
        if self.child is None:
            return self.local_counts()
        with urllib.request.urlopen(self.bases[0] + COUNTS_PATH, timeout=10) as r:
            return Counter(json.loads(r.read()))

    def local_counts(self) -> Counter[str]:
        with self.lock:
            return Counter(self.counts)


def _serve_all(servers: list[ThreadingHTTPServer]) -> None:
    """The child process: every server in a thread of its own, until terminated."""
    for n, server in enumerate(servers[1:], 2):
        threading.Thread(target=server.serve_forever, name=f"feed-server-{n}", daemon=True).start()
    servers[0].serve_forever()


def _accepts_gzip(header: str | None) -> bool:
    for token in (header or "").split(","):
        name, _, params = token.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _not_modified(headers: Any, served: Served) -> bool:
    """RFC 9110: If-None-Match wins; If-Modified-Since only when there is no If-None-Match."""
    inm = headers.get("If-None-Match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or served.etag.removeprefix("W/") in tags
    ims = headers.get("If-Modified-Since")
    if ims:
        try:
            since = email.utils.parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        return since >= email.utils.parsedate_to_datetime(served.last_modified)
    return False


def _handler(state: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as httpx would get from a real server
        # Headers and body go out in two writes; with Nagle on, the second waits for the client's
        # delayed ACK (~40 ms per response on Linux), which would measure the server, not us.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == COUNTS_PATH:
                body = json.dumps(state.local_counts()).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            served = state.feeds.get(self.path)
            if served is None:
                state.count("requests", "other")
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if _not_modified(self.headers, served):
                state.count("requests", "304")
                self.send_response(304)
                self.send_header("ETag", served.etag)
                self.send_header("Last-Modified", served.last_modified)
                self.end_headers()
                return
            zipped = _accepts_gzip(self.headers.get("Accept-Encoding"))
            body = served.gzipped if zipped else served.body
            state.count("requests", "200", *(["gzip"] if zipped else []))
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", served.etag)
            self.send_header("Last-Modified", served.last_modified)
            self.send_header("Vary", "Accept-Encoding")
            if zipped:
                self.send_header("Content-Encoding", "gzip")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature of the base class)
            pass

    return Handler


def build_feeds(server: FeedServer, bases: list[str], feeds: int, items: int, seed: int,
                min_words: int, max_words: int) -> list[SourceConfig]:
    """Generate the feeds into the server's table; returns the sources that point at them."""
    rng = random.Random(seed)
    sources = []
    for index in range(feeds):
        base = bases[index % len(bases)]
        path = f"/feeds/{index:03d}.xml"
        body = rss_feed(index, items, base, rng, min_words, max_words)
        server.feeds[path] = Served(body, gzip.compress(body, 6), f'"{hashlib.sha1(body).hexdigest()[:20]}"',
                                    FEEDS_MODIFIED)
        sources.append(SourceConfig(name=f"bench-{index:03d}", feed=base + path))
    return sources


# --- measuring ---------------------------------------------------------------------

def maxrss_mib() -> float:
    """The process's peak resident set so far (KiB on Linux, bytes on macOS)."""
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value / (1024 * 1024) if sys.platform == "darwin" else value / 1024


@dataclass
class Stage:
    seconds: float = 0.0
    maxrss_mib: float = 0.0
    traced_peak_mib: float | None = None
    cpu_s: float = 0.0  # this process's CPU time, all threads (the server's is its own with --server process)


@dataclass
class PassResult:
    name: str
    feeds: int = 0
    items: int = 0
    articles: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    not_modified: int = 0
    server: dict[str, int] = field(default_factory=dict)
    stages: dict[str, Stage] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.stages.values())

    @property
    def cpu_s(self) -> float:
        return sum(s.cpu_s for s in self.stages.values())


@contextmanager
def stage(result: PassResult, name: str) -> Iterator[None]:
    tracing = tracemalloc.is_tracing()
    if tracing:
        start_current = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
    started, cpu = time.perf_counter(), time.process_time()
    yield
    seconds = time.perf_counter() - started
    peak = (tracemalloc.get_traced_memory()[1] - start_current) / 2**20 if tracing else None
    result.stages[name] = Stage(seconds, maxrss_mib(), peak, time.process_time() - cpu)


def run_pass(name: str, store: Store, sources: list[SourceConfig], policy: FetchConfig,
             server: FeedServer) -> PassResult:
    """One ingest pass at library level: states → fetch → extract → store, as the flow does it."""
    result = PassResult(name, feeds=len(sources))
    before = server.snapshot()
    with stage(result, "states"):
        states = {s.name: store.fetch_state(s.name) for s in sources}
    with stage(result, "fetch"):
        outcomes: list[SourceOutcome] = fetch_all(sources, states, policy)
    now = datetime.now(timezone.utc)
    with stage(result, "extract"):
        extracted = [extract_outcome(o, now) if o.ok and o.items else None for o in outcomes]
    with stage(result, "store"):
        for outcome, ex in zip(outcomes, extracted):
            new, updated = store.upsert_articles(ex.articles) if ex else ([], [])
            store.record_fetch(source_health(outcome, ex, len(new), len(updated)), now, outcome.state)
            result.new += len(new)
            result.updated += len(updated)
    result.server = dict(server.snapshot() - before)
    result.items = sum(len(o.items) for o in outcomes)
    result.articles = sum(len(e.articles) for e in extracted if e)
    result.skipped = sum(len(e.skipped) for e in extracted if e)
    result.failed = sum(not o.ok for o in outcomes)
    result.not_modified = sum(o.not_modified for o in outcomes)
    for o in outcomes:
        if not o.ok:
            logging.getLogger("bench").warning("%s failed: %s", o.source, o.error)
    return result


def run_round(workdir: Path, sources: list[SourceConfig], policy: FetchConfig,
              server: FeedServer) -> list[PassResult]:
    """A cold pass and a 304 pass on a fresh SQLite store."""
    store = Store.open_dir(workdir)
    try:
        cold = run_pass("cold", store, sources, policy, server)
        warm = run_pass("304", store, sources, policy, server)
        stored = store.count_articles()
    finally:
        store.close()
    if stored != cold.new:
        raise click.ClickException(f"store holds {stored} articles, the cold pass reported {cold.new} new")
    return [cold, warm]


def run_flow(workdir: Path, sources: list[SourceConfig], policy: FetchConfig,
             server: FeedServer) -> dict[str, Any]:
    """The real Prefect ingest flow, twice, on a generated config; wall time of each run."""
    import yaml

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    if "PREFECT_HOME" not in os.environ and "PREFECT_API_URL" not in os.environ:
        os.environ["PREFECT_HOME"] = str(workdir / "prefect-home")
    config = {
        "state_dir": str(workdir / "state"), "archive_dir": str(workdir / "archive"), "topic": str(TOPIC),
        "sources": [{"name": s.name, "feed": s.feed} for s in sources],
        "fetch": {"allow_private_hosts": True, "teaser_words": 0,
                  "concurrency": policy.concurrency, "per_host": policy.per_host},
    }
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "briefing.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")

    from prefect import flow

    from flows.ingest import ingest_flow

    @flow(name="bench-noop")
    def noop() -> None:
        return None

    out: dict[str, Any] = {}
    started = time.perf_counter()
    noop()
    out["prefect_start_s"] = time.perf_counter() - started
    for run in ("cold", "304"):
        before = server.snapshot()
        started = time.perf_counter()
        healths = ingest_flow(str(config_path))
        out[f"{run}_s"] = time.perf_counter() - started
        out[f"{run}_new"] = sum(h.new for h in healths)
        out[f"{run}_304"] = (server.snapshot() - before)["304"]
        out[f"{run}_failed"] = sum(h.status == "failed" for h in healths)
    out["maxrss_mib"] = maxrss_mib()
    return out


# --- report ------------------------------------------------------------------------

STAGES = ("states", "fetch", "extract", "store")


def print_report(args: dict[str, Any], timed: list[PassResult], traced: list[PassResult] | None,
                 baseline_mib: float, flow: dict[str, Any] | None) -> None:
    print(f"feeds={args['feeds']} items/feed={args['items']} words/item={args['min_words']}-{args['max_words']} "
          f"hosts={args['hosts']} server={args['server']} concurrency={args['concurrency']} "
          f"per_host={args['per_host']} "
          f"feed bytes={args['feed_mib']:.1f} MiB (gzip {args['gzip_mib']:.1f} MiB)")
    print(f"maxrss after imports: {args['maxrss_after_imports_mib']:.0f} MiB; "
          f"baseline (feeds generated, server up): {baseline_mib:.0f} MiB")
    print()
    header = f"{'pass':<5} {'feeds':>5} {'items':>6} {'new':>6} {'upd':>4} {'skip':>4} {'fail':>4} {'304':>4} " \
             f"{'reqs':>5} " + " ".join(f"{s + ' s':>9}" for s in STAGES) + f" {'total s':>8} {'items/s':>8} " \
             f"{'feeds/s':>8} {'maxrss MiB':>10}"
    print(header)
    print("-" * len(header))
    for r in timed:
        items_per_s = f"{r.items / r.seconds:8.0f}" if r.items else f"{'-':>8}"
        print(f"{r.name:<5} {r.feeds:>5} {r.items:>6} {r.new:>6} {r.updated:>4} {r.skipped:>4} {r.failed:>4} "
              f"{r.server.get('304', 0):>4} {r.server.get('requests', 0):>5} "
              + " ".join(f"{r.stages[s].seconds:9.3f}" for s in STAGES)
              + f" {r.seconds:8.3f} {items_per_s} {r.feeds / r.seconds:8.0f} {r.stages['store'].maxrss_mib:10.0f}")
    print()
    print("CPU seconds of this process (all its threads; less sensitive than wall time to a loaded machine)")
    print(f"{'pass':<5} " + " ".join(f"{s:>9}" for s in STAGES) + f" {'total':>8}")
    for r in timed:
        print(f"{r.name:<5} " + " ".join(f"{r.stages[s].cpu_s:9.3f}" for s in STAGES) + f" {r.cpu_s:8.3f}")
    if traced:
        print()
        print("tracemalloc peak above stage start, MiB (separate traced round; its seconds are not used)")
        print(f"{'pass':<5} " + " ".join(f"{s:>9}" for s in STAGES))
        for r in traced:
            print(f"{r.name:<5} " + " ".join(f"{r.stages[s].traced_peak_mib:9.1f}" for s in STAGES))
    print()
    other = sum(r.server.get("other", 0) for r in timed)
    gz = sum(r.server.get("gzip", 0) for r in timed)
    print(f"server: {gz} gzip bodies, {other} requests for non-feed paths (page fetches; expected 0)")
    if flow:
        print()
        print(f"{'prefect flow':<14} {'wall s':>8} {'new':>6} {'304':>5} {'fail':>5}")
        print(f"{'server start':<14} {flow['prefect_start_s']:8.2f}")
        for run in ("cold", "304"):
            print(f"{'ingest ' + run:<14} {flow[run + '_s']:8.2f} {flow[run + '_new']:>6} {flow[run + '_304']:>5} "
                  f"{flow[run + '_failed']:>5}")
    print(f"\nfinal maxrss: {maxrss_mib():.0f} MiB")


# --- command -----------------------------------------------------------------------

@click.command(help=__doc__.split("\n\n")[0])
@click.option("--feeds", default=200, show_default=True, help="Number of feeds.")
@click.option("--items", default=50, show_default=True, help="Items per feed.")
@click.option("--min-words", default=150, show_default=True, help="Fewest words in an item's description.")
@click.option("--max-words", default=300, show_default=True, help="Most words in an item's description.")
@click.option("--hosts", default=1, show_default=True, type=click.IntRange(1, 254),
              help="Serve from this many loopback addresses (127.0.0.1 …), feeds spread round-robin.")
@click.option("--concurrency", default=FetchConfig().concurrency, show_default=True,
              help="FetchConfig.concurrency.")
@click.option("--per-host", default=FetchConfig().per_host, show_default=True, help="FetchConfig.per_host.")
@click.option("--seed", default=1, show_default=True, help="Seed of the synthetic text.")
@click.option("--tracemalloc/--no-tracemalloc", "trace", default=True, show_default=True,
              help="Also run a traced round for per-stage tracemalloc peaks.")
@click.option("--flow", is_flag=True, help="Also run the Prefect ingest flow twice and time it.")
@click.option("--server", "server_kind", type=click.Choice(["process", "thread"]), default="process",
              show_default=True, help="Serve the feeds from a forked process, or from threads of this one "
                                      "(sharing the GIL with the code measured, as before 2026-12).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the results to this JSON file.")
@click.option("--keep", is_flag=True, help="Keep the temp dir (SQLite stores, config) and print its path.")
def main(feeds: int, items: int, min_words: int, max_words: int, hosts: int, concurrency: int, per_host: int,
         seed: int, trace: bool, flow: bool, server_kind: str, json_path: Path | None, keep: bool) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    after_imports = maxrss_mib()
    if not 1 <= min_words <= max_words:
        raise click.BadParameter("need 1 <= --min-words <= --max-words")
    policy = FetchConfig(teaser_words=0, allow_private_hosts=True, concurrency=concurrency, per_host=per_host)
    server_process = server_kind == "process"
    workdir = Path(tempfile.mkdtemp(prefix="briefing-bench-"))
    server = FeedServer(hosts, process=server_process)
    try:
        bases = server.start()
        sources = build_feeds(server, bases, feeds, items, seed, min_words, max_words)
        server.serve()
        baseline = maxrss_mib()
        args = dict(feeds=feeds, items=items, min_words=min_words, max_words=max_words, hosts=hosts, server=server_kind,
                    concurrency=concurrency, per_host=per_host, maxrss_after_imports_mib=after_imports,
                    feed_mib=sum(len(f.body) for f in server.feeds.values()) / 2**20,
                    gzip_mib=sum(len(f.gzipped) for f in server.feeds.values()) / 2**20)
        timed = run_round(workdir / "timed", sources, policy, server)
        traced = None
        if trace:
            tracemalloc.start()
            try:
                traced = run_round(workdir / "traced", sources, policy, server)
            finally:
                tracemalloc.stop()
        flow_result = run_flow(workdir / "flow", sources, policy, server) if flow else None
        print_report(args, timed, traced, baseline, flow_result)
        if json_path:
            json_path.write_text(json.dumps({
                "args": args, "baseline_maxrss_mib": baseline, "final_maxrss_mib": maxrss_mib(),
                "timed": [_as_dict(r) for r in timed], "traced": [_as_dict(r) for r in traced or []],
                "flow": flow_result}, indent=2), encoding="utf-8")
    finally:
        server.stop()
        if keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _as_dict(r: PassResult) -> dict[str, Any]:
    return {"name": r.name, "feeds": r.feeds, "items": r.items, "articles": r.articles, "new": r.new,
            "updated": r.updated, "skipped": r.skipped, "failed": r.failed, "not_modified": r.not_modified,
            "server": r.server, "seconds": r.seconds, "cpu_s": r.cpu_s,
            "stages": {k: vars(v) for k, v in r.stages.items()}}


if __name__ == "__main__":
    main()
