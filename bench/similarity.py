"""Same-story quality of the shipped story grouping on third-party data (run by hand; reads ../shared/data).

    python bench/similarity.py                        # SemEval training pairs (IN-SAMPLE: the model was fit on them)
    python bench/similarity.py --pairs test.csv       # any file of SemEval-2022 Task 8 pairs, e.g. the held-out test
    python bench/similarity.py --threshold 0.5 --threshold 0.7   # other same_story values

* SemEval-2022 Task 8 pairs: "same story" is Overall ≤ 1.5. For each language pair (en-en, ru-ru,
  zh-zh, zh-en, and ``--all-langs`` for the rest) all its documents go through
  ``duplicate_groups`` and ``story_groups`` together, as a digest window would; a pair is
  predicted "same" when both land in one story. Prints precision, recall and F1. The figures on
  the training file are in-sample; the cross-validated ones come from ``bench/story_model.py cv``.
* WikiRef220: all 220 articles clustered by ``story_groups``; adjusted Rand index against the
  topic in each file name, and on two splits of its stories (topics), each clustered on its own:
  ``tune`` (the last byte of sha1(topic) even: ParisAttacks2015, michelle, premier, cypriot, greek,
  tohoku and singletons), on which the ``developing`` settings and the community resolution were
  chosen, and ``held-out`` (odd: malaysia, samsung, barack, debt, smartphone and singletons), never
  tuned on.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import click
from sklearn.metrics import adjusted_rand_score

from briefing.dedupe import DedupeSettings, duplicate_groups, story_groups
from briefing.extract import article_id, content_hash
from briefing.types import Article

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "similarity"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
TARGETS = ("en-en", "ru-ru", "zh-zh", "zh-en")


def article(ident: str, text: str) -> Article:
    """A document of the data sets as an Article: the first line (or what precedes two spaces) is the title."""
    text = text.replace("\r\n", "\n").strip()
    first, newline, rest = text.partition("\n")
    if newline and len(first) <= 300:  # the headline on its own line
        title, body = first, rest
    else:  # or run into the text after two spaces
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


def semeval(path: Path, settings: DedupeSettings, langs: tuple[str, ...] | None) -> dict[str, tuple]:
    """Per language pair: (P, R, F1, pairs, same pairs), each pool grouped on its own."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from story_model import load_pairs, prf

    pairs, texts = load_pairs(path, langs)
    out = {}
    for code in sorted({p.langs for p in pairs}, key=lambda c: (c not in TARGETS, TARGETS.index(c)
                                                                 if c in TARGETS else 0, c)):
        mine = [p for p in pairs if p.langs == code]
        docs = {d: article(d, texts[d]) for d in sorted({d for p in mine for d in (p.a, p.b)})}
        out[code] = (*prf(_pair_counts(mine, docs, clusters(list(docs.values()), settings))), len(mine),
                     sum(p.same for p in mine))
    return out


def own(settings: DedupeSettings, split: str, dated: bool, cross: bool = False) -> tuple:
    """Our own Russian pairs (bench/labels/ru-story-pairs.jsonl; ``cross``: the Russian–English and
    Russian–Chinese ones, xl-story-pairs.jsonl) of one split, all their articles grouped together:
    (P, R, F1, pairs, same pairs). ``dated``: with their publication times (else one time, as
    SemEval's, so that only the text decides)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from story_model import OWN_PAIRS, OWN_XL, load_own, prf

    pairs, texts, dates = load_own(OWN_XL if cross else OWN_PAIRS, split=split)
    docs = {d: article(d, texts[d]) for d in sorted(texts)}
    if dated:
        docs = {d: replace(a, published=dates[d]) for d, a in docs.items()}
    counts = _pair_counts(pairs, docs, clusters(list(docs.values()), settings))
    return (*prf(counts), len(pairs), sum(p.same for p in pairs))


def _pair_counts(pairs: list, docs: dict, story: dict) -> list[int]:
    """[same pairs grouped together, other pairs grouped together, same pairs kept apart]."""
    counts = [0, 0, 0]
    for p in pairs:
        together = story[docs[p.a].id] == story[docs[p.b].id]
        counts[0] += p.same and together
        counts[1] += (not p.same) and together
        counts[2] += p.same and not together
    return counts


def story_split(topic: str) -> str:
    """WikiRef220's split of its stories: ``tune`` or ``held-out``, by the topic's name alone."""
    return "held-out" if hashlib.sha1(topic.encode("utf-8")).digest()[-1] % 2 else "tune"


def wikiref(settings: DedupeSettings) -> dict[str, tuple[float, int]]:
    """ARI and number of clusters: all 220 articles, and each split of the stories."""
    files = sorted((DATA / "wikiref220").glob("*.txt"))
    if not files:
        raise click.ClickException(f"{DATA / 'wikiref220'} is missing (the shared data)")
    arts = [article(f.name, f.read_text(encoding="utf-8", errors="replace")) for f in files]
    labels = [re.split(r"[ .(]", f.name)[0] for f in files]
    split = [story_split(label) for label in labels]
    out = {}
    for name in ("all", "tune", "held-out"):
        mine = [(a, y) for a, y, h in zip(arts, labels, split) if name in ("all", h)]
        story = clusters([a for a, _ in mine], settings)
        predicted = [story[a.id] for a, _ in mine]
        out[name] = (adjusted_rand_score([y for _, y in mine], predicted), len(set(predicted)))
    return out


@click.command()
@click.option("--pairs", "pairs_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=DATA / "semeval2022-task8" / "training_set.csv", show_default=True)
@click.option("--all-langs", is_flag=True, help="Every language pair of the file, not only en-en, ru-ru, zh-zh, zh-en.")
@click.option("--threshold", "thresholds", multiple=True, type=float, help="same_story values to try.")
@click.option("--own", "own_split", type=click.Choice(["train", "test"]), default=None,
              help="Only our own pairs of this split (test: report once, never tune on it): Russian ones, "
                   "then the Russian–English and Russian–Chinese ones.")
def main(pairs_path: Path, all_langs: bool, thresholds: tuple[float, ...], own_split: str | None) -> None:
    if own_split:
        for t in thresholds or (DedupeSettings().same_story,):
            settings = replace(DedupeSettings(), same_story=t)
            for cross, dated in itertools.product((False, True), (False, True)):
                p, r, f1, n, same = own(settings, own_split, dated, cross)
                print(f"same_story={t:.3f} own {'ru-en/zh' if cross else 'ru-ru'} {own_split} "
                      f"{'dated' if dated else 'one time'}: pairs={n} same={same}  P={p:.3f} R={r:.3f} F1={f1:.3f}")
        return
    in_sample = pairs_path.name == "training_set.csv"
    for t in thresholds or (DedupeSettings().same_story,):
        settings = replace(DedupeSettings(), same_story=t)
        started = time.perf_counter()
        print(f"same_story={t:.3f}  {pairs_path.name}" + ("  (in-sample: the model was fit on these pairs)"
                                                          if in_sample else ""))
        for code, (p, r, f1, n, same) in semeval(pairs_path, settings, None if all_langs else TARGETS).items():
            print(f"  {code}: pairs={n} same={same}  P={p:.3f} R={r:.3f} F1={f1:.3f}")
        for name, (ari, k) in wikiref(settings).items():
            print(f"  WikiRef220 {name}: ARI={ari:.3f} clusters={k}")
        print(f"  [{time.perf_counter() - started:.1f} s]")


if __name__ == "__main__":
    main()
