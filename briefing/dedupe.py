"""Duplicates and stories: which articles say the same thing, and which tell the same event.

Two levels, because the reader wants each story once and every outlet named:

* **duplicates** — one text published more than once: the same canonical URL,
  the same text once case, punctuation and spacing are folded, or a reprint
  with light edits (MinHash of word shingles, LSH candidates from datasketch,
  estimated Jaccard ≥ ``near_duplicate``). The copy kept is the longest, then
  the earliest; the others are "also published by".
* **stories** — different texts about one event: TF-IDF cosine of title and
  text, for articles published within ``story_days`` of each other.
  Candidate pairs are those sharing two of their most distinctive words, so
  the work grows with the number of articles, not its square.

Pure: lists of Articles in, groups out. Signatures can be kept by the caller
(the store) so a run only compares new articles against its window.
"""

from __future__ import annotations

import functools
import hashlib
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import scipy.sparse as sp
from datasketch import MinHash, MinHashLSH
from sklearn.feature_extraction.text import TfidfVectorizer

from briefing.types import Article
from briefing.urls import canonical_url


@dataclass(frozen=True)
class DedupeSettings:
    """Thresholds; config's ``dedupe:`` section fills them."""

    near_duplicate: float = 0.5  # estimated Jaccard of word shingles
    shingle_words: int = 5
    num_perm: int = 64
    same_story: float = 0.25  # TF-IDF cosine of title + text
    story_days: float = 3.0
    top_terms: int = 12  # each article's most distinctive words, for finding candidate pairs
    block_max_share: float = 0.05  # a word in more than this share of articles makes no candidates
    block_max_docs: int = 64  # ... nor one in more than this many: an event's own words are not that common
    background_max_docs: int = 2000  # an evenly spaced sample of the background is enough for word rarity


# --- duplicates ----------------------------------------------------------------------

_WORDS = re.compile(r"\w+")
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5],
                dtype=np.uint64)


def fingerprint(text: str) -> str:
    """Hash of the text with case (casefold: ß = SS), punctuation and spacing folded away."""
    return _fingerprint_of_words(_folded_words(text))


def _folded_words(text: str) -> list[str]:
    """The words with case folded away; upper-cased first, because casefold alone keeps Turkish
    dotless ı apart from i, though both upper-case to I."""
    return _WORDS.findall(text.upper().casefold())


def _dedupe_words(article: Article, settings: DedupeSettings) -> list[str]:
    """The words that identify the text; a headline with a dek (or alone) counts its title too,
    or every headline-only entry would be one 'text' and two deks of one line would be a few shingles."""
    words = _folded_words(article.text)
    if len(words) < 4 * settings.shingle_words:
        return _folded_words(article.title) + words
    return words


def _fingerprint_of_words(words: list[str]) -> str:
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()


_WORD_HASHES: dict[str, int] = {}  # word → crc32; news vocabularies repeat, so hash each word once


def _word_hash(word: str) -> int:
    value = _WORD_HASHES.get(word)
    if value is None:
        if len(_WORD_HASHES) > 1_000_000:
            _WORD_HASHES.clear()
        value = _WORD_HASHES[word] = zlib.crc32(word.encode("utf-8"))
    return value


def shingle_hashes(text: str, size: int = 5) -> np.ndarray:
    """Stable 32-bit hashes of the text's word ``size``-grams (the same in every process)."""
    return _shingles_of_words(_folded_words(text), size)


def _shingles_of_words(words: list[str], size: int) -> np.ndarray:
    if not words:
        return np.zeros(0, dtype=np.uint64)
    wh = np.fromiter(map(_word_hash, words), dtype=np.uint64, count=len(words))
    k = min(size, len(words), len(_MIX))
    n = len(words) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            acc = acc * np.uint64(31) + wh[j:j + n] * _MIX[j]
    return np.unique(acc >> np.uint64(32))


@functools.lru_cache(maxsize=8)
def _template(num_perm: int) -> MinHash:
    """One MinHash whose permutations every signature shares (drawing them costs more than hashing)."""
    return MinHash(num_perm=num_perm, hashfunc=int)


_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)  # MurmurHash3's 32-bit finalizer, as datasketch pre-mixes


def _minhash_values(hashes: np.ndarray, num_perm: int) -> np.ndarray:
    """What ``MinHash.update_batch`` computes (datasketch's affine32 scheme), in NumPy, no call per value."""
    t = _template(num_perm)
    if not len(hashes):
        return t.hashvalues.copy()
    s1, m1, s2, m2, s3 = (np.uint32(c) for c in _FMIX32)
    hv = hashes.astype(np.uint32)
    with np.errstate(over="ignore"):
        hv = hv ^ (hv >> s1)
        hv = hv * m1
        hv = hv ^ (hv >> s2)
        hv = hv * m2
        hv = hv ^ (hv >> s3)
        a, b = t.permutations
        return np.minimum(t.hashvalues, (hv[:, None] * a + b).min(axis=0))


def signature(text: str, settings: DedupeSettings = DedupeSettings()) -> MinHash:
    """The MinHash of a text's shingles (a datasketch MinHash, for callers that keep signatures)."""
    t = _template(settings.num_perm)
    values = _minhash_values(shingle_hashes(text, settings.shingle_words), settings.num_perm)
    return MinHash(hashfunc=int, hashvalues=values, permutations=t.permutations, scheme=t.scheme)


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


def duplicate_groups(articles: Sequence[Article], settings: DedupeSettings = DedupeSettings(),
                     signatures: Sequence[MinHash] | None = None) -> list[list[Article]]:
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
    for i, a in enumerate(articles):
        words = _dedupe_words(a, settings)  # once, for the fingerprint and the shingles
        if signatures is None:
            sigs[i] = _minhash_values(_shingles_of_words(words, settings.shingle_words), settings.num_perm)
        keys = [("fp", _fingerprint_of_words(words)), ("loc", a.source, a.location)]
        if a.location.startswith(("http://", "https://")):
            keys.append(("url", canonical_url(a.location)))
        for key in keys:
            if key in first:
                groups.union(first[key], i)
            else:
                first[key] = i
    if signatures is not None:
        sigs = np.array([s.hashvalues for s in signatures], dtype=np.uint32).reshape(n, -1)
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
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)  # only for its optimal (b, r)
    left, right = [], []
    for band in range(lsh.b):
        _, bucket = np.unique(sigs[:, band * lsh.r:(band + 1) * lsh.r], axis=0, return_inverse=True)
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

def _when(a: Article):  # noqa: ANN202 - a datetime
    return a.published or a.first_seen


def _candidate_pairs(vectors: sp.csr_matrix, top_terms: int, max_df: int,
                     chunk: int = 20_000) -> list[tuple[int, int]]:
    """Pairs (i < j) sharing at least two of their ``top_terms`` heaviest terms.

    Terms among the top terms of more than ``max_df`` articles are ignored. A
    sparse product (articles × top terms) counts shared terms in C, chunked by
    rows, instead of visiting every pair of a posting list in Python.
    """
    n, m = vectors.shape
    rows, cols = [], []
    for i in range(n):
        row = slice(vectors.indptr[i], vectors.indptr[i + 1])
        terms, weights = vectors.indices[row], vectors.data[row]
        top = terms[np.argsort(-weights)[:top_terms]]
        cols.append(top)
        rows.append(np.full(len(top), i, dtype=np.int32))
    rows_a, cols_a = np.concatenate(rows), np.concatenate(cols)
    df = np.bincount(cols_a, minlength=m)
    usable = (df[cols_a] >= 2) & (df[cols_a] <= max_df)
    top_matrix = sp.csr_matrix((np.ones(int(usable.sum()), dtype=np.int32), (rows_a[usable], cols_a[usable])),
                               shape=(n, m))
    top_t = top_matrix.T.tocsr()
    out: list[tuple[int, int]] = []
    for start in range(0, n, chunk):
        shared = (top_matrix[start:start + chunk] @ top_t).tocoo()
        keep = (shared.data >= 2) & (shared.row + start < shared.col)
        out.extend(zip((shared.row[keep] + start).tolist(), shared.col[keep].tolist()))
    return out


def story_groups(articles: Sequence[Article], settings: DedupeSettings = DedupeSettings(),
                 background: Sequence[Article] = ()) -> list[list[Article]]:
    """Group distinct articles that report the same event; input order kept within and across groups.

    TF-IDF over title and text; the IDF comes from the articles at hand plus
    ``background`` (the window's off-topic articles: distinct texts, no
    copies), because word rarity estimated on a handful of on-topic articles
    is mostly noise; an evenly spaced sample of at most ``background_max_docs``
    of them, so a large off-topic window costs no more than a small one. Candidate
    pairs share at least two of their ``top_terms`` most distinctive words
    (blocking, so the work stays near-linear); a candidate pair is one story
    when its cosine reaches ``same_story`` and they were published within
    ``story_days`` of each other.
    """
    n = len(articles)
    if n < 2:
        return [[a] for a in articles]
    docs = [f"{a.title}. {a.title}. {a.text}" for a in articles]
    known = {a.id for a in articles}
    others = [a for a in background if a.id not in known]
    step = max(1, -(-len(others) // settings.background_max_docs))  # ceil: at most background_max_docs
    extra = [f"{a.title}. {a.title}. {a.text}" for a in others[::step]]
    try:
        vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, dtype=np.float32)
        vectors = vectorizer.fit_transform(docs + extra)[:n].tocsr()  # one tokenisation, not two
        vectors.sort_indices()  # the same summation order as transform(), so scores match to the bit
    except ValueError:  # nothing but stop words
        return [[a] for a in articles]
    max_df = max(2, min(int(settings.block_max_share * n) + 1, settings.block_max_docs))
    pairs = _candidate_pairs(vectors, settings.top_terms, max_df)
    groups = _Groups(n)
    days = timedelta(days=settings.story_days)
    for start in range(0, len(pairs), 50_000):
        chunk = pairs[start:start + 50_000]
        left = np.fromiter((p[0] for p in chunk), dtype=np.int64, count=len(chunk))
        right = np.fromiter((p[1] for p in chunk), dtype=np.int64, count=len(chunk))
        cos = np.asarray(vectors[left].multiply(vectors[right]).sum(axis=1)).ravel()
        for k in np.flatnonzero(cos >= settings.same_story):
            i, j = chunk[k]
            if abs(_when(articles[i]) - _when(articles[j])) <= days:
                groups.union(i, j)
    return [[articles[i] for i in members] for members in sorted(groups.groups(), key=min)]


