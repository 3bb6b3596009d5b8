"""Duplicates and stories: which articles say the same thing, and which tell the same event.

Two levels, because the reader wants each story once and every outlet named:

* **duplicates** — one text published more than once: the same canonical URL,
  the same text once case, punctuation and spacing are folded, or a reprint
  with light edits (MinHash of word shingles — of characters in Chinese — LSH
  candidates as datasketch's, estimated Jaccard ≥ ``near_duplicate``). The copy
  kept is the longest, then the earliest; the others are "also published by".
* **stories** — different texts about one event, in one language or several
  (English, Russian, Chinese): a pair model (``StoryModel``, logistic weights in
  ``data/story_model.json``, fitted by ``bench/story_model.py`` with grouped
  cross-validation on the SemEval-2022 Task 8 training pairs) reads the TF-IDF
  cosine of the two articles' words (``briefing.words``: jieba words, Snowball
  stems) and of their cross-language keys (names, numbers, dates, lexicon
  concepts such as Putin = Путин = 普京), for articles published within
  ``story_days`` of each other. Pairs at ``same_story`` or more link, weaker
  ones (``developing``, by the weak tier's own weights) when the two share many
  such neighbours (a developing story many outlets follow), and the stories are the Louvain communities of
  the links, so a chain of pairs does not merge everything it touches; a big
  developing story then takes in a report left alone that several of its
  weak pairs point into. Candidate pairs share distinctive words or keys, so
  the work grows with the number of articles, not its square.

Pure: lists of Articles in, groups out.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import scipy.sparse as sp

from briefing.types import Article
from briefing.urls import canonical_url, is_written_http_url
from briefing.words import HAN, analyse


@dataclass(frozen=True)
class DedupeSettings:
    """Thresholds; config's ``dedupe:`` section fills them."""

    near_duplicate: float = 0.5  # estimated Jaccard of word shingles
    shingle_words: int = 5
    num_perm: int = 64
    same_story: float = 0.625  # the pair model's probability (data/story_model.json: its threshold)
    developing: float = 0.2  # ... or this, inside a dense developing story
    developing_support: int = 8  # ... where the two share this many neighbours linked as strongly (same script)
    resolution: float = 0.5  # Louvain's: under 1, a developing story's loosely knit reports stay one story
    developing_size: int = 16  # a story this big takes in an article left alone that has
    developing_attach: int = 2  # ... this many pairs at ``developing`` or more with its reports (same script)
    story_days: float = 3.0
    top_terms: int = 24  # each article's most distinctive words (and keys), for finding candidate pairs
    shared_terms: int = 3  # ... of which a candidate pair shares this many (one key across scripts)
    block_max_docs: int = 64  # a word among the top words of more articles makes no candidates: too common
    background_max_docs: int = 2000  # an evenly spaced sample of the background is enough for word rarity


# --- duplicates ----------------------------------------------------------------------

_WORDS = re.compile(r"\w+")
_HAN_CHAR = re.compile(f"[{HAN}]")
_HAN_SPLIT = re.compile(f"[{HAN}]|[^{HAN}]+")
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5],
                dtype=np.uint64)


def fingerprint(text: str) -> str:
    """Hash of the text with case (casefold: ß = SS), punctuation and spacing folded away."""
    return _fingerprint_of_words(_folded_words(text))


def _folded_words(text: str) -> list[str]:
    """The words with case folded away; upper-cased first, because casefold alone keeps Turkish
    dotless ı apart from i, though both upper-case to I. Chinese, written without spaces, counts
    each Han character as a word, so its shingles are character n-grams (a run of characters up
    to the next punctuation mark would be one "word", and one edit would change all of it)."""
    words = _WORDS.findall(text.upper().casefold())
    if _HAN_CHAR.search(text) is None:
        return words
    return [part for w in words for part in (_HAN_SPLIT.findall(w) if _HAN_CHAR.search(w) else (w,))]


def _dedupe_words(article: Article, settings: DedupeSettings) -> list[str]:
    """The words that identify the text; a headline with a dek (or alone) counts its title too,
    or every headline-only entry would be one 'text' and two deks of one line would be a few shingles."""
    words = _folded_words(article.text)
    if len(words) < 4 * settings.shingle_words:
        return _folded_words(article.title) + words
    return words


def _fingerprint_of_words(words: list[str]) -> str:
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()


def shingle_hashes(text: str, size: int = 5) -> np.ndarray:
    """Stable 32-bit hashes of the text's word ``size``-grams (the same in every process)."""
    return _shingles_of_words(_folded_words(text), size)


def _shingles_of_words(words: list[str], size: int) -> np.ndarray:
    if not words:
        return np.zeros(0, dtype=np.uint64)
    # each word's CRC-32 (of its UTF-8) afresh: cheaper than a word → hash cache, and no state that grows with
    # the vocabulary (the cache's look-ups slowed as it outgrew the CPU caches)
    wh = np.fromiter(map(zlib.crc32, map(str.encode, words)), dtype=np.uint64, count=len(words))
    k = min(size, len(words), len(_MIX))
    n = len(words) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            acc = acc * np.uint64(31) + wh[j:j + n] * _MIX[j]
    return np.unique(acc >> np.uint64(32))


@dataclass(frozen=True)
class _Permutations:
    """datasketch's seeded affine32 permutations (h → a·h + b mod 2³²) and its empty signature."""

    a: np.ndarray
    b: np.ndarray
    empty: np.ndarray


@functools.lru_cache(maxsize=8)
def _permutations(num_perm: int) -> _Permutations:
    """The permutations every signature shares, drawn once (drawing them costs more than hashing).

    Drawn as datasketch's ``MinHash(num_perm, seed=1)`` draws its affine32 ones (odd multipliers),
    here rather than by a template MinHash: importing datasketch (which imports scipy.integrate)
    costs a stage command more start-up than all of its duplicates work on a small batch.
    tests/test_datasketch.py checks they are datasketch's.
    """
    gen = np.random.RandomState(1)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return _Permutations(a, b, np.full(num_perm, np.iinfo(np.uint32).max, dtype=np.uint32))


_LSH_BANDS = {(0.5, 64): (14, 4)}  # MinHashLSH's optimal (b, r) of the defaults (tests/test_datasketch.py)


@functools.lru_cache(maxsize=8)
def _bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """``MinHashLSH(threshold, num_perm)``'s (bands, rows); datasketch is imported only for other settings."""
    if (threshold, num_perm) in _LSH_BANDS:
        return _LSH_BANDS[threshold, num_perm]
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)  # MurmurHash3's 32-bit finalizer, as datasketch pre-mixes


def _minhash_values(hashes: np.ndarray, num_perm: int) -> np.ndarray:
    """What ``MinHash.update_batch`` computes (datasketch's affine32 scheme), in NumPy, no call per value."""
    p = _permutations(num_perm)
    if not len(hashes):
        return p.empty.copy()
    hv = _fmix32(hashes.astype(np.uint32))
    with np.errstate(over="ignore"):
        values: np.ndarray = np.minimum(p.empty, (hv[:, None] * p.a + p.b).min(axis=0))
    return values


_SIGNATURE_BATCH = 1000  # documents whose words are held at once (a 1M window's words would not fit)
_SHINGLE_CHUNK = 8192  # shingles permuted at a time: (num_perm × chunk) uint32 stays in the CPU caches


def _signatures(docs: Sequence[list[str]], size: int, num_perm: int) -> np.ndarray:
    """``_minhash_values(_shingles_of_words(words, size), num_perm)`` of each document, for many at once:
    one CRC-32 pass over all their words, their shingles hashed and permuted as one array, each
    document's minimum by ``np.minimum.reduceat`` (a minimum needs no ``np.unique`` first). Short
    documents (fewer words than a shingle) take the one-document path."""
    p = _permutations(num_perm)
    sigs = np.empty((len(docs), num_perm), dtype=np.uint32)
    k = min(size, len(_MIX))
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    for i in np.flatnonzero(lengths < k).tolist():
        sigs[i] = _minhash_values(_shingles_of_words(docs[i], size), num_perm)
    full = np.flatnonzero(lengths >= k)
    if not len(full):
        return sigs
    words = list(itertools.chain.from_iterable(docs[i] for i in full.tolist()))
    wh = np.fromiter(map(zlib.crc32, map(str.encode, words)), dtype=np.uint64, count=len(words))
    del words
    count = lengths[full] - k + 1  # shingles of each document
    word_at = np.zeros(len(full), dtype=np.int64)
    np.cumsum(lengths[full][:-1], out=word_at[1:])
    first = np.zeros(len(full), dtype=np.int64)
    np.cumsum(count[:-1], out=first[1:])
    pos = np.arange(int(count.sum()), dtype=np.int64) + np.repeat(word_at - first, count)
    acc = np.zeros(len(pos), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            acc = acc * np.uint64(31) + wh[pos + j] * _MIX[j]
    del pos, wh
    hv = _fmix32((acc >> np.uint64(32)).astype(np.uint32))
    del acc
    # documents in chunks of about _SHINGLE_CHUNK shingles (a long document is a chunk of its own)
    bounds = np.searchsorted(first, np.arange(0, len(hv), _SHINGLE_CHUNK), side="right") - 1
    bounds = np.unique(np.r_[bounds, len(full)])
    with np.errstate(over="ignore"):
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            end = int(first[hi]) if hi < len(full) else len(hv)
            part = p.a[:, None] * hv[None, int(first[lo]):end] + p.b[:, None]  # permutations × shingles
            sigs[full[lo:hi]] = np.minimum.reduceat(part, first[lo:hi] - first[lo], axis=1).T
    return sigs


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch pre-mixes each hash."""
    s1, m1, s2, m2, s3 = (np.uint32(c) for c in _FMIX32)
    with np.errstate(over="ignore"):
        hv = hv ^ (hv >> s1)
        hv = hv * m1
        hv = hv ^ (hv >> s2)
        hv = hv * m2
        out: np.ndarray = hv ^ (hv >> s3)
    return out


class _Groups:
    """Union-find over indexes: groups merge when any two members link."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return list(out.values())


def duplicate_groups(articles: Sequence[Article], settings: DedupeSettings = DedupeSettings()) -> list[list[Article]]:
    """Group copies of one text; each group lists the copy to keep first.

    Links: same canonical URL, same folded text, the same file or URL seen
    again with edits (a new version), or MinHash-estimated Jaccard ≥
    ``near_duplicate``. Kept copy: the longest text, then the earliest seen.
    Order of groups follows the first member's position in ``articles``.
    """
    n = len(articles)
    groups = _Groups(n)
    first: dict[tuple[str, ...], int] = {}
    sigs = np.empty((n, settings.num_perm), dtype=np.uint32)
    for start in range(0, n, _SIGNATURE_BATCH):
        batch = []
        for i, a in enumerate(articles[start:start + _SIGNATURE_BATCH], start):
            words = _dedupe_words(a, settings)  # once, for the fingerprint and the shingles
            batch.append(words)
            keys = [("fp", _fingerprint_of_words(words)), ("loc", a.source, a.location)]
            if is_written_http_url(a.location):
                keys.append(("url", canonical_url(a.location)))
            for key in keys:
                if key in first:
                    groups.union(first[key], i)
                else:
                    first[key] = i
        sigs[start:start + len(batch)] = _signatures(batch, settings.shingle_words, settings.num_perm)
    for i, j in _near_pairs(sigs, settings.near_duplicate):
        groups.union(i, j)
    out = []
    for members in sorted(groups.groups(), key=min):
        ranked = sorted((articles[i] for i in members),
                        key=lambda a: (-len(a.text), a.first_seen, a.id))
        out.append(ranked)
    return out


def _near_pairs(sigs: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Pairs (i < j) with estimated Jaccard ≥ threshold among those sharing an LSH band.

    The same bands as ``MinHashLSH(threshold, num_perm)`` (b bands of r rows),
    bucketed by sorting each band instead of a hash table fed one article at a time.
    """
    n, num_perm = sigs.shape
    if n < 2:
        return []
    bands, rows = _bands(threshold, num_perm)
    left, right = [], []
    for band in range(bands):
        _, bucket = np.unique(sigs[:, band * rows:(band + 1) * rows], axis=0, return_inverse=True)
        order = np.argsort(bucket.ravel(), kind="stable")
        ordered = bucket.ravel()[order]
        bounds = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
        starts, ends = np.append(0, bounds), np.append(bounds, n)
        for s, e in zip(*(x[ends - starts > 1].tolist() for x in (starts, ends))):
            x, y = np.triu_indices(e - s, 1)
            left.append(order[s:e][x])
            right.append(order[s:e][y])
    if not left:
        return []
    i, j = np.concatenate(left), np.concatenate(right)
    i, j = np.minimum(i, j), np.maximum(i, j)
    key = np.unique(i.astype(np.int64) * n + j)
    i, j = key // n, key % n
    agree = (sigs[i] == sigs[j]).sum(axis=1) / num_perm
    keep = agree >= threshold
    return list(zip(i[keep].tolist(), j[keep].tolist()))


# --- stories ---------------------------------------------------------------------------

@dataclass(frozen=True)
class StoryModel:
    """How sure a pair of articles is one story: logistic weights over the pair's features.

    Fitted by ``bench/story_model.py`` on the shared SemEval-2022 Task 8 training pairs, its
    settings chosen by grouped cross-validation (the figures are in bench/README.md); shipped as
    ``data/story_model.json``. ``threshold`` is the probability at which a pair links, the
    default of ``DedupeSettings.same_story`` (a test keeps the two equal). ``developing``: the
    weak tier's model, fitted on the same pairs with the key cosine as it is; the pair model reads
    its square root, which ranks one event's reports better but lifts pairs that share a name or
    two, and those must not pass the ``developing`` rule of a dense window.
    """

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    developing: StoryModel | None = None  # the weak tier's own model (``developing`` pairs); None: this one

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = x @ np.asarray(self.weights, dtype=np.float64) + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def probabilities(self, feats: dict[str, np.ndarray]) -> np.ndarray:
        """The probability of each pair from its features (``pair_features``)."""
        return self.probability(np.column_stack([feats[f] for f in self.features]))


def _model_of(raw: dict[str, Any]) -> StoryModel:
    weak = raw.get("developing")
    return StoryModel(tuple(raw["features"]), tuple(float(w) for w in raw["weights"]), float(raw["bias"]),
                      float(raw.get("threshold", 0.0)), _model_of(weak) if weak else None)


@functools.lru_cache(maxsize=1)
def story_model() -> StoryModel:
    """The shipped pair model (package data)."""
    return _model_of(json.loads(resources.files("briefing").joinpath("data/story_model.json")
                                .read_text(encoding="utf-8")))


@dataclass(frozen=True)
class StorySpace:
    """The articles as vectors: their words (title twice, then text) and their cross-language keys."""

    words: sp.csr_matrix
    keys: sp.csr_matrix
    scripts: tuple[str, ...]


class _TermCounts:
    """Term counts of documents fed a batch at a time: (document, term hash, count), sorted.

    Terms are told apart by their CRC-32, in NumPy rather than one dictionary look-up per
    term in Python (this is most of the cost of grouping stories), and a batch's word
    lists can be dropped once counted, which keeps a 100k window's memory down.
    """

    def __init__(self) -> None:
        self.docs = 0
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (doc, hash, count) per batch

    def add(self, batch: Sequence[Sequence[list[str]]]) -> None:
        """One batch of documents, each given as the lists of terms it is made of."""
        lengths = np.fromiter((sum(map(len, d)) for d in batch), dtype=np.int64, count=len(batch))
        total = int(lengths.sum())
        terms = list(itertools.chain.from_iterable(itertools.chain.from_iterable(batch)))
        # CRC-32, the same in every process (Python's str hash is seeded per process, and ties among
        # an article's top terms would fall another way in a Dask worker); a few collisions among
        # a million terms, for half the memory of 64 bits. Each distinct term is hashed once:
        # news vocabularies repeat, and a dictionary look-up costs less than encoding and hashing.
        table = dict.fromkeys(terms)
        known = _TERM_HASHES
        for term in table:
            value = known.get(term)
            if value is None:
                value = known[term] = zlib.crc32(_UTF8(term))
            table[term] = value
        if len(known) > 500_000:  # a long-lived process keeps at most this many (about 50 MiB)
            known.clear()
        hashes = np.fromiter(map(table.__getitem__, terms), dtype=np.int64, count=total)
        first = self.docs
        self.docs += len(batch)
        if not total:
            return
        key = np.sort(np.repeat(np.arange(len(batch), dtype=np.int64), lengths) << 32 | hashes)
        start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        counts = np.diff(np.r_[start, total]).astype(np.float32)
        key = key[start]
        self.parts.append(((key >> 32).astype(np.int32) + first, (key & 0xFFFFFFFF).astype(np.uint32), counts))

    def tfidf(self, n: int) -> sp.csr_matrix:
        """L2-normalised TF-IDF (sublinear tf, smoothed idf, as scikit-learn's) of the first ``n``
        documents, the idf counting all of them; once, as the counts are let go. Columns are in
        hash order: a row's sums run in the same order whatever the order of the articles."""
        if not self.parts:
            return sp.csr_matrix((n, 1), dtype=np.float32)
        doc = np.concatenate([p[0] for p in self.parts])
        counts = np.concatenate([p[2] for p in self.parts])
        hashes = np.concatenate([p[1] for p in self.parts])
        self.parts = []
        terms = np.unique(hashes)
        column = np.searchsorted(terms, hashes).astype(np.int32)
        del hashes
        df = np.bincount(column, minlength=len(terms))
        idf = (np.log((1 + self.docs) / (1 + df)) + 1).astype(np.float32)
        mine = doc < n
        doc, column, counts = doc[mine], column[mine], counts[mine]
        data = (1 + np.log(counts)) * idf[column]
        norms = np.sqrt(np.bincount(doc, weights=data.astype(np.float64) ** 2, minlength=n))
        norms[norms == 0] = 1
        data = (data / norms[doc]).astype(np.float32)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(doc, minlength=n), out=indptr[1:])
        return sp.csr_matrix((data, column, indptr), shape=(n, len(terms)))


_BATCH = 5000  # articles analysed at a time
_TERM_HASHES: dict[str, int] = {}  # term → CRC-32, kept across calls (a window's terms recur in the next)
_UTF8 = functools.partial(str.encode, encoding="utf-8", errors="surrogatepass")


def story_space(articles: Sequence[Article], settings: DedupeSettings = DedupeSettings(),
                background: Sequence[Article] = ()) -> StorySpace:
    """Vectors of ``articles``; word and key rarity also counts an even sample of ``background``."""
    n = len(articles)
    known = {a.id for a in articles}
    others = [a for a in background if a.id not in known]
    step = max(1, -(-len(others) // settings.background_max_docs))  # ceil: at most background_max_docs
    everything = [*articles, *others[::step]]
    words, keys, scripts = _TermCounts(), _TermCounts(), []
    for start in range(0, len(everything), _BATCH):
        parts = [(analyse(a.title), analyse(a.text)) for a in everything[start:start + _BATCH]]
        words.add([(t.words, t.words, x.words) for t, x in parts])
        keys.add([(t.keys, x.keys) for t, x in parts])
        scripts += [x.script or t.script for t, x in parts]
    return StorySpace(words.tfidf(n), keys.tfidf(n), tuple(scripts[:n]))


def _cosines(m: sp.csr_matrix, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Each pair's dot product, the sum that ``m[left].multiply(m[right]).sum(axis=1)`` makes (the nonzero
    float32 products of the shared terms in column order, added by ``np.add.reduceat`` as scipy's row sum
    adds them), without copying two rows per pair: each left row is spread once into a dense vector that
    its partners' entries read (a term the left row lacks reads 0, and zero products are dropped)."""
    out = np.zeros(len(left), dtype=np.float32)
    if not len(left):
        return out.astype(np.float64)
    indptr, indices, data = m.indptr, m.indices, m.data
    size = np.diff(indptr)
    order = np.argsort(left, kind="stable")
    lefts, rights = left[order], right[order]
    bounds = np.flatnonzero(np.r_[True, lefts[1:] != lefts[:-1], True])
    dense = np.zeros(m.shape[1], dtype=np.float32)
    products: list[np.ndarray] = []
    held, first = 0, 0
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        i = int(lefts[lo])
        mine = indices[indptr[i]:indptr[i + 1]]
        dense[mine] = data[indptr[i]:indptr[i + 1]]
        partners = rights[lo:hi]
        count = size[partners]
        at = np.zeros(len(partners), dtype=np.int64)
        np.cumsum(count[:-1], out=at[1:])
        entry = np.arange(int(at[-1] + count[-1]), dtype=np.int64) + np.repeat(indptr[partners] - at, count)
        products.append(dense[indices[entry]] * data[entry])
        dense[mine] = 0
        held += len(entry)
        if held >= _COSINE_BATCH or hi == len(lefts):
            values = np.concatenate(products)
            pair = np.repeat(np.arange(hi - first), size[rights[first:hi]])
            kept = values != 0
            values, pair = values[kept], pair[kept]
            if len(values):
                starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
                out[order[first + pair[starts]]] = np.add.reduceat(values, starts)
            products, held, first = [], 0, hi
    return out.astype(np.float64)


_COSINE_BATCH = 1 << 21  # pair entries summed at a time


def pair_features(space: StorySpace, left: np.ndarray, right: np.ndarray) -> dict[str, np.ndarray]:
    """The features the models weigh, for the pairs (left[k], right[k]): word cosine, key cosine and its
    square root (each further shared name adds less: two reports of one event share many, two of
    one place a few), whether the two are in different scripts, and the key cosine of those that are."""
    words = _cosines(space.words, left, right)
    keys = _cosines(space.keys, left, right)
    scripts = np.array(space.scripts)
    cross = (scripts[left] != scripts[right]).astype(np.float64)
    return {"words": words, "keys": keys, "sqrt_keys": np.sqrt(np.maximum(keys, 0.0)), "cross": cross,
            "cross_keys": cross * keys}


def pair_probability(space: StorySpace, left: np.ndarray, right: np.ndarray,
                     model: StoryModel | None = None) -> np.ndarray:
    """The model's probability that each pair is one story."""
    model = model or story_model()
    if not len(left):
        return np.zeros(0)
    return model.probabilities(pair_features(space, left, right))


def _top_terms(vectors: sp.csr_matrix, top_terms: int, max_df: int) -> sp.csr_matrix:
    """Each row's ``top_terms`` heaviest terms as a 0/1 matrix, less terms that top more than ``max_df`` rows."""
    n, m = vectors.shape
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(vectors.indptr))
    # by row, heaviest first (weights are in (0, 1]); a stable sort keeps ties in term order
    order = np.argsort(rows + (1.0 - vectors.data.astype(np.float64)) * 0.5, kind="stable")
    place = np.arange(len(order)) - vectors.indptr[rows[order]]
    chosen = order[place < top_terms]
    rows_a, cols_a = rows[chosen], vectors.indices[chosen]
    df = np.bincount(cols_a, minlength=m)
    usable = (df[cols_a] >= 2) & (df[cols_a] <= max_df)
    return sp.csr_matrix((np.ones(int(usable.sum()), dtype=np.int32), (rows_a[usable], cols_a[usable])),
                         shape=(n, m))


def _candidate_pairs(top: sp.csr_matrix, shared_terms: int = 2, rows: np.ndarray | None = None,
                     cols: np.ndarray | None = None, chunk: int = 20_000) -> np.ndarray:
    """Pairs (i < j), as keys i * n + j, whose rows of ``top`` share at least ``shared_terms`` terms.

    A sparse product counts shared terms in C, chunked by rows, instead of visiting
    every pair of a posting list in Python. ``rows``/``cols``: only pairs of a row
    from one subset and a row from the other.
    """
    n = top.shape[0]
    whole = rows is None  # all rows: slices of ``top`` instead of copies of its rows
    rows = np.arange(n) if rows is None else rows
    right = top.T.tocsr() if cols is None else top[cols].T.tocsr()
    cols = np.arange(n) if cols is None else cols
    out = [np.zeros(0, dtype=np.int64)]
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        shared = ((top[start:start + chunk] if whole else top[part]) @ right).tocoo()
        i, j = part[shared.row].astype(np.int64), cols[shared.col].astype(np.int64)
        keep = (shared.data >= shared_terms) & (i != j)
        i, j = i[keep], j[keep]
        out.append(np.minimum(i, j) * n + np.maximum(i, j))
    return np.unique(np.concatenate(out))


def story_candidates(space: StorySpace, settings: DedupeSettings = DedupeSettings()) -> tuple[np.ndarray, np.ndarray]:
    """Pairs worth scoring (blocking), so the work stays near-linear in the number of articles.

    Pairs that share ``shared_terms`` of their ``top_terms`` heaviest words, or of
    their heaviest keys; across scripts (a Chinese and an English article) one shared
    key is enough, because only names, numbers and lexicon concepts can be shared there.
    """
    n = space.words.shape[0]
    max_df = max(2, settings.block_max_docs)
    top_keys = _top_terms(space.keys, settings.top_terms, max_df)
    found = [_candidate_pairs(_top_terms(space.words, settings.top_terms, max_df), settings.shared_terms),
             _candidate_pairs(_top_terms(space.words, settings.top_terms // 2, max_df), settings.shared_terms - 1),
             _candidate_pairs(top_keys, settings.shared_terms)]
    scripts = np.array(space.scripts)
    kinds = sorted(set(space.scripts))
    for a, kind in enumerate(kinds):
        for other in kinds[a + 1:]:
            found.append(_candidate_pairs(top_keys, 1, np.flatnonzero(scripts == kind),
                                          np.flatnonzero(scripts == other)))
    keys = np.unique(np.concatenate(found))
    return keys // n, keys % n


def _story_edges(pairs: ScoredPairs, settings: DedupeSettings) -> np.ndarray:
    """Which scored pairs link: probability ≥ ``same_story``, or ≥ ``developing`` when both articles
    are in the same script and share ``developing_support`` neighbours they are each linked to at
    ``developing`` or more (a developing story that many outlets follow, whose reports need not all
    tell one event). Common neighbours, not each article's own degree: in a dense window two
    unrelated articles can each have many weak pairs, but seldom the same ones."""
    n = len(pairs.articles)
    strong: np.ndarray = pairs.weight >= round(settings.same_story * _SCALE)
    weak: np.ndarray = (pairs.developing >= round(settings.developing * _SCALE)) & pairs.same_script
    if settings.developing_support <= 0:
        either: np.ndarray = strong | weak
        return either
    if not weak.any():
        return strong
    left, right = pairs.left[weak], pairs.right[weak]
    ones = np.ones(2 * len(left), dtype=np.int32)
    graph = sp.csr_matrix((ones, (np.r_[left, right], np.r_[right, left])), shape=(n, n))
    shared = np.asarray(graph[left].multiply(graph[right]).sum(axis=1)).ravel()
    edges: np.ndarray = strong.copy()
    edges[np.flatnonzero(weak)[shared >= settings.developing_support]] = True
    return edges


def _communities(n: int, left: np.ndarray, right: np.ndarray, weight: np.ndarray,
                 rank: Sequence[int], resolution: float = 1.0) -> list[list[int]]:
    """Groups of the linked articles: Louvain communities (modularity) of each connected part.

    Unlike single-link unions, a chain of pairs does not make one story of everything
    it touches: a part splits where its links thin out (``resolution`` under 1 splits less: a
    developing story's reports are linked loosely, not all to each other). Nodes and links enter the graph
    in ``rank`` order (an order of the articles that does not depend on the input order)
    and Louvain's seed is fixed, so the groups do not depend on the input order either.
    """
    import networkx as nx

    parts = _Groups(n)
    for i, j in zip(left.tolist(), right.tolist()):
        parts.union(i, j)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(parts.find(i), []).append(i)
    edges: dict[int, list[tuple[int, int, int, int, int]]] = {}
    for i, j, w in zip(left.tolist(), right.tolist(), weight.tolist()):
        a, b = (i, j) if rank[i] < rank[j] else (j, i)
        edges.setdefault(parts.find(i), []).append((rank[a], rank[b], a, b, w))
    out = []
    for root, nodes in members.items():
        if len(nodes) <= 2:
            out.append(nodes)
            continue
        graph: nx.Graph[int] = nx.Graph()
        ordered = sorted(nodes, key=lambda i: rank[i])
        graph.add_nodes_from(ordered)
        graph.add_weighted_edges_from((a, b, w / _SCALE) for _, _, a, b, w in sorted(edges[root]))
        out += [sorted(c) for c in nx.community.louvain_communities(graph, weight="weight", seed=0,
                                                                              resolution=resolution)]
    return out


def story_groups(articles: Sequence[Article], settings: DedupeSettings = DedupeSettings(),
                 background: Sequence[Article] = (), model: StoryModel | None = None) -> list[list[Article]]:
    """Group distinct articles that report the same event; input order kept within and across groups.

    Articles become vectors (``story_space``: words per language, cross-language
    keys; rarity from the articles plus an even sample of ``background``, the
    window's off-topic articles, because rarity estimated on a handful of
    on-topic articles is mostly noise). Candidate pairs share distinctive words
    or keys (blocking, so the work stays near-linear); the pair model gives each
    a probability, pairs published more than ``story_days`` apart get none; pairs
    at ``same_story`` or more link (and weaker ones inside a dense developing
    story), the groups are the Louvain communities of the links, and a big
    developing story takes in the loose reports its weak pairs point to.
    """
    if len(articles) < 2:
        return [[a] for a in articles]
    space = story_space(articles, settings, background)
    return link_stories(scored_pairs(articles, space, settings, model), settings)


@dataclass(frozen=True)
class ScoredPairs:
    """Candidate pairs of ``articles`` with their probabilities (as integers), ready to be linked."""

    articles: Sequence[Article]
    left: np.ndarray
    right: np.ndarray
    weight: np.ndarray  # probability × _SCALE
    same_script: np.ndarray
    rank: list[int]
    weak: np.ndarray | None = None  # the weak tier's probability × _SCALE (None: ``weight``)

    @property
    def developing(self) -> np.ndarray:
        """The weak tier's probability of each pair × _SCALE, read against ``developing``."""
        return self.weak if self.weak is not None else self.weight


def scored_pairs(articles: Sequence[Article], space: StorySpace, settings: DedupeSettings = DedupeSettings(),
                 model: StoryModel | None = None) -> ScoredPairs:
    """Candidates within ``story_days`` of each other, each with the model's probability."""
    n = len(articles)
    left, right = story_candidates(space, settings)
    when = np.array([a.dated.timestamp() for a in articles])
    close = np.abs(when[left] - when[right]) <= settings.story_days * 86400
    left, right = left[close], right[close]
    model = model or story_model()
    feats = pair_features(space, left, right)
    weight = np.rint(model.probabilities(feats) * _SCALE).astype(np.int64)
    weak = None if model.developing is None else \
        np.rint(model.developing.probabilities(feats) * _SCALE).astype(np.int64)
    scripts = np.array(space.scripts)
    rank = np.empty(n, dtype=np.int64)
    rank[sorted(range(n), key=lambda i: (articles[i].id, articles[i].dated))] = np.arange(n)
    return ScoredPairs(articles, left, right, weight, scripts[left] == scripts[right], rank.tolist(), weak)


def link_stories(pairs: ScoredPairs, settings: DedupeSettings = DedupeSettings()) -> list[list[Article]]:
    """The stories of the scored pairs under ``settings``' thresholds; groups in input order."""
    keep = _story_edges(pairs, settings)
    groups = _communities(len(pairs.articles), pairs.left[keep], pairs.right[keep], pairs.weight[keep],
                          pairs.rank, settings.resolution)
    groups = _take_in_loose(groups, pairs, settings)
    return [[pairs.articles[i] for i in members] for members in sorted(groups, key=min)]


def _take_in_loose(groups: list[list[int]], pairs: ScoredPairs, settings: DedupeSettings) -> list[list[int]]:
    """A big developing story (``developing_size`` reports) takes in an article left on its own that
    has ``developing_attach`` weak pairs (``developing`` or more, same script) with its reports, the
    story with most such pairs (then the one whose first report ranks first). Its reports are
    linked to each other loosely, so a late or oddly worded report has too few common neighbours
    to pass the support rule, yet several of its pairs point into the one story."""
    n = len(pairs.articles)
    story = np.empty(n, dtype=np.int64)
    for s, members in enumerate(groups):
        story[members] = s
    size = np.bincount(story, minlength=len(groups))
    if not len(pairs.left) or size.max() < settings.developing_size:
        return groups
    weak = (pairs.developing >= round(settings.developing * _SCALE)) & pairs.same_script
    loose = np.r_[pairs.left[weak], pairs.right[weak]]
    into = story[np.r_[pairs.right[weak], pairs.left[weak]]]
    fits = (size[story[loose]] == 1) & (size[into] >= settings.developing_size)
    if not fits.any():
        return groups
    first = [min(pairs.rank[i] for i in members) for members in groups]
    votes: dict[int, dict[int, int]] = {}
    for i, s in zip(loose[fits].tolist(), into[fits].tolist()):
        votes.setdefault(i, {})[s] = votes.get(i, {}).get(s, 0) + 1
    out = [list(members) for members in groups]
    for i, counts in votes.items():
        s, k = min(counts.items(), key=lambda sk: (-sk[1], first[sk[0]]))
        if k >= settings.developing_attach:
            out[s].append(i)
            out[int(story[i])] = []
    return [sorted(members) for members in out if members]


_SCALE = 1_000_000  # pair probabilities as integers: exact, whatever the order
