"""Is an article about the topic's *relationship*, not just a mention of one side?

The topic is data (``config/topics/*.yaml``): two sides with weighted terms and
aliases, joint terms that name the relationship, relation words, crowd terms
(other countries: a list of ten nations is not a relationship), exclusions,
and the languages the lexicon is written in.

The score grows with the places where both sides meet — the title, a sentence
(more with a relation word), a paragraph — and is capped low when one side
never appears. Every match comes back as evidence, so the digest can say why
it kept an article. Articles in a language the topic does not cover are
marked (``language``, ``reason``) and not scored, rather than scored as noise.

Speed: one Aho–Corasick pass (pyahocorasick, in C) finds every term, relation
word, crowd name and exclusion; one regex finds sentence and paragraph
boundaries; Python only loops over the matches. Pure: no I/O besides ``load_topic``.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from briefing import language as _language
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


@dataclass(frozen=True)
class _Form:
    """One way of writing a term, as the matcher stores it."""

    text: str  # as written in the topic file
    kind: str  # "term", "relation", "crowd" or "exclude"
    term: str  # the canonical term it counts as
    side: str  # a side name, "joint", or the kind for non-terms
    weight: float
    cased: bool  # capitalised terms must match case exactly
    bound_start: bool  # a Latin first letter must start a word (Chinese has no word boundaries)
    bound_end: bool


@dataclass(frozen=True)
class Topic:
    name: str
    threshold: float
    languages: tuple[str, ...]
    side_names: tuple[str, str]
    matcher: Any  # ahocorasick.Automaton of side terms and exclusions: lower-cased form → tuple of _Form
    context: Any  # the same for relation words and crowd names, run only on sentences where both sides meet


def build_topic(model: TopicModel) -> Topic:
    """Compile every form of every term into one Aho–Corasick automaton.

    One pass over the text finds all terms, relation words, crowd names and
    exclusions at once, leftmost-longest, whatever the lexicon's size.
    """
    terms: list[_Form] = []
    for side, group in [*model.sides.items(), ("joint", model.joint)]:
        for term, spec in group.items():
            terms += [_form(text, "term", term, side, spec.weight) for text in (term, *spec.aliases)]
    exclusions = [_form(w, "exclude", w.lower(), "exclude", 0.0) for w in model.exclude]
    context = ([_form(w, "relation", w.lower(), "relation", 0.0) for w in model.relations]
               + [_form(w, "crowd", w.lower(), "crowd", 0.0) for w in model.crowd])
    sides = list(model.sides)
    return Topic(name=model.name, threshold=model.threshold, languages=tuple(model.languages),
                 side_names=(sides[0], sides[1]), matcher=_automaton(terms + exclusions),
                 context=_automaton(context))


def _form(text: str, kind: str, term: str, side: str, weight: float) -> _Form:
    text = " ".join(text.split())
    return _Form(text, kind, term, side, weight, cased=text[:1].isupper(),
                 bound_start=text[:1].isascii(), bound_end=text[-1:].isascii())


def _automaton(forms: list[_Form]) -> Any:
    by_key: dict[str, list[_Form]] = {}
    for form in forms:
        if form.text:
            by_key.setdefault(form.text.lower(), []).append(form)
    matcher = ahocorasick.Automaton()
    for key, entries in by_key.items():
        # Exact-case forms first, so "US" (a country) is tried before "us" would be.
        matcher.add_word(key, tuple(sorted(entries, key=lambda f: not f.cased)))
    if by_key:
        matcher.make_automaton()
    return matcher


def load_topic(path: Path) -> Topic:
    """Read a topic file.

    Raises:
        ConfigError: missing file, bad YAML or a wrong key (named).
    """
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read topic file: {exc.strerror or exc}", path=str(path), key="topic") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"topic file is not valid YAML: {exc}", path=str(path)) from exc
    try:
        return build_topic(TopicModel.model_validate(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(err["msg"], path=str(path), key=".".join(map(str, err["loc"]))) from exc


# --- language -----------------------------------------------------------------

def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text``'s language (see ``briefing.language``); kept for callers with one string."""
    return _language.detect_language(text)


# --- scoring ----------------------------------------------------------------------

# Approximate on purpose (an abbreviation may split a sentence): relevance only
# needs to know which words share a sentence, and this runs on every article.
_SENTENCE_BREAK = re.compile(r"[.!?\n。！？…]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
TITLE_POINTS, SENTENCE_POINTS, RELATION_POINTS, PARAGRAPH_POINTS = 1.5, 0.35, 0.55, 0.15
CROWD = 3  # other countries in a sentence that make it a list, not a relationship


def _lower(text: str) -> str:
    """Lower-case without changing length, so offsets in the copy are offsets in the text."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _matches(matcher: Any, text: str) -> list[tuple[int, _Form]]:
    """(start, form) of every term, relation and crowd name, leftmost-longest.

    Exclusions match like terms and swallow their span ("fine china"). Latin
    ends must sit at word boundaries; Chinese script has none to check.
    """
    out: list[tuple[int, _Form]] = []
    if not len(matcher):
        return out
    last = len(text) - 1
    for end, forms in matcher.iter_long(_lower(text)):
        first = forms[0]
        start = end - len(first.text) + 1
        if first.bound_start and start and (text[start - 1].isalnum() or text[start - 1] in "_-"):
            continue
        if first.bound_end and end < last and (text[end + 1].isalnum() or text[end + 1] in "_-"):
            continue
        if len(forms) == 1 and not first.cased:
            if first.kind != "exclude":
                out.append((start, first))
            continue
        stop = end + 1
        for form in forms:
            if form.cased and text[start:stop] != form.text:
                continue
            if form.kind != "exclude":
                out.append((start, form))
            break
    return out


def score(title: str, text: str, topic: Topic, *, language: str | None = None) -> Relevance:
    """Score an article for ``topic`` in [0, 1], with the matches as evidence.

    Points: both sides in the title 1.5; per sentence where both meet 0.35,
    +0.55 with a relation word in it or in the title; per paragraph where
    both meet 0.15 (each scaled by the weaker side's weight), squashed with
    1 - e^-x: one bare co-occurrence (0.39) stays under the default 0.5
    threshold, one related sentence (0.65) passes. An article
    where one side never appears scores 0. A sentence naming ``CROWD`` or
    more other countries counts only as a paragraph meeting.

    ``language`` skips detection when the caller knows it. An article in a
    language the topic does not cover gets score 0, ``relevant=False`` and a
    reason, so it can be listed as unscored rather than dropped unseen.
    """
    full = f"{title}\n\n{text}" if title else text
    lang = language or _language.detect_language(title, text)
    if topic.languages and lang not in topic.languages:
        return Relevance(0.0, False, (), language=lang,
                         reason=f"not scored: language '{lang}' is not covered by the topic")
    terms = _matches(topic.matcher, full)
    a, b = topic.side_names
    present = {sd for _, f in terms for sd in ((a, b) if f.side == "joint" else (f.side,))}
    if not (a in present and b in present):  # one side or none: no meeting can score
        evidence = {(f.term, "text"): Evidence(f.term, f.side, "text", f.weight) for _, f in terms}
        return Relevance(0.0, 0.0 >= topic.threshold, tuple(evidence.values()), language=lang)

    title_end = len(title) if title else -1
    paragraphs = [0] + [m.end() for m in _PARAGRAPH_BREAK.finditer(full)]
    sentences = [0] + [m.end() for m in _SENTENCE_BREAK.finditer(full)]
    in_title: dict[str, float] = {}
    in_sentence: dict[int, dict[str, float]] = {}
    in_paragraph: dict[int, dict[str, float]] = {}
    found: list[tuple[_Form, int, int, bool]] = []  # form, sentence, paragraph, in title
    for start, form in terms:
        s, p = bisect_right(sentences, start) - 1, bisect_right(paragraphs, start) - 1
        found.append((form, s, p, start < title_end))
        buckets = [in_sentence.setdefault(s, {}), in_paragraph.setdefault(p, {})]
        if start < title_end:
            buckets.append(in_title)
        for sd in ((a, b) if form.side == "joint" else (form.side,)):
            for bucket in buckets:
                if bucket.get(sd, 0.0) < form.weight:
                    bucket[sd] = form.weight

    def meet(sides: dict[str, float]) -> float:
        return min(sides[a], sides[b]) if a in sides and b in sides else 0.0

    points = TITLE_POINTS * meet(in_title)
    where_s: set[int] = set()
    related: dict[int, str] = {}
    titled = next((f.term for _, f in _matches(topic.context, title) if f.kind == "relation"), None) if title else None
    for s, sides in in_sentence.items():
        w = meet(sides)
        if not w:
            continue
        end = sentences[s + 1] if s + 1 < len(sentences) else len(full)
        context = _matches(topic.context, full[sentences[s]:end])
        if sum(f.kind == "crowd" for _, f in context) >= CROWD:
            continue  # a list of countries, not a relationship
        where_s.add(s)
        relation = next((f.term for _, f in context if f.kind == "relation"), titled)
        if relation is not None:
            related[s] = relation
        points += (SENTENCE_POINTS + (RELATION_POINTS if relation else 0.0)) * w
    where_p = {p for p, sides in in_paragraph.items() if meet(sides)}
    points += PARAGRAPH_POINTS * sum(meet(in_paragraph[p]) for p in where_p)
    value = round(1 - math.exp(-points), 3)

    evidence: dict[tuple[str, str], Evidence] = {}
    title_met = bool(meet(in_title))
    for form, s, p, titled in found:
        where = ("title" if titled and title_met else "sentence" if s in where_s else
                 "paragraph" if p in where_p else "text")
        evidence.setdefault((form.term, where), Evidence(form.term, form.side, where, form.weight))
    for s in sorted(related):
        evidence.setdefault((related[s], "sentence"), Evidence(related[s], "relation", "sentence", RELATION_POINTS))
    return Relevance(score=value, relevant=value >= topic.threshold, evidence=tuple(evidence.values()),
                     language=lang)
