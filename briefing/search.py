"""Full-text search over the stored articles: the query language, the index's words, hits and their output.

The store keeps the index (``briefing.store``: FTS5 in SQLite, a ``tsvector`` in PostgreSQL); this module
says what a word is for both, so the index and the queries are cut alike:

* a word is a run of letters and digits, case-folded, accents removed (é → e, ё → е, й → и);
* each Chinese (or Japanese, Korean) character is a word of its own, and a Chinese query word is the phrase
  of its characters: a substring search, so nothing a grep finds is missed, whatever a dictionary would
  have cut (jieba's cut of a text and of a query can differ, and FTS5's trigram tokenizer finds nothing
  shorter than three characters, while most Chinese words are two: 普京, 中俄);
* outside quotes a Russian word matches its inflections (Путина finds Путин, Путину) as the prefix of
  its Snowball stem; inside quotes every word is taken as written.

The query language is parsed here and never passed raw to a database: words are ANDed, ``"quoted
phrases"`` match as phrases, ``-word`` or ``-"a phrase"`` excludes, ``word*`` is a prefix; ``AND``, ``OR``,
``NEAR(`` and other syntax are plain words. A mistake is a ``UsageError`` of one line.

Pure: no clock, network or database; ``search`` takes the store as an ``ArticleStore``-like object.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import Stemmer

from briefing.exceptions import UsageError
from briefing.types import Article

__all__ = ["INDEX_VERSION", "Filters", "Hit", "Query", "Term", "fts5_match", "index_text", "parse_query",
           "search", "snippet", "to_jsonl", "to_table", "tokens", "tsquery", "tsvector"]

# The index's cut of a text into words. A change to ``tokens`` must come with a migration that rebuilds
# the index (SQLite removes an article's old words by cutting its old text again, so both cuts must agree).
INDEX_VERSION = 1

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Hangul is cut by NFKD into letters
_CJK_CHAR = re.compile(f"([{_CJK}])")
_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(f"[{_CJK}]|(?:(?![{_CJK}])[^\\W_])+")  # the same words, found in the original text
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_MIN_STEM = 3  # a shorter Russian stem would match too much as a prefix: the word is then taken as written
MARK = ("[", "]")  # around the matched words of a snippet (« » are Russian quotation marks, so not those)


def _normal(text: str) -> str:
    """Case-folded, accents removed, a space on each side of a CJK character (ASCII: only lower-cased)."""
    if text.isascii():
        return text.lower()
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", text)).casefold()
    return " ".join(_CJK_CHAR.split(text))  # split, not sub: sub expands its template in Python, per match


def tokens(text: str) -> list[str]:
    """The index's words of ``text``, in order: case-folded, accents removed, each CJK character alone."""
    return _WORD.findall(_normal(text))


def index_text(text: str | None) -> str:
    """``text`` as the SQLite index reads it: normalised as ``tokens`` does, left for FTS5's unicode61 to cut
    at the same places (letters and digits are its word characters too), which is four times faster than
    joining the words here. A query's words reach FTS5 quoted, and are cut by it the same way."""
    return _normal(text or "")


@dataclass(frozen=True)
class Term:
    """Words that must follow one another (one word: a phrase of one); the last may be a prefix."""

    words: tuple[str, ...]
    prefix: bool = False
    exclude: bool = False


@dataclass(frozen=True)
class Query:
    """A parsed query: every term not excluded must match, no excluded one may."""

    text: str
    terms: tuple[Term, ...]

    @property
    def wanted(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if not t.exclude)


@dataclass(frozen=True)
class Filters:
    """What a hit must also be: dated in [since, until) (first seen, when undated), from these sources or
    outlets (any of them; outlets case-insensitively, the source's name standing in for a missing outlet)."""

    since: datetime | None = None
    until: datetime | None = None
    sources: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """One article found: its score (higher is better: BM25 in SQLite, ts_rank_cd in PostgreSQL) and snippet.

    The article is its latest version; ``revised`` is when it was last materially edited (None: never).
    """

    article: Article
    score: float
    snippet: str
    revised: datetime | None = None


class Searchable(Protocol):
    def search_articles(self, query: Query, filters: Filters, limit: int,
                        offset: int = 0) -> list[tuple[Article, float]]: ...

    def revised_at(self, ids: Iterable[str]) -> dict[str, datetime]: ...


# --- parsing ----------------------------------------------------------------------

_PIECE = re.compile(r'(-?)"([^"]*)"|(\S+)')


def parse_query(text: str) -> Query:
    """Parse the user's query.

    Raises:
        UsageError: an unbalanced quote, or nothing left to look for (no word, or only exclusions).
    """
    if text.count('"') % 2:
        raise UsageError(f"search query {text!r} has an unbalanced quote (\"): close the phrase or drop the quote")
    terms: list[Term] = []
    for m in _PIECE.finditer(text):
        if m.group(3) is None:  # a quoted phrase: words as written
            words = tuple(tokens(m.group(2)))
            if words:
                terms.append(Term(words, exclude=bool(m.group(1))))
            continue
        raw = m.group(3)
        exclude = raw.startswith("-") and len(raw) > 1
        raw = raw[1:] if exclude else raw
        prefix = raw.endswith("*")
        words = tuple(tokens(raw))
        if not words:
            continue
        if not prefix and len(words) == 1 and _CYRILLIC.search(words[0]):
            words, prefix = _russian(raw, words)
        terms.append(Term(words, prefix=prefix, exclude=exclude))
    if not any(not t.exclude for t in terms):
        what = "only excludes words" if terms else "has no word to look for"
        raise UsageError(f"search query {text!r} {what}: give at least one word or \"phrase\" to find")
    return Query(text, tuple(terms))


def _russian(raw: str, words: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """A Russian word as the prefix of its stem (Путина → путин*), unless that stem is too short to say much."""
    stem = tokens(_stemmer().stemWord(raw.lower().replace("ё", "е")))
    if len(stem) == 1 and len(stem[0]) >= _MIN_STEM and words[0].startswith(stem[0]):
        return (stem[0],), True
    return words, False


@functools.cache
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("russian")


# --- what the databases are given ------------------------------------------------------

def fts5_match(query: Query) -> str:
    """The FTS5 MATCH expression of ``query``: every word quoted, so no user text is read as syntax."""
    def phrase(term: Term) -> str:
        quoted = ['"' + w.replace('"', '""') + '"' for w in term.words]
        if term.prefix:
            quoted[-1] += "*"
        return " + ".join(quoted)

    expr = "(" + " AND ".join(phrase(t) for t in query.wanted) + ")"
    return expr + "".join(f" NOT ({phrase(t)})" for t in query.terms if t.exclude)


def tsquery(query: Query) -> str:
    """The PostgreSQL ``tsquery`` literal of ``query`` (read with ``::tsquery``, not parsed by a text config)."""
    def phrase(term: Term) -> str:
        quoted = [_lexeme(w) for w in term.words]
        if term.prefix:
            quoted[-1] += ":*"
        return "(" + " <-> ".join(quoted) + ")"

    return " & ".join(("!" if t.exclude else "") + phrase(t) for t in query.terms)


_MAX_POSITION = 16383  # PostgreSQL's last position: words after it share it (a phrase there may not match)
_MAX_POSITIONS = 255  # PostgreSQL keeps at most 256 positions of one word


def tsvector(title: str, text: str) -> str:
    """The PostgreSQL ``tsvector`` literal of an article: title words weighted A, the text's B, with positions.

    Built here rather than by ``to_tsvector`` so PostgreSQL cuts words exactly as SQLite's index does, in a
    database of any encoding or locale. A gap after the title keeps a phrase from spanning title and text.
    """
    where: dict[str, list[str]] = {}
    start = 1
    for part, weight in ((title, "A"), (text, "B")):
        words = tokens(part)
        for i, w in enumerate(words):
            spots = where.setdefault(w, [])
            if len(spots) < _MAX_POSITIONS:
                spots.append(f"{min(start + i, _MAX_POSITION)}{weight}")
        start += len(words) + 1
    return " ".join(f"{_lexeme(w)}:{','.join(dict.fromkeys(spots))}" for w, spots in where.items())


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


# --- searching --------------------------------------------------------------------

def search(store: Searchable, query: Query, filters: Filters = Filters(), limit: int = 20,
           keep: Callable[[Article], bool] | None = None) -> list[Hit]:
    """The best ``limit`` hits of ``query`` in ``store``, best first (score, then the latest).

    ``keep`` filters by what the store does not record (language, relevance): hits are then read a page
    at a time until ``limit`` are kept or none are left.

    Raises:
        StorageError: the store could not be read.
    """
    if keep is None:
        found = store.search_articles(query, filters, limit)
    else:
        found, offset, page = [], 0, max(4 * limit, 100)
        while len(found) < limit:
            batch = store.search_articles(query, filters, page, offset)
            found.extend((a, s) for a, s in batch if keep(a))
            if len(batch) < page:
                break
            offset += page
        found = found[:limit]
    revised = store.revised_at([a.id for a, _ in found]) if found else {}
    return [Hit(a, s, snippet(a, query), revised.get(a.id)) for a, s in found]


# --- snippets -------------------------------------------------------------------------

_SNIPPET_BEFORE, _SNIPPET_AFTER = 60, 160  # characters around the first match


def snippet(article: Article, query: Query) -> str:
    """A line of the article's text around its first match, each match marked ``[…]``.

    Only the text is quoted (the title is shown beside it); a hit by its title alone shows the text's start.
    """
    text = " ".join(article.text.split())
    spans = _matches(text, query.wanted)
    first = spans[0][0] if spans else 0
    start = 0 if first <= _SNIPPET_BEFORE else text.rfind(" ", 0, first - _SNIPPET_BEFORE // 2) + 1
    end = min(len(text), max(first, start) + _SNIPPET_AFTER)
    if end < len(text) and " " in text[first:end]:
        end = text.rindex(" ", first, end)
    out, at = [], start
    for s, e in spans:
        if s >= start and e <= end:
            out += [text[at:s], MARK[0], text[s:e], MARK[1]]
            at = e
    out.append(text[at:end])
    return ("…" if start else "") + "".join(out) + ("…" if end < len(text) else "")


def _matches(text: str, terms: Iterable[Term]) -> list[tuple[int, int]]:
    """Character spans of ``text`` that match a term, adjacent ones (a phrase, a Chinese word) merged."""
    found = [(m.start(), m.end(), _word(m.group())) for m in _TOKEN.finditer(text)]
    words = [w for *_, w in found]
    hit = [False] * len(words)
    for term in terms:
        *lead, last = term.words
        n = len(term.words)
        ends = ([j for j, w in enumerate(words) if w.startswith(last)] if term.prefix
                else [j for j, w in enumerate(words) if w == last])
        for j in ends:  # the last word matched at j: then the words before it, if any
            i = j - n + 1
            if i >= 0 and all(words[i + k] == lead[k] for k in range(n - 1)):
                hit[i:j + 1] = [True] * n
    spans: list[tuple[int, int]] = []
    for (s, e, _), h in zip(found, hit, strict=True):
        if not h:
            continue
        if spans and not text[spans[-1][1]:s].strip():
            spans[-1] = (spans[-1][0], e)
        else:
            spans.append((s, e))
    return spans


@functools.lru_cache(maxsize=1 << 16)
def _word(raw: str) -> str:
    """A word of the original text as the index reads it (its words joined, if normalising splits it): cached,
    as the same words recur from text to text and normalising each again was most of a snippet's time."""
    found = tokens(raw)
    return found[0] if len(found) == 1 else " ".join(found)


# --- output ---------------------------------------------------------------------------

def as_record(hit: Hit) -> dict[str, Any]:
    """The JSON Lines object of a hit (STAGE-CLI's ``search`` row)."""
    a = hit.article
    return {"id": a.id, "title": a.title, "url": a.location, "outlet": a.outlet_name, "source": a.source,
            "published": a.published.isoformat() if a.published else None, "score": round(hit.score, 4),
            "snippet": hit.snippet, "revised": hit.revised is not None}


def to_jsonl(hits: Iterable[Hit]) -> str:
    """One JSON object per hit and line, best first."""
    return "".join(json.dumps(as_record(h), ensure_ascii=False) + "\n" for h in hits)


def to_table(hits: list[Hit], width: int = 100) -> str:
    """A readable list: rank, score, date, outlet and title on one line, the snippet indented below, then the
    location (and "revised <date>" after it when the article was edited since first seen: it shows the latest)."""
    lines = []
    for rank, h in enumerate(hits, 1):
        a = h.article
        when = a.dated.strftime("%Y-%m-%d")
        head = f"{rank:>3}. {h.score:6.2f}  {when}  {a.outlet_name[:24]:<24}  {a.title}"
        where = a.location + (f"  (revised {h.revised:%Y-%m-%d})" if h.revised else "")
        lines += [_clip(head, width), "       " + _clip(h.snippet, width - 7), "       " + where]
    return "\n".join(lines) + ("\n" if lines else "")


def _clip(line: str, width: int) -> str:
    return line if len(line) <= width else line[:width - 1] + "…"
