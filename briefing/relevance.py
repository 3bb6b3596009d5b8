"""Is an article about the topic's *relationship*, not just a mention of one side?

The topic is data (``config/topics/*.yaml``): two sides with weighted terms and
aliases (officials, ministries, state companies, places), joint terms that name
the relationship, relation words, crowd terms (other countries: a list of ten
nations is not a relationship), proxies (the war in Ukraine stands for Russia
when China states a position on it), cue words (market noise, venues),
exclusions, the languages the lexicon is written in, and which side a
language's own outlets leave implicit (``home``: Channel One need not say
"Russia").

Two layers. The lexicon finds every term and where it sits — the title, a
sentence, a paragraph — and that is the evidence an article carries. When both
sides are present (or one side and its counterpart is implicit or stood for),
a learned layer reads *how* they are related: a logistic regression over
features of the matches (where they sit, whether they are two entries of a
list, what stands before and between them, relation words, crowd and market
cues, a lead sentence naming both with a relation word between them) and of
the headline's words with the matched names replaced by their role ("<S> and
<S> sign", "<X> sanctions firms from <S> , <S> and <X>"). Its weights are a
small JSON file beside the topic, checked against the SHA-256 the topic
records, and trained by ``bench/train_relevance.py`` on labelled train splits
only; a language's own threshold, chosen there, is folded into its bias
weight, so one threshold serves every language. A topic without a model is
scored by points for meetings (title, sentence, relation word, paragraph), as
before.

Matching: one Aho–Corasick pass (pyahocorasick, in C) finds every term,
relation, crowd name, cue and exclusion; Python only checks the hits. Latin
terms must sit at word boundaries, where a hyphen counts as a boundary
("anti-Russia", "Moscow-Kyiv", "a Putin-Trump summit"); an exclusion must match
whole ("China Open" does not silence "China opens talks"). Russian terms are
written in their dictionary form and match their inflected forms by a stem and
an ending list (Путин → Путина, Путину; Китай → Китая; китайский →
китайского), so "кита" (a whale's) is not "Китай" and "Никита" is not either.
Chinese has no word boundaries: lookalikes (白俄罗斯, 俄亥俄) are exclusions.
Pure: no I/O besides ``load_topic``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ahocorasick
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from briefing import language as _language
from briefing.config import load_yaml
from briefing.exceptions import ConfigError
from briefing.types import Evidence, Relevance


class TermSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    weight: float = Field(default=1.0, gt=0, le=1)
    aliases: list[str] = Field(default_factory=list)


Terms = dict[str, TermSpec]


class TopicModel(BaseModel):
    """A topic file. A term is ``Name: weight`` or ``Name: {weight, aliases: [...]}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    threshold: float = Field(default=0.5, ge=0, le=1)
    languages: list[str] = Field(default_factory=lambda: ["en"])
    sides: dict[str, Terms] = Field(min_length=2, max_length=2)
    joint: Terms = Field(default_factory=dict)
    relations: list[str] = Field(default_factory=list)
    crowd: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    # A language whose outlets leave one side implicit: {ru: russia} reads a Russian item naming only
    # China as possibly about Russia–China (the learned layer decides; its features say so).
    home: dict[str, str] = Field(default_factory=dict)
    # Words that stand for a side only as the object of the other side's stance ("the Ukraine crisis").
    proxy: dict[str, list[str]] = Field(default_factory=dict)
    # Named word lists the learned layer reads as features ("market", "venue" …); never evidence by themselves.
    cues: dict[str, list[str]] = Field(default_factory=dict)
    model: str | None = None  # the learned layer's file, relative to the topic file
    model_sha256: str | None = None

    @field_validator("sides", "joint", mode="before")
    @classmethod
    def _weights(cls, value: object) -> object:
        def spec(v: object) -> object:
            return {"weight": v} if isinstance(v, (int, float)) else v
        if isinstance(value, dict):
            if value and all(isinstance(v, dict) and not ({"weight", "aliases"} & set(v)) for v in value.values()):
                return {side: {t: spec(w) for t, w in terms.items()} for side, terms in value.items()}
            return {t: spec(w) for t, w in value.items()}
        return value

    @model_validator(mode="after")
    def _known_sides(self) -> TopicModel:
        for key, sides in (("home", set(self.home.values())), ("proxy", set(self.proxy))):
            unknown = sides - set(self.sides)
            if unknown:
                raise ValueError(f"{key} names a side the topic does not have: {min(unknown)}")
        if self.model and not self.model_sha256:
            raise ValueError("model_sha256 is required with model (the learned layer is checked at load)")
        return self


# --- the lexicon's matcher ---------------------------------------------------------------------

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_HAN_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CYR_WORD = re.compile(r"[а-яё]+")  # on lower-cased text
# Russian case endings of nouns, surnames and adjectives: a term written in its dictionary form
# matches its stem plus one of these ("Путин" → "Путина", "Москва" → "Москве", "китайский" → "китайских").
_RU_ENDINGS = frozenset((
    "а", "я", "у", "ю", "о", "е", "и", "ы", "ь", "й", "ом", "ем", "ой", "ей", "ою", "ею", "ам", "ям", "ами", "ями",
    "ах", "ях", "ов", "ев", "ого", "его", "ому", "ему", "ым", "им", "ых", "их", "ую", "юю", "ая", "яя", "ое", "ее",
    "ые", "ие", "ыми", "ими", "ия", "ию", "ией", "ии", "ий", "ье", "ья", "ью", "ьи", "ьей", "ьям", "ьях", "ьями"
))
_RU_ADJECTIVE = ("ский", "цкий", "ный", "ной", "ний", "ый", "ий", "ой", "ая", "яя", "ое", "ее", "ые", "ие")
SHORT = 3  # a Cyrillic word this short (КНР, Си, МИД, Ван) matches only as written


def _ru_stem(word: str) -> str:
    """The part of a dictionary form that its inflected forms keep ("китайский" → "китайск")."""
    if len(word) <= SHORT:
        return word
    for end in _RU_ADJECTIVE:
        if word.endswith(end) and len(word) - 2 >= SHORT:
            return word[:-2]
    if word.endswith("ия"):
        return word[:-2]
    if word[-1] in "аяоеыиуюьй":
        return word[:-1]
    return word


@dataclass(frozen=True)
class _Form:
    """One way of writing a term, as the matcher stores it."""

    text: str  # as written in the topic file
    kind: str  # "term", "relation", "crowd", "exclude", "proxy" or "cue"
    term: str  # the canonical term it counts as (for a cue: its list's name)
    side: str  # a side name, "joint", or the kind for non-terms
    weight: float
    cased: bool  # capitalised terms must match case exactly
    script: str  # "latin" (word boundaries, hyphen included), "han" (none), "cyrillic" (stem + ending)
    words: tuple[str, ...] = ()  # Cyrillic: the dictionary form of each word, lower-cased
    stems: tuple[str, ...] = ()
    upper: tuple[str, ...] = ()  # Cyrillic, per word: "A" an acronym (ШОС), "U" capitalised (Си), "" any case
    sides: tuple[str, ...] = ()  # the sides it names: its own, or both for a joint term (set by ``build_topic``)


@dataclass(frozen=True)
class Layer:
    """The learned layer: logistic-regression weights over named features (see ``features``)."""

    weights: dict[str, float]
    bias: float
    meta: dict[str, Any] = field(default_factory=dict)
    _by_language: dict[str, dict[str, float]] = field(default_factory=dict, repr=False, compare=False)

    def probability(self, feats: dict[str, float], lang: str) -> float:
        """P(on topic) for an article's ``features`` in ``lang`` (shared weight plus the language's own)."""
        weights = self._by_language.get(lang)
        if weights is None:
            weights = {k: v for k, v in self.weights.items() if "|" not in k}
            for key, value in self.weights.items():
                if key.startswith(lang + "|"):
                    weights[key[len(lang) + 1:]] = weights.get(key[len(lang) + 1:], 0.0) + value
            self._by_language[lang] = weights
        get = weights.get
        z = self.bias
        for key, value in feats.items():
            z += get(key, 0.0) * value
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class Topic:
    name: str
    threshold: float
    languages: tuple[str, ...]
    side_names: tuple[str, str]
    matcher: Any  # ahocorasick.Automaton: lower-cased key → tuple of _Form (every kind, one pass)
    home: dict[str, str] = field(default_factory=dict)
    layer: Layer | None = None


def build_topic(model: TopicModel, base: Path | None = None) -> Topic:
    """Compile every form of every word list into one Aho–Corasick automaton.

    ``base`` is the folder the topic file is in: the learned layer is read
    from there (``model:``), checked against ``model_sha256``.

    Raises:
        ConfigError: the model file is missing, altered or unreadable.
    """
    forms: list[_Form] = []
    for side, group in [*model.sides.items(), ("joint", model.joint)]:
        for term, spec in group.items():
            forms += [_form(text, "term", term, side, spec.weight) for text in (term, *spec.aliases)]
    forms += [_form(w, "exclude", w.lower(), "exclude", 0.0) for w in model.exclude]
    forms += [_form(w, "relation", w.lower(), "relation", 0.0) for w in model.relations]
    forms += [_form(w, "crowd", w.lower(), "crowd", 0.0) for w in model.crowd]
    for side, words in model.proxy.items():
        forms += [_form(w, "proxy", w, side, PROXY_WEIGHT) for w in words]
    for name, words in model.cues.items():
        forms += [_form(w, "cue", name, "cue", 0.0) for w in words]
    sides = list(model.sides)
    forms = [replace(f, sides=tuple(sides) if f.side == "joint" else (f.side,)) for f in forms]
    layer = _load_layer(base / model.model, model.model_sha256 or "") if model.model and base else None
    return Topic(name=model.name, threshold=model.threshold, languages=tuple(model.languages),
                 side_names=(sides[0], sides[1]), matcher=_automaton(forms), home=dict(model.home), layer=layer)


PROXY_WEIGHT = 0.3


def _form(text: str, kind: str, term: str, side: str, weight: float) -> _Form:
    text = " ".join(text.split())
    cased = text[:1].isupper()
    if _CYRILLIC.search(text):
        words = tuple(_RU_WORD_SPLIT.split(_fold(text.lower())))
        upper = tuple("A" if len(w) > 1 and w.isupper() else "U" if w[:1].isupper() else ""
                      for w in _RU_WORD_SPLIT.split(text))
        return _Form(text, kind, term, side, weight, cased, "cyrillic", words,
                     tuple(_ru_stem(w) for w in words), upper)
    script = "han" if _HAN_CHAR.search(text[:1] + text[-1:]) else "latin"
    return _Form(text, kind, term, side, weight, cased, script)


_RU_WORD_SPLIT = re.compile(r"[\s\-]+")


def _fold(text: str) -> str:
    return text.replace("ё", "е")


def _key(form: _Form) -> str:
    return form.stems[0] if form.script == "cyrillic" else _fold(form.text.lower())


def _automaton(forms: list[_Form]) -> Any:
    by_key: dict[str, list[_Form]] = {}
    for form in forms:
        if form.text:
            by_key.setdefault(_key(form), []).append(form)
    matcher = ahocorasick.Automaton()
    for key, entries in by_key.items():
        # Exact-case forms first, so "US" (a country) is tried before "us" would be.
        ordered = tuple(sorted(entries, key=lambda f: not f.cased))
        # A key whose forms are all Chinese without case fits wherever it is found: its first form, unchecked.
        direct = ordered[0] if all(f.script == "han" and not f.cased for f in ordered) else None
        # A key whose forms are all Latin fits nowhere inside a word ("us" in "discuss"): checked once, for all.
        latin = all(f.script == "latin" for f in ordered)
        matcher.add_word(key, (len(key), ordered, direct, latin))
    if by_key:
        matcher.make_automaton()
    return matcher


def _load_layer(path: Path, sha256: str) -> Layer:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the topic's model: {exc.strerror or exc}", path=str(path),
                          key="model") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256.lower():
        raise ConfigError(f"the topic's model does not match its model_sha256 (file has {digest})",
                          path=str(path), key="model_sha256")
    try:
        data = json.loads(raw)
        return Layer(weights={k: float(v) for k, v in data["weights"].items()}, bias=float(data["bias"]),
                     meta={k: v for k, v in data.items() if k not in ("weights", "bias")})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"the topic's model is not a weights file: {exc}", path=str(path), key="model") from exc


def load_topic(path: Path) -> Topic:
    """Read a topic file (and its learned layer, if it names one).

    Raises:
        ConfigError: missing file, bad YAML, a wrong key (named), or a model file that is
            missing or does not match its recorded SHA-256.
    """
    path = Path(path)
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read topic file: {exc.strerror or exc}", path=str(path), key="topic") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"topic file is not valid YAML: {exc}", path=str(path)) from exc
    try:
        model = TopicModel.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(err["msg"], path=str(path), key=".".join(map(str, err["loc"]))) from exc
    return build_topic(model, path.parent)


# --- language -----------------------------------------------------------------

def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text``'s language (see ``briefing.language``); kept for callers with one string."""
    return _language.detect_language(text)


# --- matching -----------------------------------------------------------------

def _lower(text: str) -> str:
    """Lower-case (ё as е) without changing length, so offsets in the copy are offsets in the text."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return _fold(low)


def _fit(form: _Form, text: str, low: str, start: int, end: int) -> int:
    """The end of ``form`` matched at ``start`` (its key ends at ``end``), or -1 if it does not fit there."""
    if form.script == "han":
        return end if not form.cased or text[start:end] == form.text else -1
    if form.script == "latin":
        if (start and (text[start - 1].isalnum() or text[start - 1] == "_")) or (
                end < len(text) and (text[end].isalnum() or text[end] == "_")):
            return -1
        return end if not form.cased or text[start:end] == form.text else -1
    if start and text[start - 1].isalpha():
        return -1
    pos = start
    for i, (word, stem, upper) in enumerate(zip(form.words, form.stems, form.upper)):
        if i:
            gap = pos
            while gap < len(low) and low[gap] in " -\u00a0" and gap - pos < 3:
                gap += 1
            if gap == pos:
                return -1
            pos = gap
        m = _CYR_WORD.match(low, pos)
        if not m:
            return -1
        got = m.group()
        if got != word and (len(word) <= SHORT or not got.startswith(stem) or got[len(stem):] not in _RU_ENDINGS):
            return -1
        if upper == "A" and not text[pos:m.end()].isupper():  # an acronym: ШОС, КНР, not "шос"
            return -1
        if upper == "U" and not text[pos].isupper():  # a name: "Си", "Ван И", not "и"
            return -1
        pos = m.end()
    if pos < len(text) and text[pos].isalnum():
        return -1
    return pos


@dataclass(slots=True)
class Match:
    start: int
    end: int
    form: _Form
    sentence: int = 0  # index of its sentence and paragraph in the article (set by ``_read``)
    paragraph: int = 0


def _matches(matcher: Any, text: str, low: str | None = None) -> list[Match]:
    """Every term, relation, crowd name, proxy and cue, leftmost-longest; exclusions swallow their span."""
    if not len(matcher):
        return []
    low = _lower(text) if low is None else low
    # (start, -end, order found, form): sorted as tuples, leftmost-longest first, ties in the order found.
    found: list[tuple[int, int, int, _Form]] = []
    size_text = len(text)
    for last, (size, forms, direct, latin) in matcher.iter(low):
        start = last - size + 1
        if direct is not None:
            found.append((start, -last - 1, len(found), direct))
            continue
        if latin and ((start and (text[start - 1].isalnum() or text[start - 1] == "_")) or (
                last + 1 < size_text and (text[last + 1].isalnum() or text[last + 1] == "_"))):
            continue
        best, best_end = None, -1
        for form in forms:  # forms sharing a key (a Russian stem): the longest fit, exact case first
            end = _fit(form, text, low, start, last + 1)
            if end > best_end:
                best, best_end = form, end
        if best is not None:
            found.append((start, -best_end, len(found), best))
    found.sort()
    out: list[Match] = []
    reach = 0
    for start, neg_end, _, form in found:
        if start < reach:
            continue
        reach = -neg_end
        if form.kind != "exclude":
            out.append(Match(start, reach, form))
    return out


# --- reading an article ----------------------------------------------------------------------

# Approximate on purpose (an abbreviation may split a sentence): relevance only
# needs to know which words share a sentence, and this runs on every article.
_SENTENCE_BREAK = re.compile(r"[.!?\n。！？…]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
TITLE_POINTS, SENTENCE_POINTS, RELATION_POINTS, PARAGRAPH_POINTS = 1.5, 0.35, 0.55, 0.15
CROWD = 3  # other countries in a sentence that make it a list, not a relationship
LEAD = 300  # characters of the text after the title that count as its lead


def _dateline_end(text: str) -> int:
    """Where a text's dateline ("MOSCOW, May 3. /TASS/.", "新华社北京5月3日电") ends: a place, not a party."""
    for pattern in (_language._LATIN_DATELINE, _language._HAN_DATELINE):
        m = pattern.match(text)
        if m:
            return m.end()
    return 0


@dataclass
class Reading:
    """What the lexicon found in one article, by place: the input of both scorers and of the evidence."""

    title: str
    full: str
    low: str  # ``full`` lower-cased, same offsets
    title_end: int  # offset where the text starts in ``full`` (title, blank line, text)
    dateline: int  # length of the text's dateline
    matches: list[Match]
    sentences: list[int]
    paragraphs: list[int]
    sides: dict[str, set[str]]  # place ("title", "lead", "text", "proxy") → sides named there (joint: both)
    met: bool  # both sides meet in the title or in one sentence
    implicit: str | None  # the side taken as implicit (home language) or stood for (proxy), if any

    @property
    def named(self) -> set[str]:
        """The sides named anywhere in the article (title, lead or text); a proxy names none."""
        return self.sides["title"] | self.sides["lead"] | self.sides["text"]


def _read(title: str, text: str, topic: Topic, lang: str) -> Reading:
    """Read an article once, for both scorers and the evidence: its matches, placed, and the sides per place."""
    text = _without_repeated_title(title, text)
    full = f"{title}\n\n{text}" if title else text
    title_end = len(title) + 2 if title else 0
    skip = _dateline_end(text)
    low = _lower(full)
    matches = [m for m in _matches(topic.matcher, full, low) if not (title_end <= m.start < title_end + skip)]
    sentences, paragraphs = _place(matches, full)
    sides = _sides_by_place(matches, topic, title_end, title_end + skip + LEAD)
    return Reading(title, full, low, title_end, skip, matches, sentences, paragraphs, sides,
                   _met(matches, sides, topic), _implicit_side(sides, topic, lang))


def _without_repeated_title(title: str, text: str) -> str:
    """The text without its title, for a feed that repeats the title as the text: it would count twice."""
    if title and text.strip().startswith(title.strip()):
        return text.strip()[len(title.strip()):].lstrip(" .:-—\n")
    return text


def _place(matches: list[Match], full: str) -> tuple[list[int], list[int]]:
    """Where sentences and paragraphs start, and each match's index in both: which names share a sentence."""
    sentences = [0] + [m.end() for m in _SENTENCE_BREAK.finditer(full)]
    paragraphs = [0] + [m.end() for m in _PARAGRAPH_BREAK.finditer(full)]
    for m in matches:
        m.sentence = bisect_right(sentences, m.start) - 1
        m.paragraph = bisect_right(paragraphs, m.start) - 1
    return sentences, paragraphs


def _sides_by_place(matches: list[Match], topic: Topic, title_end: int, lead_end: int) -> dict[str, set[str]]:
    """The sides named in the title, the lead and the rest of the text, and those a proxy stands for."""
    sides: dict[str, set[str]] = {"title": set(), "lead": set(), "text": set(), "proxy": set()}
    for m in matches:
        f = m.form
        if f.kind == "term":
            place = "title" if m.start < title_end else "lead" if m.start < lead_end else "text"
            sides[place].update(f.sides)
        elif f.kind == "proxy":
            sides["proxy"].add(f.side)
    return sides


def _met(matches: list[Match], sides: dict[str, set[str]], topic: Topic) -> bool:
    """Both sides in the title or in one sentence: the meeting that puts an article to the learned layer."""
    if len(sides["title"]) == 2:
        return True
    per_sentence: dict[int, set[str]] = {}
    for m in matches:
        if m.form.kind == "term":
            found = per_sentence.setdefault(m.sentence, set())
            found.update(m.form.sides)
            if len(found) == 2:
                return True
    return False


def _implicit_side(sides: dict[str, set[str]], topic: Topic, lang: str) -> str | None:
    """For an article naming only one side, the other, if its language's outlets leave it implicit
    (``home``) or a proxy stands for it; None otherwise (a side simply absent is no evidence)."""
    named = sides["title"] | sides["lead"] | sides["text"]
    if len(named) != 1:
        return None
    missing = (set(topic.side_names) - named).pop()
    return missing if topic.home.get(lang) == missing or missing in sides["proxy"] else None


def score(title: str, text: str, topic: Topic, *, language: str | None = None) -> Relevance:
    """Score an article for ``topic`` in [0, 1], with the matches as evidence.

    An article where one side never appears (and is neither implicit in its
    language nor stood for), or where the two never meet in the title or in
    one sentence, scores 0. Otherwise the learned layer's probability is the
    score, or, for a topic without one, points for meetings squashed with
    1 - e^-x (see ``_points``). A routine market item is capped at
    ``MARKET_CAP`` (see ``_market_noise``), with evidence saying so.

    ``language`` skips detection when the caller knows it. An article in a
    language the topic does not cover gets score 0, ``relevant=False`` and a
    reason, so it can be listed as unscored rather than dropped unseen.
    """
    lang = language or _language.detect_language(title, text)
    if not _covers(topic, lang):
        return _not_scored(lang)
    r = _read(title, text, topic, lang)
    if not _put_forward(r, topic):
        return Relevance(0.0, 0.0 >= topic.threshold, _mentions(r), language=lang)
    layer = topic.layer
    value, evidence = _layer_score(layer, r, topic, lang) if layer else _points(r, topic)
    if _market_noise(r, topic):
        value, evidence = _market_capped(value, evidence)
    return Relevance(score=value, relevant=value >= topic.threshold, evidence=evidence, language=lang)


def _covers(topic: Topic, lang: str) -> bool:
    """A topic with no languages listed covers every language; otherwise only those it lists."""
    return not topic.languages or lang in topic.languages


def _not_scored(lang: str) -> Relevance:
    """A verdict with a reason instead of a score, so the digest can list the article as unscored."""
    return Relevance(0.0, False, (), language=lang, reason=f"not scored: language '{lang}' is not covered by the topic")


def _put_forward(r: Reading, topic: Topic) -> bool:
    """Whether an article is scored at all: the layer is asked only when the sides meet (``_asks_layer``);
    the points scorer needs both sides named somewhere. A lone side is a mention, not a relationship."""
    return _asks_layer(r) if topic.layer else len(r.named) == 2


def _mentions(r: Reading) -> tuple[Evidence, ...]:
    """The evidence of an article not put forward: each term once, as seen in the text, none meeting."""
    found = {(m.form.term, "text"): Evidence(m.form.term, m.form.side, "text", m.form.weight)
             for m in r.matches if m.form.kind == "term"}
    return tuple(found.values())


def _layer_score(layer: Layer, r: Reading, topic: Topic, lang: str) -> tuple[float, tuple[Evidence, ...]]:
    """The learned layer's probability, rounded like the points score, with the lexicon's evidence beside it."""
    return round(layer.probability(features(r, topic, lang), lang), 3), _evidence(r, topic)


def _market_capped(value: float, evidence: tuple[Evidence, ...]) -> tuple[float, tuple[Evidence, ...]]:
    """A routine market item's score held at ``MARKET_CAP``, and evidence saying why it is low."""
    return min(value, MARKET_CAP), (*evidence, Evidence("market item", "cue", "title", 0.0))


MARKET_CAP = 0.2  # the score of a routine market item (a rate fixing, a trading volume)
WEAK = 0.6  # a side named only this weakly (its currency, a place) is no party to a deal


def _market_noise(r: Reading, topic: Topic) -> bool:
    """A routine market item: a market word in the title, no relation word, one side only weakly named.

    "Bank of Russia sets official yuan rate", "Yuan-rouble trading volume on Moscow Exchange": the
    rubric's class (b). "Yuan share in Russia's trade settlements" has a relation word and stays.
    Of 7 training items this rule fires on, 6 are labelled off topic.
    """
    head = r.title_end + r.dateline + LEAD
    cue = relation = False
    best: dict[str, float] = {}
    for m in r.matches:
        if m.start >= r.title_end:
            if m.start >= head:
                break
            if m.form.kind != "term":
                continue
        kind = m.form.kind
        if kind == "cue" and m.form.term == "market":
            cue = True
        elif kind == "relation":
            relation = True
        elif kind == "term":
            for side in m.form.sides:
                best[side] = max(best.get(side, 0.0), m.form.weight)
    return cue and not relation and len(best) == 2 and min(best.values()) <= WEAK


def _asks_layer(r: Reading) -> bool:
    """Both sides meet (title or one sentence), or one is implicit or stood for: the layer reads how.

    Two sides named only in different sentences ("China's exports rose. Separately, Russia's central
    bank held rates.") are not asked: of 36 such training items, one was on topic.
    """
    return r.met or r.implicit is not None


def layer_input(title: str, text: str, topic: Topic, *, language: str | None = None) -> dict[str, float] | None:
    """The learned layer's features for an article, or None when ``score`` would not ask it.

    For ``bench/train_relevance.py``: training reads exactly what scoring reads. Works on a
    topic built without its layer (the layer is what is being trained).
    """
    lang = language or _language.detect_language(title, text)
    if not _covers(topic, lang):
        return None
    r = _read(title, text, topic, lang)
    if not _asks_layer(r):
        return None
    return conjoined(features(r, topic, lang), lang)


def _evidence(r: Reading, topic: Topic) -> tuple[Evidence, ...]:
    """Each term (and proxy) with where it matched: title, a sentence or paragraph naming both, or the text."""
    a, b = topic.side_names
    in_sentence: dict[int, set[str]] = {}
    in_paragraph: dict[int, set[str]] = {}
    for m in r.matches:
        if m.form.kind in ("term", "proxy"):
            sides = m.form.sides
            in_sentence.setdefault(m.sentence, set()).update(sides)
            in_paragraph.setdefault(m.paragraph, set()).update(sides)
    both = {a, b}
    title_met = both <= (r.sides["title"] | ({r.implicit} if r.implicit else set()))
    out: dict[tuple[str, str], Evidence] = {}
    relations: dict[str, Evidence] = {}
    for m in r.matches:
        f = m.form
        s = m.sentence
        if f.kind == "relation":
            if f.term not in relations and (m.start < r.title_end or both <= in_sentence.get(s, set())):
                relations[f.term] = Evidence(f.term, "relation", "title" if m.start < r.title_end else "sentence",
                                             RELATION_POINTS)
            continue
        if f.kind not in ("term", "proxy"):
            continue
        p = m.paragraph
        where = ("title" if m.start < r.title_end and title_met else "sentence" if both <= in_sentence[s] else
                 "paragraph" if both <= in_paragraph[p] else "title" if m.start < r.title_end else "text")
        if (f.term, where) not in out:
            out[f.term, where] = Evidence(f.term, f.side, where, f.weight)
    if r.implicit and r.implicit not in r.named:
        why = "implicit" if r.implicit not in r.sides["proxy"] else "proxy"
        out.setdefault((r.implicit, why), Evidence(f"{r.implicit} ({why})", r.implicit, "text", 0.0))
    return (*out.values(), *list(relations.values())[:3])


@dataclass
class _Meetings:
    """Where an article's sides are named, for the points scorer: per place, each side's strongest weight."""

    title: dict[str, float] = field(default_factory=dict)
    sentences: dict[int, dict[str, float]] = field(default_factory=dict)
    paragraphs: dict[int, dict[str, float]] = field(default_factory=dict)
    context: dict[int, list[_Form]] = field(default_factory=dict)  # the relation and crowd words of a sentence
    title_related: bool = False  # a relation word in the title relates every sentence where both sides meet


def _meetings(r: Reading, topic: Topic) -> _Meetings:
    """Collect, in one pass over the matches, what ``_points`` weighs: the sides per place and their context."""
    out = _Meetings()
    for m in r.matches:
        f, s = m.form, m.sentence
        if f.kind in ("relation", "crowd"):
            out.context.setdefault(s, []).append(f)
            if f.kind == "relation" and m.start < r.title_end:
                out.title_related = True
            continue
        if f.kind != "term":
            continue
        buckets = [out.sentences.setdefault(s, {}), out.paragraphs.setdefault(m.paragraph, {})]
        if m.start < r.title_end:
            buckets.append(out.title)
        for sd in f.sides:
            for bucket in buckets:
                bucket[sd] = max(bucket.get(sd, 0.0), f.weight)
    return out


def _meet(sides: dict[str, float], topic: Topic) -> float:
    """How strongly both sides meet in one place: the weaker side's weight, 0 if one is missing."""
    a, b = topic.side_names
    return min(sides[a], sides[b]) if a in sides and b in sides else 0.0


def _points(r: Reading, topic: Topic) -> tuple[float, tuple[Evidence, ...]]:
    """The rule score for a topic with no learned layer: points for places where both sides meet.

    Title 1.5; per sentence where both meet 0.35, +0.55 with a relation word
    in it or in the title; per paragraph 0.15 (each scaled by the weaker
    side's weight), squashed with 1 - e^-x: one bare co-occurrence (0.39)
    stays under a 0.5 threshold, one related sentence (0.65) passes. A
    sentence naming ``CROWD`` or more other countries counts only as a
    paragraph meeting.
    """
    met = _meetings(r, topic)
    points = TITLE_POINTS * _meet(met.title, topic)
    for s, sides in met.sentences.items():
        w = _meet(sides, topic)
        ctx = met.context.get(s, [])
        if not w or sum(f.kind == "crowd" for f in ctx) >= CROWD:
            continue  # no meeting, or a list of countries: not a relationship
        related = any(f.kind == "relation" for f in ctx) or met.title_related
        points += (SENTENCE_POINTS + (RELATION_POINTS if related else 0.0)) * w
    points += PARAGRAPH_POINTS * sum(_meet(sides, topic) for sides in met.paragraphs.values())
    return round(1 - math.exp(-points), 3), _evidence(r, topic)


# --- the learned layer's features ----------------------------------------------------------------

_TOKEN = re.compile(r"[^\W\d_]+|\d+|[,&/:;?!()\"«»“”—–\-]|[\u3000-\u303f\uff00-\uffef]")
_COORD = frozenset({",", "and", "&", "or", "nor", "и", "или", "/", "、", "和", "与", "及", "同", "-", "–", "—"})
NGRAM_CHARS = 400  # the lead's share of n-grams: bounded time for long articles
LEAD_TOKENS = 60
# Word n-grams enter at this value, below the structural features' 1.0: under the same L2 penalty a
# rare headline word then needs more evidence to weigh as much (measured: better cross-validated F1).
NGRAM_VALUE = 0.4


def _roles(r: Reading, topic: Topic, start: int, end: int) -> list[str]:
    """The words of ``full[start:end]``, each lexicon match replaced by its role.

    <S> a side (<R>/<C> would fit only one topic), <J> a joint term, <X> a
    crowd country, <P> a proxy; relation words and cues keep their word.
    Chinese is read as characters (no segmentation needed for n-grams).
    """
    out: list[str] = []
    pos = start
    for m in r.matches:
        if m.end <= start or m.start < pos:
            continue
        if m.start >= end:
            break
        out += _tokens(r.low[pos:m.start])
        f = m.form
        role = {"term": "<J>" if f.side == "joint" else "<S>", "crowd": "<X>", "proxy": "<P>"}.get(f.kind)
        word = r.low[m.start:m.end]
        out.append(role or ("<V>" + word if f.kind == "relation" else word))
        if role and word.endswith(("'s", "’s")):
            out.append("'s")
        pos = m.end
    out += _tokens(r.low[pos:end])
    return out


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for tok in _TOKEN.findall(text):  # already lower-cased
        if tok.isdigit():
            out.append("0")
        elif _HAN_CHAR.match(tok):
            out += list(tok)
        else:
            out.append(tok[:6] if _CYRILLIC.match(tok) else tok)  # a Russian word's first letters: a crude stem
    return out


def _pattern_features(tokens: list[str], prefix: str, feats: dict[str, float]) -> None:
    """Coordination and order of the roles in one stretch of text: list, pair, third party first."""
    roles = [(i, t) for i, t in enumerate(tokens) if t in ("<S>", "<J>", "<X>", "<P>")]
    sides = [i for i, t in roles if t == "<S>"]
    crowd = sum(t == "<X>" for _, t in roles)
    if crowd:
        feats[f"{prefix}crowd"] = min(crowd, 3) / 3
    if tokens and tokens[0] in ("<S>", "<J>", "<X>"):
        feats[f"{prefix}first{tokens[0]}"] = 1.0
    _coordination_features(tokens, roles, prefix, feats)
    _side_order_features(tokens, roles, sides, prefix, feats)
    _attribution_features(tokens, prefix, feats)
    if len(sides) >= 2:
        feats[f"{prefix}sides"] = 1.0


def _coordination_features(tokens: list[str], roles: list[tuple[int, str]], prefix: str,
                           feats: dict[str, float]) -> None:
    """How neighbouring roles are joined: by "and" or a comma (two entries of a list), directly, or by a few
    words (what stands between two sides is often the relation). Two or more joins make a list."""
    chained = 0
    for (i, t), (j, u) in itertools.pairwise(roles):
        gap = tokens[i + 1:j]
        if len(gap) <= 2 and gap and all(g in _COORD for g in gap):
            chained += 1
            feats[f"{prefix}coord{t}{u}"] = 1.0
            if t == u == "<S>":
                _pair_features(tokens, i, j, prefix, feats)
        elif not gap and t == u == "<S>":
            feats[f"{prefix}adjacent"] = 1.0
        elif t == u == "<S>" and len(gap) <= 8:
            feats[f"{prefix}near"] = 1.0
            for tok in gap:
                feats[f"{prefix}mid:{tok}"] = 1.0
    if chained >= 2:
        feats[f"{prefix}list"] = 1.0


def _pair_features(tokens: list[str], i: int, j: int, prefix: str, feats: dict[str, float]) -> None:
    """A coordinated pair of sides (``tokens[i]`` and ``tokens[j]``): what stands before it (its actor?)
    and the two words after it (its verb?) — "<X> sanctions <S> and <S>" against "<S> and <S> sign"."""
    feats[f"{prefix}pair-prev:{tokens[i - 1] if i else '^'}"] = 1.0
    for tok in tokens[j + 1:j + 3]:
        feats[f"{prefix}pair-next:{tok}"] = 1.0


def _side_order_features(tokens: list[str], roles: list[tuple[int, str]], sides: list[int], prefix: str,
                         feats: dict[str, float]) -> None:
    """What stands around the sides: a third party before the first, a possessive, a relation word between
    the sides or right after them."""
    if sides:
        first = sides[0]
        if any(t == "<X>" for i, t in roles if i < first):
            feats[f"{prefix}third-before-side"] = 1.0  # "US sanctions firms from <S> …": a third party acts
        if "'s" in tokens[first + 1:first + 2]:
            feats[f"{prefix}possessive"] = 1.0
    if len(sides) >= 2:
        between = tokens[sides[0] + 1:sides[-1]]
        if any(tok.startswith("<V>") for tok in between):
            feats[f"{prefix}relation-between"] = 1.0  # "<S> to support <S>", "<S> 's gas to <S>"
        after = tokens[sides[-1] + 1:sides[-1] + 4]
        if any(tok.startswith("<V>") for tok in after):
            feats[f"{prefix}relation-after"] = 1.0  # "<S> and <S> sign …"


def _attribution_features(tokens: list[str], prefix: str, feats: dict[str, float]) -> None:
    """A headline ending in "— Kremlin aide" (TASS/RT style) says who says it: a side, or a third party."""
    for dash in ("—", "–", "-"):
        if dash in tokens[2:]:
            tail = tokens[len(tokens) - tokens[::-1].index(dash):]
            if 0 < len(tail) <= 6:
                feats[f"{prefix}attributed"] = 1.0
                if "<S>" in tail:
                    feats[f"{prefix}attributed-to-side"] = 1.0
                if "<X>" in tail:
                    feats[f"{prefix}attributed-to-third"] = 1.0
            break


def features(r: Reading, topic: Topic, lang: str) -> dict[str, float]:
    """The learned layer's input: named features, each also conjoined with the language ("zh|t:sides").

    Pure function of the reading, used identically by ``score`` and by
    ``bench/train_relevance.py``, so the shipped weights mean what they meant in training.
    The layer sums them in this order: the steps below keep the order they were trained in.
    """
    feats: dict[str, float] = {"bias": 1.0}
    _place_features(r, topic, feats)
    tally = _tally(r, topic, feats)
    _tally_features(tally, topic, feats)
    if len(r.full) - r.title_end > 2 * LEAD:
        feats["long"] = 1.0
    _headline_features(r, topic, feats)
    _lead_sentence_features(r, feats)
    return feats


RELATED_AFTER = 40  # characters after the second side where a relation word still reads as theirs ("… sign a deal")


def _lead_sentence_features(r: Reading, feats: dict[str, float]) -> None:
    """Both sides in one sentence of the lead (not the title), and a relation word between them or just after:
    "Moscow, May 3. Lavrov and Wang Yi held talks on …", the lead's own statement of the tie."""
    head = r.title_end + r.dateline + LEAD
    per_sentence: dict[int, list[Match]] = {}
    for m in r.matches:
        start = r.sentences[m.sentence]
        if start >= head:
            break
        if start >= r.title_end:
            per_sentence.setdefault(m.sentence, []).append(m)
    for ms in per_sentence.values():
        first: dict[str, int] = {}
        for m in ms:
            if m.form.kind == "term":
                for side in m.form.sides:
                    first.setdefault(side, m.start)
        if len(first) < 2:
            continue
        feats["ls:met"] = 1.0
        lo, hi = sorted(first.values())
        if any(m.form.kind == "relation" and lo < m.start < hi + RELATED_AFTER for m in ms):
            feats["ls:met-related"] = 1.0
            return


def _place_features(r: Reading, topic: Topic, feats: dict[str, float]) -> None:
    """Which side is named where (title, lead, text), how early both are, and what stands in for a missing one."""
    a, b = topic.side_names
    title_sides, lead_sides, text_sides = r.sides["title"], r.sides["lead"], r.sides["text"]
    both = {a, b}
    for side in both:
        for place, found in (("t", title_sides), ("l", lead_sides), ("x", text_sides)):
            if side in found:
                feats[f"{place}:{side}"] = 1.0
    if both <= title_sides:
        feats["t:both"] = 1.0
    if both <= title_sides | lead_sides:
        feats["tl:both"] = 1.0
    elif both <= title_sides | lead_sides | text_sides:
        feats["x:both-only-in-text"] = 1.0
    if r.implicit:
        feats["implicit:" + ("proxy" if r.implicit in r.sides["proxy"] else "home") + ":" + r.implicit] = 1.0


@dataclass
class _Tally:
    """What one pass over the matches counts for the layer, beyond the flags it sets on the way."""

    weights: dict[str, float]  # each side's strongest term weight, halved past the lead
    counts: dict[str, float] = field(default_factory=dict)  # cue list → matches, in the title or the text
    per_sentence: dict[int, set[str]] = field(default_factory=dict)
    relation_sentences: set[int] = field(default_factory=set)
    crowd_sentences: dict[int, int] = field(default_factory=dict)  # sentence → other countries named in it


def _tally(r: Reading, topic: Topic, feats: dict[str, float]) -> _Tally:
    """One pass over the matches: the tally, and the flags for joint terms, relations and proxies in the title."""
    a, b = topic.side_names
    t = _Tally(weights={a: 0.0, b: 0.0})
    for m in r.matches:
        f, s = m.form, m.sentence
        in_head = m.start < r.title_end + LEAD
        if f.kind == "term":
            for sd in f.sides:
                t.weights[sd] = max(t.weights[sd], f.weight if in_head else f.weight / 2)
                t.per_sentence.setdefault(s, set()).add(sd)
            if f.side == "joint":
                feats["t:joint" if m.start < r.title_end else "x:joint"] = 1.0
        elif f.kind == "relation":
            t.relation_sentences.add(s)
            if m.start < r.title_end:
                feats["t:relation"] = 1.0
        elif f.kind == "crowd":
            t.crowd_sentences[s] = t.crowd_sentences.get(s, 0) + 1
        elif f.kind == "cue":
            key = ("t:cue:" if m.start < r.title_end else "x:cue:") + f.term
            t.counts[key] = t.counts.get(key, 0) + 1
        elif f.kind == "proxy" and m.start < r.title_end:
            feats["t:proxy"] = 1.0
    return t


def _tally_features(t: _Tally, topic: Topic, feats: dict[str, float]) -> None:
    """The tally as features: cue counts, the weaker side's weight, sentences where the sides meet (with a
    relation word, or in a crowd of countries) and sentences naming each side, on log scales."""
    a, b = topic.side_names
    both = {a, b}
    for key, n in t.counts.items():
        feats[key] = min(n, 3) / 3
    feats["w:min"] = min(t.weights.values())
    met = [s for s, found in t.per_sentence.items() if both <= found]
    if met:
        feats["s:met"] = math.log1p(len(met)) / 2
        feats["s:met-related"] = math.log1p(sum(s in t.relation_sentences for s in met)) / 2
        feats["s:met-crowded"] = math.log1p(sum(t.crowd_sentences.get(s, 0) >= CROWD for s in met)) / 2
    for side in both:
        n = sum(side in found for found in t.per_sentence.values())
        feats[f"s:{side}"] = math.log1p(n) / 3


def _headline_features(r: Reading, topic: Topic, feats: dict[str, float]) -> None:
    """The title's and the lead's words with names replaced by roles: their patterns, and word n-grams."""
    title_tokens = _roles(r, topic, 0, r.title_end)
    head_end = min(len(r.full), r.title_end + r.dateline + NGRAM_CHARS)
    lead_tokens = _roles(r, topic, r.title_end + r.dateline, head_end)
    _pattern_features(title_tokens, "t:", feats)
    _pattern_features(lead_tokens[:40], "l:", feats)
    _ngram_features(title_tokens, "t", feats)
    _ngram_features(lead_tokens[:LEAD_TOKENS], "l", feats)


def _ngram_features(tokens: list[str], prefix: str, feats: dict[str, float]) -> None:
    """Unigrams and bigrams of one stretch, at ``NGRAM_VALUE``: "<S> and <S> sign" is read as its words."""
    for tok in tokens:
        feats[f"{prefix}1:{tok}"] = NGRAM_VALUE
    for first, second in itertools.pairwise(tokens):
        feats[f"{prefix}2:{first} {second}"] = NGRAM_VALUE


def conjoined(feats: dict[str, float], lang: str) -> dict[str, float]:
    """Each feature twice: shared by all languages, and the language's own copy ("zh|t:both").

    One model then learns what holds everywhere and what each language's outlets do differently
    (the layer's weights for a language are the sum of the two, precomputed at load).
    """
    out = dict(feats)
    for key, value in feats.items():
        out[f"{lang}|{key}"] = value
    return out
