"""Relevance speed on one core: per headline item and per 300-word article (issue goals 0.2 ms and 0.5 ms).

    python bench/relevance.py            # 10,000 articles of 300 words, every wire-dev headline
    python bench/relevance.py -n 50000

Two corpora:
- **headlines**: every item of ../shared/data/wire-dev/{en,ru}.jsonl (title and short lead, as a
  feed gives them) and the titles of zh.jsonl: English, Russian and Chinese wire items;
- **articles**: from the bundled samples (examples/inbox) and the seeds in ../shared/seeds, each
  article a random selection of paragraphs from one source document plus one from another, cut or
  repeated to 300 words, so no two texts are equal and on- and off-topic material is mixed.

Prints CPU microseconds per item (process time: the scorer is single-threaded; median of rounds),
with language detection and with the language given, and how many came out relevant. The figures
of the labelled sets are `bench/train_relevance.py`'s.
"""

from __future__ import annotations

import json
import random
import time
from datetime import datetime, timezone
from pathlib import Path

import click

from briefing.extract import to_article
from briefing.relevance import load_topic, score
from briefing.sources.folder import FolderSource

ROOT = Path(__file__).resolve().parents[1]
WIRE = ROOT.parent / "shared" / "data" / "wire-dev"
WORDS = 300


def articles(n: int, seed: int) -> list[tuple[str, str]]:
    now = datetime.now(timezone.utc)
    docs = []
    for folder in (ROOT / "examples" / "inbox", ROOT.parent / "shared" / "seeds"):
        if folder.is_dir():
            docs += [to_article(i, now) for i in FolderSource("bench", folder).fetch().items]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.sample(docs, 2)
        paras = rng.sample(a.paragraphs, k=max(1, min(len(a.paragraphs), rng.randint(2, 8))))
        paras.append(rng.choice(b.paragraphs))
        rng.shuffle(paras)
        words = "\n\n".join(paras).split(" ")
        while len(words) < WORDS:
            words += words
        out.append((a.title, " ".join(words[:WORDS])))
    return out


def headlines() -> list[tuple[str, str, str]]:
    out = []
    for lang in ("en", "ru", "zh"):
        for line in (WIRE / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            out.append((d["title"] or "", "" if lang == "zh" else d["text"] or "", lang))
    return out


def timed(items: list[tuple[str, str, str | None]], topic, repeat: int) -> tuple[float, int]:
    """Median CPU µs per item over ``repeat`` rounds, and the number relevant."""
    rounds, relevant = [], 0
    for _ in range(repeat):
        started = time.process_time()
        results = [score(title, text, topic, language=lang) for title, text, lang in items]
        rounds.append(time.process_time() - started)
        relevant = sum(r.relevant for r in results)
    return 1e6 * sorted(rounds)[len(rounds) // 2] / len(items), relevant


@click.command()
@click.option("-n", "count", default=10_000, show_default=True, help="300-word articles to score.")
@click.option("--seed", default=7, show_default=True)
@click.option("--repeat", default=3, show_default=True, help="Timed rounds; the median is reported.")
def main(count: int, seed: int, repeat: int) -> None:
    topic = load_topic(ROOT / "config" / "topics" / "russia_china.yaml")
    score("Putin and Xi meet", "The two sides signed a deal.", topic)  # warm up: the language model loads once
    heads = headlines()
    arts = articles(count, seed)
    print(f"{'corpus':28} {'items':>7} {'µs/item':>8} {'relevant':>9}")
    for name, items in (
            ("headlines, detect language", [(t, x, None) for t, x, _ in heads]),
            ("headlines, language given", heads),
            *[(f"  {lang} headlines, detect", [(t, x, None) for t, x, g in heads if g == lang])
              for lang in ("en", "ru", "zh")],
            (f"{WORDS}-word articles, detect", [(t, x, None) for t, x in arts]),
            (f"{WORDS}-word articles, given", [(t, x, "en") for t, x in arts])):
        us, relevant = timed(items, topic, repeat)
        print(f"{name:28} {len(items):7d} {us:8.0f} {relevant:9d}")


if __name__ == "__main__":
    main()
