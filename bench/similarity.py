"""Same-story quality on third-party data (run by hand; reads ../shared/data/similarity).

    python bench/similarity.py

* SemEval-2022 Task 8 (training set, English–English pairs): "same story" is
  Overall ≤ 1.5. All English documents go through ``story_groups`` (and
  ``duplicate_groups``) together, as a digest window would; a pair is predicted
  "same" when both land in one story. Prints precision, recall and F1.
* WikiRef220: all 220 articles clustered by ``story_groups``; adjusted Rand
  index against the topic in each file name (and the number of clusters).

``--threshold`` sweeps the story threshold to show the trade-off.
"""

from __future__ import annotations

import csv
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import click
from sklearn.metrics import adjusted_rand_score

from briefing.dedupe import DedupeSettings, duplicate_groups, story_groups
from briefing.extract import article_id, content_hash
from briefing.types import Article

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "similarity"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
csv.field_size_limit(sys.maxsize)


def article(ident: str, text: str) -> Article:
    text = text.replace("\r\n", "\n")
    title, _, body = text.partition("  ") if "  " in text[:300] else ("", "", text)
    paragraphs = [p.strip() for p in re.split(r"\n+", body) if p.strip()] or [text]
    body = "\n\n".join(paragraphs)
    h = content_hash(body)
    return Article(article_id(ident, h), ident, ident, title.strip() or paragraphs[0][:80], body, h, NOW)


def clusters(articles: list[Article], settings: DedupeSettings) -> dict[str, int]:
    """Story number of each article id, after duplicates are folded in."""
    dups = duplicate_groups(articles, settings)
    best = [g[0] for g in dups]
    members = {g[0].id: g for g in dups}
    out = {}
    for n, story in enumerate(story_groups(best, settings)):
        for a in story:
            for m in members[a.id]:
                out[m.id] = n
    return out


def semeval(settings: DedupeSettings) -> tuple[float, float, float, int]:
    rows = [r for r in csv.DictReader((DATA / "semeval2022-task8" / "training_set.csv").open(encoding="utf-8"))
            if r["lang1"] == "en" and r["lang2"] == "en" and r["text1"].strip() and r["text2"].strip()]
    docs: dict[str, Article] = {}
    pairs = []
    for r in rows:
        a_id, b_id = r["pair_id"].split("_")
        docs.setdefault(a_id, article(a_id, r["text1"]))
        docs.setdefault(b_id, article(b_id, r["text2"]))
        pairs.append((docs[a_id].id, docs[b_id].id, float(r["Overall"]) <= 1.5))
    story = clusters(list(docs.values()), settings)
    tp = sum(1 for a, b, same in pairs if same and story[a] == story[b])
    fp = sum(1 for a, b, same in pairs if not same and story[a] == story[b])
    fn = sum(1 for a, b, same in pairs if same and story[a] != story[b])
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0), len(pairs)


def wikiref(settings: DedupeSettings) -> tuple[float, int, int]:
    files = sorted((DATA / "wikiref220").glob("*.txt"))
    arts, labels = [], []
    for f in files:
        arts.append(article(f.name, f.read_text(encoding="utf-8", errors="replace")))
        labels.append(re.split(r"[ .(]", f.name)[0])
    story = clusters(arts, settings)
    predicted = [story[a.id] for a in arts]
    return adjusted_rand_score(labels, predicted), len(set(predicted)), len(set(labels))


@click.command()
@click.option("--threshold", "thresholds", multiple=True, type=float, help="same_story values to try.")
def main(thresholds: tuple[float, ...]) -> None:
    for t in thresholds or (DedupeSettings().same_story,):
        settings = DedupeSettings(same_story=t)
        started = time.perf_counter()
        p, r, f1, n = semeval(settings)
        ari, k, truth = wikiref(settings)
        print(f"same_story={t:.2f}  SemEval en pairs={n}: P={p:.3f} R={r:.3f} F1={f1:.3f}  |  "
              f"WikiRef220: ARI={ari:.3f} clusters={k} (topics {truth})  [{time.perf_counter() - started:.1f} s]")


if __name__ == "__main__":
    main()
