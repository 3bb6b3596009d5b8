"""Speed per article in each language: Russian and Chinese against English (issue 20: within 2×).

Articles are the shared SemEval-2022 Task 8 training texts of each language (en, ru, zh; real news
as the pair file holds it: a title and the article's opening, median ~1,050 characters in English and
Russian, ~360 in Chinese, whose characters are words or halves of words). They are compared per
article as each language writes one, and per 1,000 characters. Each stage is the library call:

    extract    to_article (cleaning, title, date, outlet, language)
    relevance  score against the topic
    words      briefing.words.analyse (the stories' tokens: stems, jieba words, keys)
    duplicates duplicate_groups over the language's whole batch (shingles, MinHash)
    stories    story_groups over the batch
    summarize  summarize each article alone (three verbatim sentences)

CPU seconds (time.process_time), medians of --repeat rounds. Run by hand:

    python bench/languages.py                 # 80 articles per language, 3 rounds
    python bench/languages.py --count 50 --repeat 5
"""

from __future__ import annotations

import csv
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from briefing.dedupe import duplicate_groups, story_groups
from briefing.extract import to_article
from briefing.relevance import load_topic, score
from briefing.summarize import summarize
from briefing.types import Article, RawItem
from briefing.words import analyse

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT.parent / "shared" / "data" / "similarity" / "semeval2022-task8" / "training_set.csv"
TOPIC = ROOT / "config" / "topics" / "russia_china.yaml"
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
LANGS = ("en", "ru", "zh")
csv.field_size_limit(sys.maxsize)


def texts(lang: str, count: int, chars: int) -> list[str]:
    """The first ``count`` distinct texts of language ``lang`` of at least ``chars`` characters."""
    seen: dict[str, None] = {}
    with PAIRS.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            for side in ("1", "2"):
                text = row["text" + side].strip()
                if row["lang" + side] == lang and len(text) >= chars:
                    seen.setdefault(text, None)
            if len(seen) >= count:
                break
    if len(seen) < count:
        raise click.ClickException(f"only {len(seen)} {lang} texts of {chars}+ characters in {PAIRS}")
    return list(seen)[:count]


def cpu(fn: Callable[[], Any], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        runs.append(time.process_time() - start)
    return statistics.median(runs)


def stages(raw: list[RawItem], articles: list[Article], topic: Any, repeat: int) -> dict[str, float]:
    """CPU seconds of each stage over one language's articles."""
    return {
        "extract": cpu(lambda: [to_article(item, NOW) for item in raw], repeat),
        "relevance": cpu(lambda: [score(a.title, a.text, topic) for a in articles], repeat),
        "words": cpu(lambda: [analyse(a.text) for a in articles], repeat),
        "duplicates": cpu(lambda: duplicate_groups(articles), repeat),
        "stories": cpu(lambda: story_groups(articles), repeat),
        "summarize": cpu(lambda: [summarize([a]) for a in articles], repeat),
    }


@click.command()
@click.option("--count", default=80, show_default=True, help="Articles per language.")
@click.option("--chars", default=200, show_default=True, help="Only articles of at least this many characters.")
@click.option("--repeat", default=3, show_default=True, help="Rounds; the median is shown.")
def main(count: int, chars: int, repeat: int) -> None:
    topic = load_topic(TOPIC)
    rows: dict[str, dict[str, float]] = {}
    size: dict[str, float] = {}
    for lang in LANGS:
        chosen = texts(lang, count, chars)
        size[lang] = sum(map(len, chosen)) / len(chosen)
        raw = [RawItem("bench", f"/bench/{lang}/{i}.txt", t, "text") for i, t in enumerate(chosen)]
        articles: list[Article] = [to_article(item, NOW) for item in raw]
        for a in articles[:5]:  # warm: jieba's dictionary, the topic's automaton, the stemmers
            score(a.title, a.text, topic)
            analyse(a.text)
            summarize([a])
        rows[lang] = stages(raw, articles, topic, repeat)
    names = list(rows["en"])
    click.echo(f"{count} articles per language (mean characters: "
               + ", ".join(f"{lang} {size[lang]:,.0f}" for lang in LANGS)
               + f"); CPU ms per article, median of {repeat}")
    click.echo("| stage | " + " | ".join(LANGS)
               + " | ru / en | zh / en | ru / en per 1k chars | zh / en per 1k chars |")
    click.echo("|---|" + "--:|" * (len(LANGS) + 4))
    for stage in [*names, "total"]:
        ms = {lang: 1000 * (sum(rows[lang].values()) if stage == "total" else rows[lang][stage]) / count
              for lang in LANGS}
        per_k = {lang: ms[lang] / size[lang] for lang in LANGS}
        click.echo(f"| {stage} | " + " | ".join(f"{ms[lang]:.3f}" for lang in LANGS)
                   + f" | {ms['ru'] / ms['en']:.2f} | {ms['zh'] / ms['en']:.2f}"
                   + f" | {per_k['ru'] / per_k['en']:.2f} | {per_k['zh'] / per_k['en']:.2f} |")


if __name__ == "__main__":
    main()
