"""Extractive summaries: sentences copied verbatim from a story's articles, each attributed.

First version: score every sentence by TF-IDF cosine to the story's centroid
(what all its articles talk about), add a bonus for lead position (news puts
the point first), skip sentences that repeat one already chosen, and give the
chosen ones in reading order.

Pure: Articles in, Sentences out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from briefing.dedupe import jaccard, shingles
from briefing.sentences import split_sentences
from briefing.types import Article, Sentence

MIN_WORDS, MAX_WORDS = 6, 70


def _candidates(articles: Sequence[Article]) -> list[tuple[Article, int, str]]:
    out = []
    for article in articles:
        position = 0
        for paragraph in article.paragraphs:
            for sentence in split_sentences(paragraph):
                n = len(sentence.split())
                if MIN_WORDS <= n <= MAX_WORDS and re.search(r"[.!?\"”’]$", sentence):
                    out.append((article, position, sentence))
                position += 1
    return out


def summarize(articles: Sequence[Article], sentences: int = 3) -> list[Sentence]:
    """Pick up to ``sentences`` verbatim sentences that best cover ``articles``."""
    candidates = _candidates(articles)
    if not candidates:
        # Nothing sentence-shaped (e.g. a one-line teaser): quote the lead as it is.
        return [Sentence(a.paragraphs[0], a.id, a.source) for a in articles[:1] if a.paragraphs]
    texts = [c[2] for c in candidates]
    try:
        matrix = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(texts)
    except ValueError:  # only stop words
        return [Sentence(t, a.id, a.source) for a, _, t in candidates[:sentences]]
    centroid = np.asarray(matrix.mean(axis=0)).ravel()
    norm = np.linalg.norm(centroid) or 1.0
    sims = (matrix @ centroid) / norm
    scores = [float(sims[i]) + 0.25 / (1 + pos) for i, (_, pos, _) in enumerate(candidates)]
    chosen: list[int] = []
    seen: list[set[int]] = []
    for i in sorted(range(len(candidates)), key=lambda k: -scores[k]):
        sh = shingles(texts[i], 3)
        if any(jaccard(sh, other) > 0.5 for other in seen):
            continue
        chosen.append(i)
        seen.append(sh)
        if len(chosen) == sentences:
            break
    chosen.sort()  # reading order: article order, then position
    return [Sentence(candidates[i][2], candidates[i][0].id, candidates[i][0].source) for i in chosen]
