"""Extractive summaries: sentences copied verbatim from the articles, each attributed.

* One article: every sentence is scored by its centrality (LexRank: PageRank
  over the graph of TF-IDF cosine similarities between sentences) plus a
  bonus for the lead sentence, because news puts the point first. The best ``k`` come
  back in document order. A short article returns its lead, not noise.
* A story (several articles): the same scores over all their sentences, then
  maximal marginal relevance (MMR) so a point made by three outlets is said
  once, by the first outlet that made it best. Each sentence keeps its
  article, so the digest can name and link its outlet.
* Key phrases: the story's most distinctive words and word pairs.

Chinese writes no spaces, so there a "word" is one that jieba cuts (``briefing.words``):
sentence lengths, similarities and key phrases count those, not runs of characters
between punctuation. A Russian or Chinese dateline ("МОСКВА, 19 ноября. /ТАСС/.",
"新华社北京11月17日电（记者 王某）") is never quoted as part of a lead sentence.

Pure, vectorised with scikit-learn and NumPy: no Python loop over the
vocabulary, one small matrix per article or story.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from briefing.dates import dateline_end
from briefing.sentences import split_sentences
from briefing.types import Article, Sentence
from briefing.words import analyse

MIN_WORDS, MAX_WORDS = 6, 80
LEAD_WEIGHT = 0.2  # share of the score that comes from being the article's first sentence
SIMILARITY_EDGE = 0.0  # cosine below this is no edge; sentence-to-sentence cosines are small, keep them all
DAMPING = 0.85
MMR_LAMBDA = 0.7  # relevance vs. novelty when picking for a story
REPEAT = 0.6  # cosine above which a sentence says what a chosen one said


@dataclass(frozen=True)
class _Candidate:
    article: Article
    position: int  # index among the article's sentences
    text: str


def _balanced(paragraph: str, sentences: list[str]) -> list[str]:
    """Rejoin sentences split inside a quotation, so a quote is never cut in half.

    Rejoined from the paragraph itself, not with a space: the gap may be two
    spaces or a line break, and a summary quotes the article exactly.
    """
    spans: list[tuple[int, int]] = []
    end = 0
    for s in sentences:
        start = paragraph.index(s, end)  # split_sentences returns verbatim pieces, in order
        end = start + len(s)
        if spans and _open_quote(paragraph[spans[-1][0]:spans[-1][1]]):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return [paragraph[a:b] for a, b in spans]


def _open_quote(text: str) -> bool:
    return text.count("“") > text.count("”") or text.count('"') % 2 == 1


def candidates(article: Article) -> list[_Candidate]:
    """The article's sentences, verbatim, in order, quotes kept whole."""
    out: list[_Candidate] = []
    for k, paragraph in enumerate(article.paragraphs):
        if k == 0 and (end := dateline_end(paragraph)):
            paragraph = paragraph[end:]  # text stored before cleaning took datelines out
        for sentence in _balanced(paragraph, split_sentences(paragraph)):
            out.append(_Candidate(article, len(out), sentence))
    return out


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@functools.lru_cache(maxsize=50_000)
def _han_words(run: str) -> tuple[str, ...]:
    """The words of a run of Han characters (jieba's, stop words dropped), in order."""
    return tuple(w for w in analyse(run).words if _HAN.fullmatch(w))


def _word_count(text: str) -> int:
    """Words in ``text``: spaced words, plus jieba's words in its Chinese."""
    if text.isascii() or not _HAN.search(text):
        return len(text.split())
    return len(_HAN.sub(" ", text).split()) + sum(max(1, len(_han_words(run))) for run in _HAN.findall(text))


def _usable(c: _Candidate) -> bool:
    n = _word_count(c.text)
    return MIN_WORDS <= n <= MAX_WORDS and not c.text.endswith((":", ",")) and bool(re.search(r"[^\W\d_]", c.text))


_TOKEN = re.compile(r"\b\w\w+\b")


def _vectors(texts: list[str]) -> np.ndarray | None:
    """Sublinear TF-IDF rows, L2-normalised (so X @ X.T is cosine); None if no content words.

    The same weighting as scikit-learn's TfidfVectorizer(sublinear_tf=True, smooth idf),
    done in NumPy on the few hundred words of one article: the vectoriser's per-call
    set-up costs more than the whole summary.
    """
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        for word in _TOKEN.findall(text.lower()):
            if word not in ENGLISH_STOP_WORDS:
                for w in _split_han(word):
                    rows.append(i)
                    cols.append(vocab.setdefault(w, len(vocab)))
    if not vocab:
        return None
    counts = np.zeros((len(texts), len(vocab)))
    np.add.at(counts, (rows, cols), 1.0)
    df = (counts > 0).sum(axis=0)
    weights = np.where(counts > 0, 1.0 + np.log(np.maximum(counts, 1.0)), 0.0)
    weights *= np.log((1 + len(texts)) / (1 + df)) + 1.0
    norms = np.linalg.norm(weights, axis=1, keepdims=True)
    vectors = np.zeros_like(weights)
    np.divide(weights, norms, out=vectors, where=norms > 0)
    return vectors


def _split_han(token: str) -> list[str]:
    """A token as it is, or its Chinese words when it holds Han characters (a whole clause, unsplit)."""
    if token.isascii() or not _HAN.search(token):
        return [token]
    out: list[str] = []
    for piece in re.split(f"({_HAN.pattern})", token):
        if _HAN.fullmatch(piece):
            out += _han_words(piece)
        elif len(piece) >= 2:
            out.append(piece)
    return out


def centrality(vectors: np.ndarray) -> np.ndarray:
    """LexRank scores (sum to 1): PageRank over sentences linked by cosine ≥ SIMILARITY_EDGE."""
    n = len(vectors)
    sim = vectors @ vectors.T
    adjacency = (sim >= SIMILARITY_EDGE) * sim
    np.fill_diagonal(adjacency, 0.0)
    degree = adjacency.sum(axis=1, keepdims=True)
    transition = np.full_like(adjacency, 1.0 / n)
    np.divide(adjacency, degree, out=transition, where=degree > 0)
    rank = np.full(n, 1.0 / n)
    for _ in range(50):
        new: np.ndarray = (1 - DAMPING) / n + DAMPING * (transition.T @ rank)
        if np.abs(new - rank).sum() < 1e-6:
            return new
        rank = new
    return rank


def _scores(cands: list[_Candidate], vectors: np.ndarray) -> np.ndarray:
    central = centrality(vectors)
    central = central / central.max() if central.max() > 0 else central
    lead = np.array([c.position == 0 for c in cands], dtype=float)
    return (1 - LEAD_WEIGHT) * central + LEAD_WEIGHT * lead


def summarize(articles: Sequence[Article], sentences: int = 3) -> list[Sentence]:
    """Up to ``sentences`` verbatim sentences that best cover ``articles``.

    One article: best-scored sentences in document order. Several: MMR over
    all their sentences, in order of choice (the most central point first).
    """
    everything = [c for a in articles for c in candidates(a)]
    pool = [c for c in everything if _usable(c)]
    if len(pool) <= sentences:
        chosen = pool or everything[:1]  # a short article: its lead as it is
        return [_sentence(c) for c in chosen[:sentences]]
    vectors = _vectors([c.text for c in pool])
    if vectors is None:
        return [_sentence(c) for c in pool[:sentences]]
    scores = _scores(pool, vectors)
    if len({c.article.id for c in pool}) == 1:
        picked = _top_distinct(scores, vectors, sentences)
        picked.sort()  # document order
    else:
        picked = _mmr(scores, vectors, sentences)
    return [_sentence(pool[i]) for i in picked]


def _sentence(c: _Candidate) -> Sentence:
    """The candidate as the digest quotes it: verbatim, with its article's id, outlet and link."""
    return Sentence(c.text, c.article.id, c.article.outlet_name, c.article.location)


def _top_distinct(scores: np.ndarray, vectors: np.ndarray, k: int) -> list[int]:
    chosen: list[int] = []
    for i in np.argsort(-scores, kind="stable"):
        if all(float(vectors[i] @ vectors[j]) < REPEAT for j in chosen):
            chosen.append(int(i))
            if len(chosen) == k:
                break
    return chosen


def _mmr(scores: np.ndarray, vectors: np.ndarray, k: int) -> list[int]:
    """Maximal marginal relevance: each pick trades its score against likeness to earlier picks."""
    chosen: list[int] = []
    left = np.ones(len(scores), dtype=bool)
    top = scores / scores.max() if scores.max() > 0 else scores
    while len(chosen) < k and left.any():
        penalty = (vectors @ vectors[chosen].T).max(axis=1) if chosen else np.zeros(len(scores))
        value = np.where(left & (penalty < REPEAT), MMR_LAMBDA * top - (1 - MMR_LAMBDA) * penalty, -np.inf)
        best = int(np.argmax(value))
        if value[best] == -np.inf:
            break
        chosen.append(best)
        left[best] = False
    return chosen


# Words every news story uses: never a key phrase.
_NEWS_WORDS = frozenset("""said says say told according officials official year years new would could also
including week month day time people government country countries percent per cent mr ms statement
added reported report reports like just make made going told""".split())


def keyphrases(articles: Sequence[Article], count: int = 5) -> list[str]:
    """A story's most distinctive words and word pairs, for a headline-less story or a quick scan.

    Word pairs count double: "power siberia" says more than "power". Chinese
    gives its words (jieba's, two characters or more), not word pairs: two
    words with a stop word dropped between them are no phrase of the text.
    """
    texts = [f"{a.title}. {a.text}" for a in articles]
    try:
        vectorizer = TfidfVectorizer(analyzer=_phrases)
        matrix = vectorizer.fit_transform(texts)
    except ValueError:
        return []
    terms = vectorizer.get_feature_names_out()
    weights = np.asarray(matrix.sum(axis=0)).ravel() * np.array([2.0 if " " in t else 1.0 for t in terms])
    out: list[str] = []
    for i in np.argsort(-weights):
        term = str(terms[i])
        if term in ENGLISH_STOP_WORDS or any(term in o or o in term for o in out):
            continue
        out.append(term)
        if len(out) == count:
            break
    return out


_PHRASE_STOP = frozenset(ENGLISH_STOP_WORDS | _NEWS_WORDS)
_PHRASE_TOKEN = re.compile(r"(?u)\b[^\W\d_][\w'-]+\b")  # scikit-learn's word analyser, with this pattern
# Russian words as common as English stop words, and Chinese ones every news text uses.
_RUSSIAN_STOP = frozenset("""и в во на с со по о об к у из за от до для не что как это этот эта эти его её ее их он
она они мы вы же бы ли но а или также уже еще ещё который которая которое которые был была было были быть
при после между более так там тоже только году года год лет заявил заявила сообщил сообщила отметил
""".split())
_CHINESE_NEWS = frozenset("""记者 获悉 今年 去年 明年 当地 时间 本报 报道 消息 据悉 方面 有关 相关 进一步 继续 主要
双方 两国 期间 表示 指出 称 日电
""".split())


def _phrases(text: str) -> list[str]:
    """Unigrams and bigrams as ``TfidfVectorizer(stop_words=..., ngram_range=(1, 2))`` makes them,
    except that a Chinese run gives its words, alone, and Russian stop words are dropped too.
    """
    tokens = _PHRASE_TOKEN.findall(text.lower())
    out: list[str] = []
    run: list[str] = []  # consecutive non-Chinese tokens, stop words dropped: where bigrams come from
    for token in tokens:
        if token.isascii() or not _HAN.search(token):
            if token not in _PHRASE_STOP and token not in _RUSSIAN_STOP:
                run.append(token)
            continue
        out += _bigrams(run)
        run = []
        out += [w for w in _split_han(token) if _HAN.fullmatch(w) and len(w) >= 2 and w not in _CHINESE_NEWS]
    return out + _bigrams(run)


def _bigrams(run: list[str]) -> list[str]:
    return run + [f"{a} {b}" for a, b in zip(run, run[1:])]
