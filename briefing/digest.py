"""Window → relevant → deduplicated → stories → summaries: the digest as data.

Pure: the articles, topic, settings and clock come in; a ``Digest`` goes out.
The store, rendering and delivery happen around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from briefing.config import DigestConfig
from briefing.dedupe import duplicate_groups, story_groups
from briefing.relevance import Topic, score
from briefing.summarize import summarize
from briefing.types import Article, Digest, Relevance, SourceHealth, Story


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def plan_window(last_end: datetime | None, now: datetime, first_window_days: float) -> Window:
    """From the end of the last delivered digest to now; the first one looks back N days."""
    start = last_end if last_end is not None else now - timedelta(days=first_window_days)
    return Window(start=min(start, now), end=now)


def build_digest(articles: Sequence[Article], topic: Topic, settings: DigestConfig, window: Window,
                 now: datetime, health: Sequence[SourceHealth] = ()) -> Digest:
    """Everything the reader sees, before it is rendered.

    Stories are ordered by how many outlets covered them, then by relevance,
    then by recency; ``max_stories`` limits the full write-ups (the renderer
    lists the rest by title, so nothing relevant disappears).
    """
    scored = {a.id: score(a.title, a.text, topic) for a in articles}
    relevant = [a for a in articles if scored[a.id].relevant]
    dup_groups = duplicate_groups(relevant)
    best = [g[0] for g in dup_groups]
    dups_of = {g[0].id: tuple(g[1:]) for g in dup_groups}
    stories = []
    for group in story_groups(best):
        lead = max(group, key=lambda a: (scored[a.id].score, len(a.text)))
        members = (lead, *[a for a in group if a is not lead])
        rel = max((scored[a.id] for a in group), key=lambda r: r.score)
        stories.append(Story(
            lead=lead, articles=members, relevance=_merge(rel, [scored[a.id] for a in group]),
            summary=tuple(summarize(members, settings.summary_sentences)),
            duplicates=tuple(d for a in group for d in dups_of[a.id]),
        ))
    stories.sort(key=lambda s: (-len(s.sources), -s.relevance.score,
                                -max(a.first_seen.timestamp() for a in s.articles)))
    return Digest(
        title=settings.title, window_start=window.start, window_end=window.end, created=now,
        stories=tuple(stories), considered=len(articles), relevant=len(relevant),
        duplicates=sum(len(g) - 1 for g in dup_groups), health=tuple(health),
        unscored=tuple((a, scored[a.id].reason or "") for a in articles if scored[a.id].reason),
    )


def _merge(best: Relevance, all_: list[Relevance]) -> Relevance:
    """The story's relevance: the best member's score, evidence from all members."""
    seen: dict[tuple[str, str], object] = {}
    evidence = []
    for r in [best, *all_]:
        for e in r.evidence:
            if (e.term, e.where) not in seen:
                seen[(e.term, e.where)] = e
                evidence.append(e)
    return Relevance(score=best.score, relevant=best.relevant, evidence=tuple(evidence))
