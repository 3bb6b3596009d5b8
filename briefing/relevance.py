"""Is an article about the topic's *relationship*, not just a mention of one side?

The topic is data (``config/topics/*.yaml``): two sides with weighted terms,
joint terms that name the relationship, relation words, and exclusions. The
score grows with the places where both sides meet — the title, a sentence,
a paragraph with a relation word — and is capped low when a side is absent.
Every match is returned as evidence so the digest can say why it kept an article.

Pure: no I/O besides ``load_topic``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from briefing.exceptions import ConfigError
from briefing.sentences import split_sentences
from briefing.types import Evidence, Relevance


class TopicModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    threshold: float = Field(default=0.5, ge=0, le=1)
    sides: dict[str, dict[str, float]] = Field(min_length=2, max_length=2)
    joint: dict[str, float] = Field(default_factory=dict)
    relations: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Topic:
    name: str
    threshold: float
    side_names: tuple[str, str]
    weights: dict[str, tuple[str, float]]  # term → (side or "joint", weight)
    pattern: re.Pattern[str]
    relations: re.Pattern[str] | None
    exclude: re.Pattern[str] | None


def _alternation(terms: list[str]) -> str:
    """Case-sensitive for names (capitalised terms), case-insensitive for the rest."""
    parts = []
    for term in sorted(terms, key=len, reverse=True):
        body = re.escape(term).replace(r"\ ", r"\s+")
        parts.append(body if term[:1].isupper() else f"(?i:{body})")
    return r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])"


def build_topic(model: TopicModel) -> Topic:
    sides = list(model.sides)
    weights: dict[str, tuple[str, float]] = {}
    for side, terms in model.sides.items():
        weights.update({t: (side, w) for t, w in terms.items()})
    weights.update({t: ("joint", w) for t, w in model.joint.items()})
    return Topic(
        name=model.name, threshold=model.threshold, side_names=(sides[0], sides[1]), weights=weights,
        pattern=re.compile(_alternation(list(weights))),
        relations=re.compile(_alternation(model.relations)) if model.relations else None,
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


def _lookup(topic: Topic, matched: str) -> tuple[str, str, float]:
    norm = re.sub(r"\s+", " ", matched)
    for term, (side, weight) in topic.weights.items():
        if term == norm or (not term[:1].isupper() and term.lower() == norm.lower()):
            return term, side, weight
    return norm, "joint", 0.5


def _sides_in(topic: Topic, text: str, where: str) -> tuple[dict[str, float], list[Evidence]]:
    """Strongest weight per side in ``text``; a joint term counts for both."""
    if topic.exclude is not None:
        text = topic.exclude.sub(" ", text)
    found: dict[str, float] = {}
    evidence = []
    for m in topic.pattern.finditer(text):
        term, side, weight = _lookup(topic, m.group(0))
        evidence.append(Evidence(term, side, where, weight))
        for s in (topic.side_names if side == "joint" else (side,)):
            found[s] = max(found.get(s, 0.0), weight)
    return found, evidence


def score(title: str, text: str, topic: Topic) -> Relevance:
    """Score an article for ``topic`` in [0, 1], with the matches as evidence.

    Points: both sides in the title 1.5, per sentence where both meet 0.6
    (+0.3 with a relation word), per paragraph where both meet 0.25. Squashed
    with 1 - e^-x. An article where one side never appears scores at most 0.2.
    """
    a, b = topic.side_names
    points = 0.0
    evidence: list[Evidence] = []
    t_sides, t_ev = _sides_in(topic, title, "title")
    evidence += t_ev
    if a in t_sides and b in t_sides:
        points += 1.5 * min(t_sides[a], t_sides[b])
    seen = dict(t_sides)
    for paragraph in [p for p in text.split("\n\n") if p.strip()]:
        p_sides, _ = _sides_in(topic, paragraph, "paragraph")
        for s, w in p_sides.items():
            seen[s] = max(seen.get(s, 0.0), w)
        if not (a in p_sides and b in p_sides):
            evidence += [e for e in _sides_in(topic, paragraph, "text")[1]]
            continue
        points += 0.25 * min(p_sides[a], p_sides[b])
        for sentence in split_sentences(paragraph):
            s_sides, s_ev = _sides_in(topic, sentence, "sentence")
            if a in s_sides and b in s_sides:
                evidence += s_ev
                related = topic.relations is not None and topic.relations.search(sentence)
                points += (0.6 + (0.3 if related else 0.0)) * min(s_sides[a], s_sides[b])
                if related:
                    evidence.append(Evidence(related.group(0).lower(), "relation", "sentence", 0.3))
            else:
                evidence += [Evidence(e.term, e.side, "paragraph", e.weight) for e in s_ev]
    value = 1 - math.exp(-points)
    if not (a in seen and b in seen):
        value = min(value, 0.2)
    value = round(value, 3)
    return Relevance(score=value, relevant=value >= topic.threshold, evidence=tuple(_dedupe(evidence)))


def _dedupe(evidence: list[Evidence]) -> list[Evidence]:
    """One entry per (term, where), strongest place first."""
    rank = {"title": 0, "sentence": 1, "paragraph": 2, "text": 3}
    out: dict[tuple[str, str], Evidence] = {}
    for e in sorted(evidence, key=lambda e: rank.get(e.where, 9)):
        out.setdefault((e.term, e.where), e)
    return list(out.values())
