"""Duplicates and stories: which articles say the same thing, and which tell the same event.

Two levels, because the reader wants each story once but every outlet named:

* duplicates — the same text (exact, after folding case, punctuation and
  whitespace) or a lightly edited reprint (word 5-shingle Jaccard ≥ 0.5).
  Later versions of one file or URL also replace earlier ones.
* stories — different texts about one event: TF-IDF cosine of title + lead
  above a threshold, grouped with single linkage.

Pure: lists of Articles in, groups of ids out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from briefing.types import Article

NEAR_DUPLICATE_JACCARD = 0.5
SAME_STORY_COSINE = 0.3


def fingerprint(text: str) -> str:
    """Hash of the text with case, punctuation and spacing folded away."""
    folded = " ".join(re.findall(r"\w+", text.lower()))
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()


def shingles(text: str, size: int = 5) -> set[int]:
    words = re.findall(r"\w+", text.lower())
    if len(words) < size:
        return {hash(" ".join(words))}
    return {hash(" ".join(words[i:i + size])) for i in range(len(words) - size + 1)}


def jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


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


def duplicate_groups(articles: Sequence[Article]) -> list[list[Article]]:
    """Group articles that are the same text, a reprint, or versions of one document.

    Each group lists its best copy first: the latest version, then the longest text.
    """
    groups = _Groups(len(articles))
    first: dict[object, int] = {}
    for i, a in enumerate(articles):
        for key in (("fp", fingerprint(a.text)), ("loc", a.source, a.location)):
            if key in first:
                groups.union(first[key], i)
            else:
                first[key] = i
    sh = [shingles(a.text) for a in articles]
    for i in range(len(articles)):
        for j in range(i + 1, len(articles)):
            if groups.find(i) != groups.find(j) and jaccard(sh[i], sh[j]) >= NEAR_DUPLICATE_JACCARD:
                groups.union(i, j)
    out = []
    for members in groups.groups():
        ranked = sorted((articles[i] for i in members),
                        key=lambda a: (a.first_seen, len(a.text)), reverse=True)
        out.append(ranked)
    return out


def story_groups(articles: Sequence[Article], threshold: float = SAME_STORY_COSINE) -> list[list[Article]]:
    """Group distinct articles that report the same event, in input order within a group."""
    if len(articles) < 2:
        return [[a] for a in articles]
    docs = [f"{a.title}. {a.title}. " + " ".join(a.paragraphs[:3]) for a in articles]
    vectors = TfidfVectorizer(stop_words="english", sublinear_tf=True, ngram_range=(1, 2),
                              min_df=1).fit_transform(docs)
    sim = cosine_similarity(vectors)
    groups = _Groups(len(articles))
    for i in range(len(articles)):
        for j in range(i + 1, len(articles)):
            if sim[i, j] >= threshold:
                groups.union(i, j)
    return [[articles[i] for i in members] for members in groups.groups()]
