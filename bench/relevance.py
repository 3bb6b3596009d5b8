"""Relevance speed: score N articles on one core (issue goal: 10,000 in under 2 s).

    python bench/relevance.py            # 10,000 articles
    python bench/relevance.py -n 50000

The corpus is built from the bundled samples (examples/inbox) and, when present,
the seeds in ../shared/seeds: each article is a random selection of paragraphs from
one source document plus one from another, so no two texts are equal and on- and
off-topic material is mixed. Prints CPU seconds (process time: one core, the
scorer is single-threaded), articles/s, and how many came out relevant.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timezone
from pathlib import Path

import click

from briefing.extract import to_article
from briefing.relevance import detect_language, load_topic, score
from briefing.sources.folder import FolderSource

ROOT = Path(__file__).resolve().parents[1]


def corpus(n: int, seed: int) -> list[tuple[str, str]]:
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
        out.append((a.title, "\n\n".join(paras)))
    return out


@click.command()
@click.option("-n", "count", default=10_000, show_default=True, help="Articles to score.")
@click.option("--seed", default=7, show_default=True)
@click.option("--repeat", default=3, show_default=True, help="Timed rounds; the median is reported.")
def main(count: int, seed: int, repeat: int) -> None:
    topic = load_topic(ROOT / "config" / "topics" / "russia_china.yaml")
    articles = corpus(count, seed)
    words = sum(len(t.split()) for _, t in articles) / len(articles)
    score(*articles[0], topic)  # warm up: compile regexes, import py3langid if needed
    rounds = []
    for _ in range(repeat):
        started = time.process_time()
        results = [score(title, text, topic) for title, text in articles]
        rounds.append(time.process_time() - started)
    started = time.process_time()
    for title, text in articles:
        detect_language(f"{title}\n\n{text}")
    lang_s = time.process_time() - started
    secs = sorted(rounds)[len(rounds) // 2]
    print(f"articles: {count}  mean words: {words:.0f}  relevant: {sum(r.relevant for r in results)}")
    print(f"score CPU s (median of {repeat}): {secs:.3f}  -> {count / secs:,.0f} articles/s "
          f"({1e6 * secs / count:.0f} µs each); rounds: {', '.join(f'{r:.3f}' for r in rounds)}")
    print(f"of which language detection alone: {lang_s:.3f} s")


if __name__ == "__main__":
    main()
