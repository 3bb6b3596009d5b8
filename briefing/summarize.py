"""Extractive summaries: sentences copied verbatim from the articles, each attributed.

* One article: every sentence is scored by its centrality (LexRank: PageRank
  over the graph of TF-IDF cosine similarities between sentences) plus a
  bonus for the lead sentence, because news puts the point first. The best ``k`` come
  back in document order. A short article returns its lead, not noise.
* A story (several articles): the same scores over all their sentences, then
  maximal marginal relevance (MMR) so a point made by three outlets is said
  once, by the first outlet that made it best, with a bonus for a sentence
  from a media bloc not yet quoted. Each sentence keeps its article, so the
  digest can name and link its outlet.
* Either way, a sentence that opens with a pronoun or connective ("They also…",
  "Однако…", "此外…") is quoted right after the sentence before it, or not at all.
* Key phrases: the story's most distinctive names and phrases, as the text writes them.

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
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain, filterfalse

import numpy as np

from briefing.dates import dateline_end
from briefing.outlets import Registry, bloc_of, bundled_registry
from briefing.sentences import split_sentences
from briefing.types import Article, Sentence
from briefing.words import ENGLISH_STOP_WORDS, chinese_words

MIN_WORDS, MAX_WORDS = 6, 80
LEAD_WEIGHT = 0.2  # share of the score that comes from being the article's first sentence
SIMILARITY_EDGE = 0.0  # cosine below this is no edge; sentence-to-sentence cosines are small, keep them all
DAMPING = 0.85
MMR_LAMBDA = 0.7  # relevance vs. novelty when picking for a story
REPEAT = 0.6  # cosine above which a sentence says what a chosen one said
BLOC_BONUS = 0.15  # added to a story sentence from a media bloc not yet quoted (MMR over blocs)


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
    if '"' not in paragraph and "“" not in paragraph:  # no quotation to keep whole (most paragraphs)
        return sentences
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
    return tuple(w for w in chinese_words(run) if _HAN.fullmatch(w))


def _word_count(text: str) -> int:
    """Words in ``text``: spaced words, plus jieba's words in its Chinese."""
    if text.isascii() or not _HAN.search(text):
        return len(text.split())
    return len(_HAN.sub(" ", text).split()) + sum(max(1, len(_han_words(run))) for run in _HAN.findall(text))


def _usable(c: _Candidate) -> bool:
    n = _word_count(c.text)
    return MIN_WORDS <= n <= MAX_WORDS and not c.text.endswith((":", ",")) and bool(_LETTER.search(c.text))


_LETTER = re.compile(r"[^\W\d_]")


_TOKEN = re.compile(r"\w\w+")  # runs of two word characters or more: what r"\b\w\w+\b" finds, found faster


def _vectors(texts: list[str]) -> np.ndarray | None:
    """Sublinear TF-IDF rows, L2-normalised (so X @ X.T is cosine); None if no content words.

    The same weighting as scikit-learn's TfidfVectorizer(sublinear_tf=True, smooth idf),
    done in NumPy on the few hundred words of one article: the vectoriser's per-call
    set-up costs more than the whole summary.
    """
    per_text: list[list[str]] = []
    for text in texts:
        words = list(filterfalse(ENGLISH_STOP_WORDS.__contains__, _TOKEN.findall(text.lower())))
        if not text.isascii():  # a token holding Han characters is its Chinese words
            words = [w for word in words for w in _split_han(word)]
        per_text.append(words)
    every = list(chain.from_iterable(per_text))
    if not every:
        return None
    vocab = dict(zip(dict.fromkeys(every), range(len(every))))  # columns in order of first use, as before
    rows = np.repeat(np.arange(len(texts)), [len(words) for words in per_text])
    cols = np.fromiter(map(vocab.__getitem__, every), dtype=rows.dtype, count=len(every))
    size = len(vocab)
    counts = np.bincount(rows * size + cols, minlength=len(texts) * size).reshape(len(texts), size)
    try:
        weights = _SUBLINEAR[counts]  # 1 + log(count), 0 where 0: the same values, looked up
    except IndexError:  # a word more often in one sentence than the table holds
        weights = _sublinear(counts.astype(float))
    weights *= np.log((1 + len(texts)) / (1 + (counts > 0).sum(axis=0))) + 1.0
    norms = np.sqrt(np.add.reduce(weights * weights, axis=1, keepdims=True))  # np.linalg.norm's sum, without its checks
    if norms.all():
        weights /= norms
        return weights
    vectors = np.zeros_like(weights)
    np.divide(weights, norms, out=vectors, where=norms > 0)
    return vectors


def _sublinear(counts: np.ndarray) -> np.ndarray:
    """Sublinear term frequency, 1 + log(count), and 0 for a word the sentence does not have."""
    return np.where(counts > 0, 1.0 + np.log(np.maximum(counts, 1.0)), 0.0)


_SUBLINEAR = _sublinear(np.arange(128, dtype=float))  # by count: one lookup instead of five array operations


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
    step = transition.T.dot  # matmul's result (the same BLAS call) at a third of its per-call cost
    damping, base = np.array(DAMPING), np.array((1 - DAMPING) / n)  # 0-d arrays: same numbers, no per-call conversion
    multiply, add = np.multiply, np.add
    ranks = np.empty((_STEPS + 1, n))  # row k: the rank after k steps
    ranks[0] = 1.0 / n
    rows = list(ranks)
    checked = 0
    for k in range(1, _STEPS + 1):  # the same arithmetic as step-by-step, in place: numpy's per-call cost dominates
        new = rows[k]
        step(rows[k - 1], new)
        multiply(new, damping, new)
        add(new, base, new)
        if k - checked == _CHECK_EVERY or k == _STEPS:  # convergence of several steps in one go, not one per step
            moved = np.add.reduce(np.abs(ranks[checked + 1:k + 1] - ranks[checked:k]), axis=1).tolist()
            for j, m in enumerate(moved, checked + 1):
                if m < 1e-6:
                    return rows[j]  # the first step that moved less: where step-by-step stops
            checked = k
    return rows[_STEPS]


_STEPS, _CHECK_EVERY = 50, 8


def _scores(cands: list[_Candidate], vectors: np.ndarray) -> np.ndarray:
    central = centrality(vectors)
    central = central / central.max() if central.max() > 0 else central
    lead = np.array([c.position == 0 for c in cands], dtype=float)
    return (1 - LEAD_WEIGHT) * central + LEAD_WEIGHT * lead


def summarize(articles: Sequence[Article], sentences: int = 3, *, registry: Registry | None = None) -> list[Sentence]:
    """Up to ``sentences`` verbatim sentences that best cover ``articles``.

    One article: best-scored sentences in document order. Several: MMR over
    all their sentences, in order of choice (the most central point first),
    with a bonus for a sentence from a media bloc (``registry``'s, the bundled
    one unless given) not yet quoted: on this topic who says it matters as much
    as what is said. A sentence that opens with a pronoun or connective ("They
    also…", "Однако…", "此外…") comes right after the sentence before it, or not at all.
    """
    everything = [c for a in articles for c in candidates(a)]
    pool = [c for c in everything if _usable(c)]
    if len(pool) <= sentences:
        chosen = _in_context(pool) or everything[:1]  # a short article: its lead as it is
        return [_sentence(c) for c in chosen[:sentences]]
    vectors = _vectors([c.text for c in pool])
    if vectors is None:
        return [_sentence(c) for c in (_in_context(pool[:sentences]) or pool[:1])]
    scores = _scores(pool, vectors)
    index = {(c.article.id, c.position): i for i, c in enumerate(pool)}
    before = [index.get((c.article.id, c.position - 1)) for c in pool]
    # whether pool sentence i opens with a reference, worked out when first asked: a pick asks of a few
    opens = functools.cache(lambda i: _opens_with_reference(pool[i].text))
    if len({c.article.id for c in pool}) == 1:
        picked = _top_distinct(scores, vectors, sentences, before, opens)
        picked.sort()  # document order
    else:
        known = registry or bundled_registry()
        blocs = [bloc_of(c.article.outlet, known) if c.article.outlet else "" for c in pool]
        picked = _mmr(scores, vectors, sentences, before, opens, blocs)
    return [_sentence(pool[i]) for i in picked]


def _in_context(chosen: list[_Candidate]) -> list[_Candidate]:
    """``chosen`` without a sentence that opens with a reference and does not follow the sentence it refers to."""
    out: list[_Candidate] = []
    for c in chosen:
        prior = out[-1] if out else None
        follows = prior is not None and prior.article.id == c.article.id and prior.position == c.position - 1
        if follows or not _opens_with_reference(c.text):
            out.append(c)
    return out


def _sentence(c: _Candidate) -> Sentence:
    """The candidate as the digest quotes it: verbatim, with its article's id, outlet and link."""
    return Sentence(c.text, c.article.id, c.article.outlet_name, c.article.location)


def _top_distinct(scores: np.ndarray, vectors: np.ndarray, k: int,
                  before: list[int | None], opens: Callable[[int], bool]) -> list[int]:
    """The best ``k`` that repeat no chosen one; a sentence that opens with a reference brings its predecessor."""
    chosen: list[int] = []
    for i in (int(j) for j in np.argsort(-scores, kind="stable")):
        if not all(float(vectors[i] @ vectors[j]) < REPEAT for j in chosen):
            continue
        if opens(i):
            p = before[i]
            if p is None or opens(p):
                continue
            if p not in chosen:
                if len(chosen) + 2 > k or not all(float(vectors[p] @ vectors[j]) < REPEAT for j in chosen):
                    continue
                chosen.append(p)
        chosen.append(i)
        if len(chosen) == k:
            break
    return chosen


def _mmr(scores: np.ndarray, vectors: np.ndarray, k: int,
         before: list[int | None], opens: Callable[[int], bool], blocs: list[str]) -> list[int]:
    """Maximal marginal relevance: each pick trades its score against likeness to earlier picks.

    When the sentences come from more than one bloc, one from a bloc not yet quoted
    gets ``BLOC_BONUS``; from one bloc, the choice is plain MMR. A sentence that opens
    with a reference is placed right after its predecessor (chosen now, if the budget
    allows) or skipped.
    """
    chosen: list[int] = []
    left = np.ones(len(scores), dtype=bool)
    top = scores / scores.max() if scores.max() > 0 else scores
    several = len(set(blocs)) > 1
    while len(chosen) < k and left.any():
        penalty = (vectors @ vectors[chosen].T).max(axis=1) if chosen else np.zeros(len(scores))
        value = MMR_LAMBDA * top - (1 - MMR_LAMBDA) * penalty
        if several:
            quoted = {blocs[j] for j in chosen}
            value = value + BLOC_BONUS * np.array([b not in quoted for b in blocs], dtype=float)
        value = np.where(left & (penalty < REPEAT), value, -np.inf)
        best = int(np.argmax(value))
        if value[best] == -np.inf:
            break
        left[best] = False
        if not opens(best):
            chosen.append(best)
            continue
        p = before[best]
        if p is None or opens(p):
            continue
        if p in chosen:
            chosen.insert(chosen.index(p) + 1, best)
        elif left[p] and penalty[p] < REPEAT and len(chosen) + 2 <= k:
            chosen += [p, best]
            left[p] = False
    return chosen


# A sentence opening with one of these leans on the one before it: "They also point to…", "Однако…", "此外…".
_OPENERS = frozenset("""he she it they his her its their them this that these those however but also meanwhile
moreover furthermore still yet instead nevertheless nonetheless thus therefore hence besides otherwise and or so such
он она оно они его её ее их ему ей им этот эта это эти этого этой этих тот та те того но однако также зато
впрочем причём причем поэтому а и ведь притом тогда""".split())
_OPENER_PHRASES = frozenset({"in addition", "as a result", "at the same time", "on the other hand", "in turn",
                             "even so", "by contrast", "in contrast", "кроме того", "при этом", "тем не менее",
                             "вместе с тем", "в то же время", "помимо этого", "в свою очередь"})
_OPENERS_ZH = ("他们", "她们", "它们", "他", "她", "它", "该", "此", "这", "那", "但", "然而", "而", "并且",
               "同时", "另外", "因此", "所以", "不过", "其", "对此")
# "This week…", "That year…": a time, not a reference.
_TIME_WORDS = frozenset("""week weekend year month morning afternoon evening night season spring summer autumn fall
winter time decade century quarter""".split())
_FIRST_WORDS = re.compile(r"[^\W\d_]+")


def _opens_with_reference(text: str) -> bool:
    """Whether ``text`` opens with a pronoun or connective, so it cannot be quoted without the sentence before."""
    head = text.lstrip(" \t\n\"'“‘«„(—–-")
    if head[:1] and _HAN.match(head[:1]):
        return head.startswith(_OPENERS_ZH) and not head.startswith(("同时期", "其他"))
    words = [w.casefold() for w in _FIRST_WORDS.findall(head[:80])[:4]]
    if not words:
        return False
    if any(" ".join(words[:n]) in _OPENER_PHRASES for n in (2, 3, 4)):
        return True
    if words[0] in {"this", "that", "these", "those"} and len(words) > 1 and words[1] in _TIME_WORDS:
        return False
    return words[0] in _OPENERS


# Words every news story uses: never a key phrase.
_NEWS_WORDS = frozenset("""said says say told according officials official year years new would could also
including week month day time people government country countries percent per cent mr ms statement
added reported report reports like just make made going told""".split())


def keyphrases(articles: Sequence[Article], count: int = 5) -> list[str]:
    """A story's most distinctive phrases, as the text writes them, for a headline-less story or a quick scan.

    A phrase is a name as a whole ("Sea of Japan", "Northern Sea Route", never "sea japan" or
    "russia's northern"), a content word, or two adjacent ones ("price gap"); multi-word phrases
    count double. Each is shown in its most frequent form in the text. Chinese gives its words
    (jieba's, two characters or more). Nothing found is an empty list: no line in the digest.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer  # only here: the import costs seconds

    texts = [f"{a.title}. {a.text}" for a in articles]
    try:
        vectorizer = TfidfVectorizer(analyzer=_phrases)
        matrix = vectorizer.fit_transform(texts)
    except ValueError:
        return []
    forms = _surface_forms(articles)
    terms = vectorizer.get_feature_names_out()
    weights = np.asarray(matrix.sum(axis=0)).ravel() * np.array([2.0 if " " in t else 1.0 for t in terms])
    pairs = Counter(key for text in texts for key, _, _, pair in _phrase_items(text) if pair)
    weights[[pairs.get(str(t), 2) < 2 for t in terms]] = 0.0  # two words said together once are no phrase
    if not weights.any():
        return []
    out: list[str] = []
    for i in np.argsort(-weights):
        term = str(terms[i])
        if term in ENGLISH_STOP_WORDS or any(term in o for o in out):
            continue
        inside = [k for k, o in enumerate(out) if f" {o} " in f" {term} "]
        if inside:  # "Northern Sea Route" says more than the "route" already chosen: it takes its place
            out[inside[0]] = term
            out = [o for k, o in enumerate(out) if k not in inside[1:]]
        elif not any(o in term for o in out):
            out.append(term)
        if len(out) == count:
            break
    return [forms.get(t, t) for t in out]


def _surface_forms(articles: Sequence[Article]) -> dict[str, str]:
    """Each phrase's most frequent form as written; in a title or opening a sentence it counts half (capitalised)."""
    tally: dict[str, dict[str, float]] = {}
    for a in articles:
        for text, weight in ((a.title, 0.5), (a.text, 1.0)):
            for key, surface, initial, _ in _phrase_items(text):
                forms = tally.setdefault(key, {})
                forms[surface] = forms.get(surface, 0.0) + (0.5 * weight if initial else weight)
    return {key: max(forms, key=lambda f: (forms[f], f)) for key, forms in tally.items()}


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
    """The phrases of ``text`` (``_phrase_items``), as lowercase keys: what TF-IDF counts."""
    return [key for key, _, _, _ in _phrase_items(text)]


_SENTENCE = re.compile(r"(?<=[.!?…])\s+")
_WORD = re.compile(r"[^\W\d_][\w'’-]*\w")  # a word of two letters or more, no digits first, "Russia’s" whole
_CLAUSE = re.compile(r"[.!?;:,()\[\]{}\"“”«»„<>|/—–…]+|\s-\s|\n")
_CONNECTORS = frozenset({"of", "for"})  # inside a name: "Sea of Japan", "Centre for Strategic Studies"
_MAX_NAME = 4  # content words in a name; a longer capitalised run is a title-case headline, not a name
_MAX_PAIR = 3  # content words in adjacent units joined ("Russian officials", "western Pacific")


@functools.lru_cache(maxsize=1024)
def _phrase_items(text: str) -> tuple[tuple[str, str, bool, bool], ...]:
    """(key, surface form, sentence-initial, two units) for each phrase of ``text``, in order.

    A clause (text between punctuation) is cut into units: a capitalised run with "of"/"for"
    inside it is one unit, a lowercase content word another, a stop word or number none. A
    unit is a phrase, and so are two or three adjacent units, unless one ends in a possessive
    ("Russia's" + "Northern Sea Route" are two). A Chinese run gives its words, alone.
    """
    out: list[tuple[str, str, bool, bool]] = []
    for sentence in _SENTENCE.split(text):
        first = True
        for clause in _CLAUSE.split(sentence):
            units = _units(clause)
            for n, words in enumerate(units):
                cap = words[0][:1].isupper() if words else False
                if words and len(words) <= (_MAX_NAME if cap else 1):
                    surface = re.sub(r"['’]s$", "", " ".join(words))  # "Russia's" is a phrase as "Russia"
                    out.append((surface.lower(), surface, first and n == 0, False))
                for start in (n - 1, n - 2):  # two or three adjacent units: "price gap", "министр иностранных дел"
                    chain = units[max(start, 0):n + 1]
                    if start < 0 or not all(chain) or not all(_joinable(a, b) for a, b in zip(chain, chain[1:])) \
                            or len([w for u in chain for w in u if w.lower() not in _CONNECTORS]) > _MAX_PAIR:
                        break
                    surface = " ".join(w for u in chain for w in u)
                    out.append((surface.lower(), surface, first and start == 0, True))
            for token in _PHRASE_TOKEN.findall(clause.lower()):
                if not token.isascii() and _HAN.search(token):  # as before: jieba's words of the token, alone
                    out += [(w, w, False, False) for w in _split_han(token)
                            if _HAN.fullmatch(w) and len(w) >= 2 and w not in _CHINESE_NEWS]
            first = first and not units
    return tuple(out)


def _joinable(first: list[str], second: list[str]) -> bool:
    """Two adjacent units make a phrase ("western Pacific", "Russian officials"), unless too long, joined by a
    possessive, or a name of several words followed by a lowercase one ("Pacific Fleet left": a name and a verb).
    """
    words = [w for w in (*first, *second) if w.lower() not in _CONNECTORS]
    named_then_word = len(first) > 1 and first[0][:1].isupper() and not second[0][:1].isupper()
    return len(words) <= _MAX_PAIR and not named_then_word and not _possessive(first[-1])


def _units(clause: str) -> list[list[str]]:
    """The clause's units in order, each its words as written; ``[]`` where a stop word, number or Chinese breaks."""
    units: list[list[str]] = []
    run: list[str] = []  # the capitalised run being built
    words = [w.strip("'‘’`*_") for w in clause.split()]

    def close() -> None:
        nonlocal run
        if run:
            units.append(run)
            run = []

    for i, word in enumerate(words):
        lower = word.lower()
        possessive = bool(run) and _possessive(run[-1])
        if run and not possessive and lower in _CONNECTORS and i + 1 < len(words) and words[i + 1][:1].isupper():
            run.append(word)
            continue
        content = bool(_WORD.fullmatch(word)) and not _HAN.search(word) and lower not in _PHRASE_STOP \
            and lower not in _RUSSIAN_STOP
        if content and word[0].isupper():
            if possessive:
                close()
            run.append(word)
            continue
        close()
        if content:
            units.append([word])
        elif units and units[-1]:
            units.append([])
    close()
    while units and not units[-1]:
        units.pop()
    return units


def _possessive(word: str) -> bool:
    return word.lower().endswith(("'s", "’s"))
