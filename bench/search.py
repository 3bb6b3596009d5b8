"""Full-text search at scale: index cost at ingest, query time after start-up, phrase recall against a grep.

Run by hand (not in CI), from the checkout with the project installed::

    python bench/search.py -n 100000                 # the targets: query ≤ 50 ms, index ≤ 20% of store time
    python bench/search.py -n 10000 --json out.json
    python bench/search.py -n 10000 --url postgresql+psycopg://user@host/db   # an empty PostgreSQL database

What it does:

1. Generates N articles (70% English, 15% Russian, 15% Chinese; 120–260 words, a Zipf draw from
   a synthetic vocabulary plus a few real words of the topic), spread over 60 days and 12 sources.
   Planted for the recall check: each of ``PHRASES`` goes into 0.3% of the texts as written, and
   into another 0.3% broken by punctuation ("power, of Siberia"): a grep does not count those,
   the index does (it reads words, not characters), so they show in precision, not in recall.
2. Stores them twice in ``STORE_BATCH`` batches, as the ingest does: into a store whose search index
   was dropped (triggers, table and upsert's batch write), and into a normal store.
   Index cost = (indexed − bare) / indexed; also against the whole ingest of an article: ``to_article``
   timed on a sample of 2,000 of the texts (as plain-text items, so the cheapest cleaning: HTML pages cost
   more) plus the indexed store.
3. Reopens the indexed store (start-up: a new process would do the same), runs each query once to
   warm up, then ``--repeat`` times: median and worst milliseconds, with the snippets (limit 20).
4. Recall and precision of each phrase (no limit) against a case-folded substring grep over
   title + text of the same articles.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from briefing.extract import content_hash  # noqa: E402
from briefing.ingest import STORE_BATCH  # noqa: E402
from briefing.search import Filters, parse_query, search  # noqa: E402
from briefing.store import Store  # noqa: E402
from briefing.types import Article  # noqa: E402

PHRASES = ["power of siberia", "joint naval exercise", "газопровод сила сибири", "中俄关系"]
QUERIES = [
    ("word", "pipeline", None),
    ("two words", "gas sanctions", None),
    ("phrase", '"power of siberia"', None),
    ("exclusion", "kremlin -beijing", None),
    ("ru word", "Путин", None),
    ("zh word", "普京", None),
    ("rare+common", "zorblatt gas", None),
    ("filter", "gas", Filters(sources=("source-03",))),
]
EN = ("the of and to in a for on said that with was by is as at from its has will an be "
      "russia china moscow beijing kremlin pipeline gas trade sanctions summit minister talks").split()
RU = "и в не на что с по к из о за от россия китай москва пекин газ торговля санкции встреча министр".split()
RU_NAMES = ["Путин", "Путина", "Путину", "Путиным"]
ZH = list("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面")
ZH_WORDS = ["中国", "俄罗斯", "普京", "习近平", "天然气", "合作", "贸易", "外交部", "关系", "会谈"]


def _vocab(rng: random.Random, n: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(n)]


def _text(rng: random.Random, lang: str, vocab: list[str], cyr: list[str]) -> str:
    n = rng.randint(120, 260)
    if lang == "zh":
        chars = [rng.choice(ZH_WORDS) if rng.random() < 0.15 else rng.choice(ZH) for _ in range(n)]
        return "".join(c + ("，" if rng.random() < 0.08 else "") for c in chars) + "。"
    common, pool = (EN, vocab) if lang == "en" else (RU, cyr)
    words = []
    for _ in range(n):
        r = rng.random()
        if lang == "ru" and r < 0.01:
            words.append(rng.choice(RU_NAMES))
        else:
            words.append(rng.choice(common) if r < 0.45 else pool[min(int(rng.paretovariate(1.1)), len(pool)) - 1])
    return " ".join(words).capitalize() + "."


def corpus(n: int, seed: int = 7) -> list[Article]:
    """N articles of three languages, with ``PHRASES`` planted as written and broken by punctuation."""
    rng = random.Random(seed)
    vocab = _vocab(rng, 50_000)
    cyr = ["".join(rng.choice("абвгдежзиклмнопрстуфхцчшэюя") for _ in range(rng.randint(3, 10))) for _ in range(20_000)]
    start = datetime(2026, 9, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        lang = "en" if i % 20 < 14 else "ru" if i % 20 < 17 else "zh"
        body = _text(rng, lang, vocab, cyr)
        for p in PHRASES:
            r = rng.random()
            if r < 0.006:
                planted = p if r < 0.003 else p.replace(" ", ", ", 1) if " " in p else p[:2] + "，" + p[2:]
                cut = rng.randint(0, len(body))
                cut = body.rfind(" ", 0, cut) + 1 if lang != "zh" else cut
                body = body[:cut] + planted + " " + body[cut:]
        title = " ".join(body.split()[:8])[:80] if lang != "zh" else body[:20]
        digest = content_hash(body)
        when = start + timedelta(minutes=rng.randint(0, 60 * 24 * 60))
        out.append(Article(f"bench-{i:07d}", f"source-{i % 12:02d}", f"https://example.org/{i}", title, body,
                           digest, when, when, False, None))
    return out


def _store_all(store: Store, articles: list[Article]) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(articles), STORE_BATCH):
        store.upsert_articles(articles[i:i + STORE_BATCH])
    return time.perf_counter() - t0


def _bare(url: str) -> Store:
    """A store like the real one but with no search index to write."""
    from sqlalchemy import text

    store = Store(url)
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            for name in ("article_search_guard", "article_search_update", "article_search_delete"):
                conn.execute(text(f"DROP TRIGGER {name}"))
            conn.execute(text("DROP TABLE article_search"))  # and ``_no_index`` skips upsert's batch write
        else:  # the write to article_search is in upsert_articles: an empty table stand-in takes it cheaply
            conn.execute(text("DROP TABLE article_search"))
            conn.execute(text("CREATE UNLOGGED TABLE article_search (id VARCHAR(40) PRIMARY KEY, doc tsvector)"))
            conn.execute(text("CREATE RULE skip AS ON INSERT TO article_search DO INSTEAD NOTHING"))
    return store


@contextlib.contextmanager
def _no_index() -> Iterator[None]:
    """SQLite: ``upsert_articles`` writes no index rows (the bare store has no index table to write them to)."""
    import briefing.store.articles as articles

    def skip(conn: Any, added: Any, changed: Any) -> None:
        if conn.dialect.name != "sqlite":
            index(conn, added, changed)

    index, articles.index_articles = articles.index_articles, skip
    try:
        yield
    finally:
        articles.index_articles = index


def _extract_seconds(sample: list[Article]) -> float:
    """Seconds per article of ``to_article`` on these texts as plain-text items (the ingest's cleaning)."""
    from briefing.extract import to_article
    from briefing.types import RawItem

    items = [RawItem(a.source, a.location, a.text, "text", title=a.title, published=a.published) for a in sample]
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    for item in items:
        to_article(item, now)
    return (time.perf_counter() - t0) / len(items)


def _grep(articles: list[Article], phrase: str) -> set[str]:
    p = phrase.casefold()
    return {a.id for a in articles if p in (a.title + "\n" + a.text).casefold()}


@click.command()
@click.option("-n", "count", default=100_000, show_default=True, help="Articles to generate.")
@click.option("--repeat", default=20, show_default=True, help="Timed runs of each query.")
@click.option("--url", default=None, help="Two empty databases' URLs, comma-separated (default: SQLite files).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the figures.")
def main(count: int, repeat: int, url: str | None, json_path: Path | None) -> None:
    """Bench full-text search: index cost at ingest, query time, phrase recall.

    \b
    Example:
      python bench/search.py -n 100000
    """
    t0 = time.perf_counter()
    articles = corpus(count)
    click.echo(f"generated {count:,} articles in {time.perf_counter() - t0:.1f} s", err=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-search-"))
    bare_url, indexed_url = url.split(",") if url else (f"sqlite:///{tmp / 'bare.sqlite'}",
                                                         f"sqlite:///{tmp / 'indexed.sqlite'}")
    bare = _bare(bare_url)
    with _no_index():
        bare_s = _store_all(bare, articles)
    bare.close()
    indexed = Store(indexed_url)
    indexed_s = _store_all(indexed, articles)
    indexed.close()
    share = (indexed_s - bare_s) / indexed_s
    extract_s = _extract_seconds(articles[:: max(1, count // 2000)]) * count  # the ingest's other cost, sampled
    ingest_share = (indexed_s - bare_s) / (extract_s + indexed_s)
    sizes = {}
    if not url:
        sizes = {k: sum(f.stat().st_size for f in tmp.glob(f"{k}.sqlite*")) / 2**20 for k in ("bare", "indexed")}
    click.echo(f"store {count:,}: {bare_s:.1f} s without the index, {indexed_s:.1f} s with it: "
               f"index {share:.0%} of store time" + (f"; files {sizes['bare']:.0f} → {sizes['indexed']:.0f} MiB"
                                                    if sizes else ""))
    click.echo(f"extract (to_article, sampled) {extract_s:.1f} s: the index is {ingest_share:.0%} of extract + store")

    t0 = time.perf_counter()
    store = Store(indexed_url)  # start-up: open (migrations checked), then the first query of each kind
    opened = time.perf_counter() - t0
    rows = []
    for name, q, filters in QUERIES:
        parsed = parse_query(q)
        t1 = time.perf_counter()
        first = search(store, parsed, filters or Filters(), 20)
        cold = (time.perf_counter() - t1) * 1000
        times = []
        for _ in range(repeat):
            t1 = time.perf_counter()
            search(store, parsed, filters or Filters(), 20)
            times.append((time.perf_counter() - t1) * 1000)
        total = len(store.search_articles(parsed, filters or Filters(), 10 * count))
        rows.append({"name": name, "query": q, "hits": total, "shown": len(first), "first_ms": round(cold, 1),
                     "median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)})
    click.echo(f"\nopen {opened * 1000:.0f} ms; query times (limit 20, with snippets), {repeat} runs:")
    click.echo(f"{'query':<26}{'hits':>8}{'first':>9}{'median':>9}{'max':>9}")
    for r in rows:
        click.echo(f"{r['query']:<26}{r['hits']:>8}{r['first_ms']:>9}{r['median_ms']:>9}{r['max_ms']:>9}")

    recall = []
    for p in PHRASES:
        want = _grep(articles, p)
        got = {a.id for a, _ in store.search_articles(parse_query(f'"{p}"'), Filters(), 10 * count)}
        recall.append({"phrase": p, "grep": len(want), "index": len(got), "both": len(want & got),
                       "recall": len(want & got) / len(want) if want else 1.0,
                       "precision": len(want & got) / len(got) if got else 1.0})
    store.close()
    shutil.rmtree(tmp, ignore_errors=True)
    click.echo("\nphrase recall against a grep (precision < 1: matches across punctuation, which grep misses):")
    for r in recall:
        click.echo(f"  {r['phrase']:<26} grep {r['grep']:>5}  index {r['index']:>5}  "
                   f"recall {r['recall']:.3f}  precision {r['precision']:.3f}")
    if json_path:
        json_path.write_text(json.dumps({"n": count, "store_bare_s": bare_s, "store_indexed_s": indexed_s,
                                         "index_share": share, "extract_s": extract_s,
                                         "index_share_of_ingest": ingest_share, "sizes_mib": sizes,
                                         "open_ms": opened * 1000, "queries": rows, "recall": recall},
                                        indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
