"""Fit and cross-validate the story pair model on the shared SemEval-2022 Task 8 training pairs.

    python bench/story_model.py cv              # grouped 5-fold CV, per language pair, with baselines
    python bench/story_model.py fit             # fit on all training pairs → briefing/data/story_model.json

"Same story" is Overall ≤ 1.5. Folds are grouped: the pairs that share an article (connected
components of the pair graph) are always in one fold, so no article is in both a training and a
validation fold; they are stratified by language pair and label, with a fixed seed.

In each fold, on the training folds only: a logistic regression over the pair features
(``briefing.dedupe.pair_features``; √ of the key cosine), a second one for the weak tier (the key
cosine as it is: the ``developing`` rule reads it), then the linkage threshold that gives the best pair F1 when
the training folds' articles are grouped. Validation: all articles of one language pair (both
folds, as many as a digest window would hold) are grouped with that fold's model, and only the
validation fold's pairs are scored, so chaining through other articles counts. Counts are summed
over the folds: one P/R/F1 per language pair. Word and key rarity is estimated on the pool of
each language pair's articles (no label is used for it), as a digest window estimates it.

Baselines: ``tfidf`` is one TF-IDF cosine (scikit-learn's English analyzer, title twice + text)
with single-link unions, its threshold chosen on the training folds the same way; ``before``
is the shipped story grouping before this model (cosine ≥ 0.25, untuned).
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import click
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from similarity import DATA, article  # noqa: E402

from briefing.dedupe import (  # noqa: E402
    DedupeSettings,
    ScoredPairs,
    StoryModel,
    StorySpace,
    _Groups,
    duplicate_groups,
    link_stories,
    pair_features,
    scored_pairs,
    story_space,
)
from briefing.types import Article  # noqa: E402

PAIRS_CSV = DATA / "semeval2022-task8" / "training_set.csv"
OWN_PAIRS = Path(__file__).resolve().parent / "labels" / "ru-story-pairs.jsonl"
OWN = "ru-own"  # the pool of our own Russian pairs (bench/labels/ru-story-pairs.README.md)
OWN_XL = Path(__file__).resolve().parent / "labels" / "xl-story-pairs.jsonl"  # ru-en, ru-zh (its README)
MODEL_PATH = Path(__file__).resolve().parents[1] / "briefing" / "data" / "story_model.json"
TARGETS = ("en-en", "ru-ru", "zh-zh", "zh-en")
FEATURES = ("words", "sqrt_keys", "cross", "cross_keys")  # the pair model: pairs at ``same_story`` link
DEVELOPING = ("words", "keys", "cross", "cross_keys")  # the weak tier's own model (``developing`` pairs)
THRESHOLDS = tuple(np.round(np.arange(0.20, 0.81, 0.025), 3))
csv.field_size_limit(sys.maxsize)


@dataclass(frozen=True)
class Pair:
    langs: str  # "zh-en"
    a: str  # document ids
    b: str
    same: bool
    group: int = 0


@dataclass
class Pool:
    """The articles of one language pair, grouped as a window would be, with their vectors."""

    langs: str
    articles: list[Article]
    by_doc: dict[str, int]  # document id → index in articles
    dup_of: list[int]  # index → index of the kept copy
    best: list[int]  # indexes of the kept copies
    space: StorySpace  # vectors of the kept copies
    pairs: list[Pair] = field(default_factory=list)


def load_pairs(path: Path = PAIRS_CSV, langs: Iterable[str] | None = None) -> tuple[list[Pair], dict[str, str]]:
    """The pairs with both texts, and each document's text; ``group`` is its connected component."""
    if not path.exists():
        raise click.ClickException(f"{path} is missing (the shared data)")
    wanted = set(langs) if langs else None
    pairs, texts = [], {}
    with path.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            code = f"{r['lang1']}-{r['lang2']}"
            if (wanted and code not in wanted) or not r["text1"].strip() or not r["text2"].strip():
                continue
            a, b = r["pair_id"].split("_")
            texts.setdefault(a, r["text1"])
            texts.setdefault(b, r["text2"])
            pairs.append(Pair(code, a, b, float(r["Overall"]) <= 1.5))
    ids = sorted(texts)
    index = {d: i for i, d in enumerate(ids)}
    comp = _Groups(len(ids))
    for p in pairs:
        comp.union(index[p.a], index[p.b])
    return [Pair(p.langs, p.a, p.b, p.same, comp.find(index[p.a])) for p in pairs], texts


def own_split(event: str) -> str:
    """``test`` (never tuned on: sha1 of the event id divisible by 3) or ``train``; a pair and the other
    pairs of its event (they share articles) are always on one side."""
    return "test" if int(hashlib.sha1(event.encode("utf-8")).hexdigest(), 16) % 3 == 0 else "train"


def load_own(path: Path = OWN_PAIRS, split: str = "train", code: str = OWN
             ) -> tuple[list[Pair], dict[str, str], dict[str, datetime]]:
    """Our own labelled pairs of one split (``train``, ``test`` or ``all``): pairs, each article's
    text (title on the first line, as ``article`` reads it) and its publication time."""
    if not path.exists():
        raise click.ClickException(f"{path} is missing")
    pairs, texts, dates = [], {}, {}
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if split != "all" and own_split(r["event"]) != split:
            continue
        for side in (r["a"], r["b"]):
            texts[side["id"]] = f"{side['title']}\n{side['text']}"
            dates[side["id"]] = datetime.fromisoformat(side["published"])
        pairs.append(Pair(code, r["a"]["id"], r["b"]["id"], bool(r["same"])))
    ids = sorted(texts)
    index = {d: i for i, d in enumerate(ids)}
    comp = _Groups(len(ids))
    for p in pairs:
        comp.union(index[p.a], index[p.b])
    return [replace(p, group=10_000_000 + comp.find(index[p.a])) for p in pairs], texts, dates


def folds(pairs: Sequence[Pair], k: int = 5, seed: int = 0) -> list[np.ndarray]:
    """Validation fold of each pair: grouped by shared articles, stratified by language pair and label."""
    strata = [f"{p.langs}:{p.same}" for p in pairs]
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    out = np.empty(len(pairs), dtype=np.int64)
    with warnings.catch_warnings():  # ru-ru has 2 same-story pairs, fewer than folds: known, and fine
        warnings.simplefilter("ignore", UserWarning)
        splits = list(splitter.split(np.zeros(len(pairs)), strata, [p.group for p in pairs]))
    for f, (_, val) in enumerate(splits):
        out[val] = f
    return [out]


def build_pools(pairs: Sequence[Pair], texts: dict[str, str],
                settings: DedupeSettings = DedupeSettings(), background: bool = False,
                dates: dict[str, datetime] | None = None) -> dict[str, Pool]:
    """One pool per language pair: its articles, duplicates folded, vectors of the kept copies.

    ``background``: the other pools' articles count for word rarity, as a window's off-topic ones do.
    ``dates``: publication times (our own pairs have them; SemEval's do not, so all its articles are
    of one time, and only their text decides).
    """
    pools = {}

    def art(d: str) -> Article:
        a = article(d, texts[d])
        return replace(a, published=dates[d]) if dates and d in dates else a

    everything = [art(d) for d in sorted(texts)] if background else []
    for langs in sorted({p.langs for p in pairs}):
        mine = [p for p in pairs if p.langs == langs]
        docs = sorted({d for p in mine for d in (p.a, p.b)})
        arts = [art(d) for d in docs]
        by_doc = {d: i for i, d in enumerate(docs)}
        pos = {a.id: i for i, a in enumerate(arts)}
        dup_of = list(range(len(arts)))
        best = []
        for g in duplicate_groups(arts, settings):
            best.append(pos[g[0].id])
            for m in g:
                dup_of[pos[m.id]] = pos[g[0].id]
        space = story_space([arts[i] for i in best], settings, everything)
        pools[langs] = Pool(langs, arts, by_doc, dup_of, best, space, mine)
    return pools


def pool_features(pool: Pool, pairs: Sequence[Pair]) -> dict[str, np.ndarray]:
    """Features of labelled pairs, read from the pool's vectors (a copy's features are its kept copy's)."""
    where = {a: k for k, a in enumerate(pool.best)}
    left = np.array([where[pool.dup_of[pool.by_doc[p.a]]] for p in pairs], dtype=np.int64)
    right = np.array([where[pool.dup_of[pool.by_doc[p.b]]] for p in pairs], dtype=np.int64)
    return pair_features(pool.space, left, right)


def fit_model(x: np.ndarray, y: np.ndarray, features: Sequence[str], c: float = 1.0) -> StoryModel:
    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
    lr.fit(x, y)
    return StoryModel(tuple(features), tuple(float(w) for w in lr.coef_[0]), float(lr.intercept_[0]), 0.5)


def story_of(pool: Pool, scored: ScoredPairs, threshold: float,
             settings: DedupeSettings = DedupeSettings()) -> np.ndarray:
    """Story number of every article of the pool (copies share their kept copy's story)."""
    kept = np.empty(len(pool.best), dtype=np.int64)
    index = {id(a): k for k, a in enumerate(scored.articles)}
    for s, group in enumerate(link_stories(scored, replace(settings, same_story=threshold))):
        for a in group:
            kept[index[id(a)]] = s
    where = {a: k for k, a in enumerate(pool.best)}
    return np.array([kept[where[pool.dup_of[i]]] for i in range(len(pool.articles))])


def count(pool: Pool, story: np.ndarray, pairs: Iterable[Pair]) -> np.ndarray:
    """[tp, fp, fn] of pairs predicted "same" when both articles are in one story."""
    out = np.zeros(3, dtype=np.int64)
    for p in pairs:
        together = story[pool.by_doc[p.a]] == story[pool.by_doc[p.b]]
        out += (p.same and together, (not p.same) and together, p.same and not together)
    return out


def prf(c: np.ndarray) -> tuple[float, float, float]:
    tp, fp, fn = (int(v) for v in c)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def scored(pool: Pool, model: StoryModel, settings: DedupeSettings) -> ScoredPairs:
    return scored_pairs([pool.articles[i] for i in pool.best], pool.space, settings, model)


def choose_threshold(pools: dict[str, Pool], train: set[int], model: StoryModel, settings: DedupeSettings,
                     langs: Iterable[str]) -> float:
    """The linkage threshold with the best pair F1 over the training pairs (summed over language pairs)."""
    totals = {t: np.zeros(3, dtype=np.int64) for t in THRESHOLDS}
    for code in langs:
        pool = pools[code]
        mine = [p for p in pool.pairs if p.group in train]
        if not mine:
            continue
        s = scored(pool, model, settings)
        for t in THRESHOLDS:
            totals[t] += count(pool, story_of(pool, s, t, settings), mine)
    return max(THRESHOLDS, key=lambda t: (prf(totals[t])[2], -abs(t - 0.5)))


def cross_validate(pools: dict[str, Pool], features: Sequence[str] = FEATURES, k: int = 5, seed: int = 0,
                   train_langs: Iterable[str] | None = None, eval_langs: Sequence[str] = TARGETS,
                   only_fold: int | None = None, c: float = 1.0,
                   settings: DedupeSettings = DedupeSettings(),
                   developing: Sequence[str] | None = DEVELOPING) -> dict[str, dict]:
    """Grouped k-fold CV; per language pair the summed [tp, fp, fn] and the thresholds chosen.

    ``developing``: the weak tier's features, its model fitted on the same training folds (None: the
    weak tier reads the pair model's probability)."""
    group_fold = {}
    for part in ([c for c in sorted(pools) if c != OWN], [OWN]):  # our own pairs' folds apart: SemEval's stay
        pairs = [p for code in part if code in pools for p in pools[code].pairs]
        if pairs:
            group_fold.update({p.group: int(f) for p, f in zip(pairs, folds(pairs, k, seed)[0])})
    train_langs = set(train_langs or pools)
    feats = {code: pool_features(pools[code], pools[code].pairs) for code in pools}
    results: dict[str, dict] = {code: {"counts": np.zeros(3, dtype=np.int64), "thresholds": [], "errors": []}
                                for code in eval_langs}
    for f in range(k) if only_fold is None else (only_fold,):
        train = {g for g, ff in group_fold.items() if ff != f}
        xs, ys = [], []
        for code in sorted(train_langs):
            pool = pools[code]
            keep = np.array([p.group in train for p in pool.pairs])
            xs.append(np.column_stack([feats[code][n] for n in features])[keep])
            ys.append(np.array([p.same for p in pool.pairs])[keep])
        model = fit_model(np.vstack(xs), np.concatenate(ys), features, c)
        if developing is not None:
            weak = fit_model(np.vstack([np.column_stack([feats[code][n] for n in developing])[
                np.array([p.group in train for p in pools[code].pairs])] for code in sorted(train_langs)]),
                np.concatenate(ys), developing, c)
            model = replace(model, developing=replace(weak, threshold=0.0))
        threshold = choose_threshold(pools, train, model, settings, sorted(train_langs & {*TARGETS, OWN}))
        model = replace(model, threshold=threshold)
        for code in eval_langs:
            pool = pools[code]
            val = [p for p in pool.pairs if group_fold[p.group] == f]
            story = story_of(pool, scored(pool, model, settings), threshold, settings)
            results[code]["counts"] += count(pool, story, val)
            results[code]["thresholds"].append(threshold)
            results[code]["errors"] += [(p, f) for p in val
                                        if p.same != (story[pool.by_doc[p.a]] == story[pool.by_doc[p.b]])]
    return results


def tfidf_baseline(pools: dict[str, Pool], k: int = 5, seed: int = 0,
                   eval_langs: Sequence[str] = TARGETS) -> dict[str, np.ndarray]:
    """One TF-IDF cosine, single-link unions; threshold chosen on the training folds per language pair."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    pairs = [p for code in sorted(pools) for p in pools[code].pairs]
    fold_of = folds(pairs, k, seed)[0]
    group_fold = {p.group: int(f) for p, f in zip(pairs, fold_of)}
    out = {}
    for code in eval_langs:
        pool = pools[code]
        docs = [f"{a.title}. {a.title}. {a.text}" for a in pool.articles]
        v = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(docs)
        cos = (v @ v.T).toarray()

        def stories(t: float, cos: np.ndarray = cos) -> np.ndarray:  # this language's cosines, bound now
            g = _Groups(len(cos))
            for i, j in zip(*np.nonzero(np.triu(cos, 1) >= t)):
                g.union(int(i), int(j))
            return np.array([g.find(i) for i in range(len(cos))])

        total = np.zeros(3, dtype=np.int64)
        grid = np.round(np.arange(0.05, 0.9, 0.025), 3)
        for f in range(k):
            train = [p for p in pool.pairs if group_fold[p.group] != f]
            val = [p for p in pool.pairs if group_fold[p.group] == f]
            best = max(grid, key=lambda t: prf(count(pool, stories(t), train))[2])
            total += count(pool, stories(best), val)
        out[code] = total
    return out


BEFORE = "180f5ad"  # the last commit whose story grouping was one TF-IDF cosine ≥ 0.25 with single-link unions


def before(pools: dict[str, Pool], eval_langs: Sequence[str] = TARGETS) -> dict[str, np.ndarray]:
    """The story grouping this model replaced (``BEFORE``'s briefing/dedupe.py), untuned, on every pair."""
    import importlib.util
    import subprocess
    import tempfile

    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(["git", "show", f"{BEFORE}:briefing/dedupe.py"], cwd=root, capture_output=True,
                            text=True, check=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location("dedupe_before", f.name)
    old = importlib.util.module_from_spec(spec)
    sys.modules["dedupe_before"] = old  # dataclasses look their module up
    spec.loader.exec_module(old)
    out = {}
    for code in eval_langs:
        pool = pools[code]
        kept = [pool.articles[i] for i in pool.best]
        pos = {a.id: i for i, a in enumerate(pool.articles)}
        story = np.empty(len(pool.articles), dtype=np.int64)
        for s, group in enumerate(old.story_groups(kept, old.DedupeSettings())):
            for a in group:
                story[pos[a.id]] = s
        story = story[pool.dup_of]
        out[code] = count(pool, story, pool.pairs)
    return out


def _row(name: str, c: np.ndarray) -> str:
    p, r, f1 = prf(c)
    return f"{name:<10} P={p:.3f} R={r:.3f} F1={f1:.3f}  (tp {c[0]}, fp {c[1]}, fn {c[2]})"


@click.group()
def main() -> None:
    pass


@main.command()
@click.option("--features", default=",".join(FEATURES), show_default=True)
@click.option("--train-langs", default=",".join(TARGETS), show_default=True,
              help="Comma-separated language pairs to train on.")
@click.option("--folds", "k", default=5, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("-c", "c", default=1.0, show_default=True, help="Inverse L2 strength of the regression.")
@click.option("--developing", default=",".join(DEVELOPING), show_default=True,
              help="The weak tier's features ('': the pair model's probability).")
@click.option("--baselines/--no-baselines", default=True)
@click.option("--own/--no-own", "use_own", default=False,
              help="Also our own Russian pairs' train split (bench/labels/ru-story-pairs.jsonl): trained on, "
                   "and reported as ru-own; their folds are drawn apart, so SemEval's are the same either way.")
@click.option("--seeds", default=1, show_default=True, help="Fold seeds from --seed on, counts summed.")
def cv(features: str, train_langs: str, k: int, seed: int, c: float, developing: str, baselines: bool,
       use_own: bool, seeds: int) -> None:
    """Grouped k-fold cross-validation, per language pair."""
    started = time.perf_counter()
    train = train_langs.split(",")
    pairs, texts = load_pairs(langs={*train, *TARGETS})
    dates: dict[str, datetime] = {}
    if use_own:
        mine, own_texts, dates = load_own(split="train")
        pairs, texts, train = [*pairs, *mine], {**texts, **own_texts}, [*train, OWN]
    pools = build_pools(pairs, texts)
    shown = (*TARGETS, OWN) if use_own else TARGETS
    print("pairs: " + ", ".join(f"{code} {len(p.pairs)} ({sum(x.same for x in p.pairs)} same)"
                                 for code, p in pools.items() if code in shown)
          + f"; all {len(pairs)} [{time.perf_counter() - started:.0f} s]")
    res: dict[str, dict] = {}
    for s in range(seed, seed + seeds):
        one = cross_validate(pools, features.split(","), k, s, train, c=c, eval_langs=shown,
                             developing=developing.split(",") if developing else None)
        for code, r in one.items():
            res.setdefault(code, {"counts": np.zeros(3, dtype=np.int64), "thresholds": [], "errors": []})
            res[code]["counts"] += r["counts"]
            res[code]["thresholds"] += r["thresholds"]
            res[code]["errors"] += r["errors"]
    base = tfidf_baseline(pools, k, seed) if baselines else {}
    old = before(pools) if baselines else {}
    for code in shown:
        print(f"{code}: thresholds chosen on the training folds {[float(t) for t in res[code]['thresholds']]}")
        print("  " + _row("model CV", res[code]["counts"]))
        if baselines and code in TARGETS:
            print("  " + _row("tfidf CV", base[code]))
            print("  " + _row("before", old[code]))
    if use_own:
        print("ru-own errors (train split, CV): " + ", ".join(
            sorted({f"{p.a}/{p.b}{'+' if p.same else '-'}" for p, _ in res[OWN]["errors"]})))
    print(f"[{time.perf_counter() - started:.0f} s]")


@main.command()
@click.option("--seeds", default=5, show_default=True, help="Repeat the k-fold split with this many seeds.")
def ablation(seeds: int) -> None:
    """What each change did: grouped 5-fold CV (counts summed over seeds), one row per step."""
    started = time.perf_counter()
    pairs, texts = load_pairs(langs=TARGETS)
    pools = build_pools(pairs, texts)
    plain = replace(DedupeSettings(), developing=1.0)  # no weaker links inside dense stories
    steps: list[tuple[str, Sequence[str], DedupeSettings, Sequence[str] | None]] = [
        ("words only (jieba, Snowball stems), Louvain", ("words",), plain, None),
        ("+ keys (names, numbers, dates, lexicon)", ("words", "keys"), plain, None),
        ("+ cross-script terms", DEVELOPING, plain, None),
        ("+ developing stories (one model for both tiers)", DEVELOPING, DedupeSettings(), None),
        ("+ sqrt keys, the weak tier its own model (final)", FEATURES, DedupeSettings(), DEVELOPING),
    ]
    totals = {code: np.zeros(3, dtype=np.int64) for code in TARGETS}
    for seed in range(seeds):
        for code, c in tfidf_baseline(pools, seed=seed).items():
            totals[code] += c
    print(f"{'':<48}" + "".join(f"{code:>9}" for code in TARGETS))
    print(f"{'before (cosine 0.25, untuned, training pairs)':<48}"
          + "".join(f"{prf(c)[2]:9.3f}" for c in before(pools).values()))
    print(f"{'TF-IDF cosine, single link, CV threshold':<48}" + "".join(f"{prf(totals[c])[2]:9.3f}" for c in TARGETS))
    for name, feats, settings, weak in steps:
        totals = {code: np.zeros(3, dtype=np.int64) for code in TARGETS}
        for seed in range(seeds):
            res = cross_validate(pools, feats, seed=seed, train_langs=TARGETS, settings=settings, developing=weak)
            for code in TARGETS:
                totals[code] += res[code]["counts"]
        print(f"{name:<48}" + "".join(f"{prf(totals[c])[2]:9.3f}" for c in TARGETS), flush=True)
    print(f"[{time.perf_counter() - started:.0f} s]")


@main.command()
@click.option("--features", default=",".join(FEATURES), show_default=True)
@click.option("--developing", default=",".join(DEVELOPING), show_default=True,
              help="The weak tier's features ('': the pair model's probability).")
@click.option("-c", "c", default=1.0, show_default=True)
def fit(features: str, developing: str, c: float) -> None:
    """Fit on every training pair (both tiers); the threshold as chosen in CV; write the model file."""
    pairs, texts = load_pairs(langs=TARGETS)
    pools = build_pools(pairs, texts)
    y = np.concatenate([[q.same for q in p.pairs] for p in pools.values()])

    def fitted(names: list[str]) -> StoryModel:
        x = np.vstack([np.column_stack([pool_features(p, p.pairs)[n] for n in names]) for p in pools.values()])
        return fit_model(x, y, names, c)

    weak = fitted(developing.split(",")) if developing else None
    model = replace(fitted(features.split(",")), developing=weak and replace(weak, threshold=0.0))
    # rounded as written, so that the threshold is chosen for the model the file holds
    model = replace(model, weights=tuple(round(w, 4) for w in model.weights), bias=round(model.bias, 4),
                    developing=weak and StoryModel(weak.features, tuple(round(w, 4) for w in weak.weights),
                                                   round(weak.bias, 4), 0.0))
    threshold = choose_threshold(pools, {q.group for q in pairs}, model, DedupeSettings(), TARGETS)
    out: dict = {"features": list(model.features), "weights": list(model.weights), "bias": model.bias,
                 "threshold": float(threshold)}
    if model.developing is not None:
        out["developing"] = {"features": list(model.developing.features),
                             "weights": list(model.developing.weights), "bias": model.developing.bias}
    out["trained"] = (f"bench/story_model.py fit on the {len(pairs)} en-en, ru-ru, zh-zh and zh-en "
                      f"SemEval-2022 Task 8 training pairs, C={c}")
    MODEL_PATH.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
