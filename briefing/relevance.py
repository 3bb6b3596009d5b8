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

Speed: one regex pass for terms and one for relation words per article, then
bisect into sentence and paragraph boundaries found by a third regex; Python
only loops over the matches. Pure: no I/O besides ``load_topic``.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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
class Topic:
    name: str
    threshold: float
    languages: tuple[str, ...]
    side_names: tuple[str, str]
    exact: dict[str, tuple[str, str, float]]  # matched text → (term, side or "joint", weight)
    folded: dict[str, tuple[str, str, float]]  # lower-cased, for case-insensitive terms
    pattern: re.Pattern[str]
    relations: re.Pattern[str] | None
    crowd: re.Pattern[str] | None
    exclude: re.Pattern[str] | None


def _alternation(terms: Iterable[str]) -> str:
    """Case-sensitive for names (capitalised terms), case-insensitive for the rest."""
    parts = []
    for term in sorted(set(terms), key=len, reverse=True):
        body = re.escape(term).replace(r"\ ", r"\s+")
        parts.append(body if term[:1].isupper() else f"(?i:{body})")
    return r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])"


def build_topic(model: TopicModel) -> Topic:
    exact: dict[str, tuple[str, str, float]] = {}
    folded: dict[str, tuple[str, str, float]] = {}
    groups: list[tuple[str, Terms]] = [*model.sides.items(), ("joint", model.joint)]
    for side, terms in groups:
        for term, spec in terms.items():
            for form in (term, *spec.aliases):
                (exact if form[:1].isupper() else folded)[form if form[:1].isupper() else form.lower()] = (
                    term, side, spec.weight)
    sides = list(model.sides)
    return Topic(
        name=model.name, threshold=model.threshold, languages=tuple(model.languages),
        side_names=(sides[0], sides[1]), exact=exact, folded=folded,
        pattern=re.compile(_alternation([*exact, *folded])),
        relations=re.compile(_alternation(model.relations)) if model.relations else None,
        crowd=re.compile(_alternation(model.crowd)) if model.crowd else None,
        exclude=re.compile(_alternation(model.exclude)) if model.exclude else None,
    )


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

_EN_FUNCTION = frozenset("the and of to in a is that for on with said was as by at from it has have be are "
                         "its their will an not this who which were".split())
_WORD = re.compile(r"[^\W\d_]+")


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text``'s language; English is recognised cheaply first.

    Most articles are English, so a function-word count decides them in
    microseconds; anything else goes to py3langid.
    """
    sample = text[:600]
    words = _WORD.findall(sample)
    if not words:
        return "und"
    ascii_words = sum(w.isascii() for w in words)
    english = sum(w.lower() in _EN_FUNCTION for w in words)
    if ascii_words / len(words) > 0.9 and english / len(words) >= 0.12:
        return "en"
    import py3langid

    return str(py3langid.classify(sample)[0])


# --- scoring ----------------------------------------------------------------------

_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[^\W_a-z])|(?<=[。！？])|\n")
TITLE_POINTS, SENTENCE_POINTS, RELATION_POINTS, PARAGRAPH_POINTS = 1.5, 0.6, 0.3, 0.25
ONE_SIDE_CAP = 0.2
CROWD = 3  # other countries in a sentence that make it a list, not a relationship


def score(title: str, text: str, topic: Topic, *, language: str | None = None) -> Relevance:
    """Score an article for ``topic`` in [0, 1], with the matches as evidence.

    Points: both sides in the title 1.5; per sentence where both meet 0.6,
    +0.3 with a relation word; per paragraph where both meet 0.25 (each
    scaled by the weaker side's weight). Squashed with 1 - e^-x; capped at
    0.2 when one side never appears. A sentence naming ``CROWD`` or more
    other countries counts only as a paragraph meeting.

    ``language`` skips detection when the caller knows it. An article in a
    language the topic does not cover gets score 0, ``relevant=False`` and a
    reason, so it can be listed as unscored rather than dropped unseen.
    """
    full = f"{title}\n\n{text}" if title else text
    lang = language or detect_language(full)
    if topic.languages and lang not in topic.languages:
        return Relevance(0.0, False, (), language=lang,
                         reason=f"not scored: language '{lang}' is not covered by the topic")
    if topic.exclude is not None:
        full = topic.exclude.sub(lambda m: " " * len(m.group(0)), full)
    title_end = len(title) if title else -1
    paragraphs = [0] + [m.end() for m in re.finditer(r"\n\s*\n", full)]
    sentences = [0] + [m.end() for m in _SENTENCE_BREAK.finditer(full)]
    a, b = topic.side_names

    in_title: dict[str, float] = {}
    in_sentence: dict[int, dict[str, float]] = {}
    in_paragraph: dict[int, dict[str, float]] = {}
    found: list[tuple[str, str, float, int, int]] = []  # term, side, weight, sentence, paragraph
    for m in topic.pattern.finditer(full):
        text_m = re.sub(r"\s+", " ", m.group(0))
        hit = topic.exact.get(text_m) or topic.folded.get(text_m.lower())
        if hit is None:
            continue
        term, side, weight = hit
        s, p = bisect_right(sentences, m.start()) - 1, bisect_right(paragraphs, m.start()) - 1
        found.append((term, side, weight, s, p))
        for sd in (topic.side_names if side == "joint" else (side,)):
            for bucket in ((in_title,) if m.start() < title_end else ()) + (
                    in_sentence.setdefault(s, {}), in_paragraph.setdefault(p, {})):
                bucket[sd] = max(bucket.get(sd, 0.0), weight)

    related: dict[int, str] = {}
    crowded: dict[int, int] = {}
    if topic.relations is not None and in_sentence:
        for m in topic.relations.finditer(full):
            related.setdefault(bisect_right(sentences, m.start()) - 1, m.group(0).lower())
    if topic.crowd is not None and in_sentence:
        for m in topic.crowd.finditer(full):
            s = bisect_right(sentences, m.start()) - 1
            crowded[s] = crowded.get(s, 0) + 1

    def meet(sides: dict[str, float]) -> float:
        return min(sides[a], sides[b]) if a in sides and b in sides else 0.0

    points = TITLE_POINTS * meet(in_title)
    where_s: set[int] = set()
    for s, sides in in_sentence.items():
        w = meet(sides)
        if w and crowded.get(s, 0) < CROWD:
            where_s.add(s)
            points += (SENTENCE_POINTS + (RELATION_POINTS if s in related else 0.0)) * w
    where_p = {p for p, sides in in_paragraph.items() if meet(sides)}
    points += PARAGRAPH_POINTS * sum(meet(in_paragraph[p]) for p in where_p)

    value = 1 - math.exp(-points)
    if not any(a in sd for sd in in_paragraph.values()) or not any(b in sd for sd in in_paragraph.values()):
        value = min(value, ONE_SIDE_CAP)
    value = round(value, 3)

    evidence: dict[tuple[str, str], Evidence] = {}
    for term, side, weight, s, p in found:
        where = ("title" if meet(in_title) and s == 0 and title_end > 0 else
                 "sentence" if s in where_s else "paragraph" if p in where_p else "text")
        evidence.setdefault((term, where), Evidence(term, side, where, weight))
    for s in sorted(where_s & set(related)):
        evidence.setdefault((related[s], "sentence"), Evidence(related[s], "relation", "sentence", RELATION_POINTS))
    return Relevance(score=value, relevant=value >= topic.threshold, evidence=tuple(evidence.values()),
                     language=lang)
