"""Window → relevant → deduplicated → stories → summaries: the digest as data.

Pure: the articles, topic, settings and clock come in; a ``Digest`` goes out.
The store, rendering and delivery happen around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from briefing.config import DedupeConfig, DigestConfig
from briefing.dedupe import DedupeSettings, duplicate_groups, story_groups
from briefing.relevance import Topic, score
from briefing.summarize import keyphrases, summarize
from briefing.types import Article, Digest, Relevance, SourceHealth, Story


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def plan_window(last_end: datetime | None, now: datetime, first_window_days: float) -> Window:
    """From the end of the last delivered digest to now; the first one looks back N days."""
    start = last_end if last_end is not None else now - timedelta(days=first_window_days)
    return Window(start=min(start, now), end=now)


def explicit_window(since: datetime | None, until: datetime | None, now: datetime, first_window_days: float,
                    tz: tzinfo) -> Window:
    """A window asked for by hand (a backfill): a missing end is now, a missing start N days before the end.

    A time without an offset is read in ``tz`` (the configured time zone), so
    ``--since 2026-11-01`` means that midnight where the reader is.

    Raises:
        ValueError: the start is not before the end.
    """
    def aware(t: datetime) -> datetime:
        return (t if t.tzinfo is not None else t.replace(tzinfo=tz)).astimezone(timezone.utc)

    end = aware(until) if until is not None else now
    start = aware(since) if since is not None else end - timedelta(days=first_window_days)
    if start >= end:
        raise ValueError(f"window start {start.isoformat()} is not before its end {end.isoformat()}")
    return Window(start, end)


def build_digest(articles: Sequence[Article], topic: Topic, settings: DigestConfig, window: Window,
                 now: datetime, health: Sequence[SourceHealth] = (), earlier: Sequence[Article] = (),
                 dedupe: DedupeConfig = DedupeConfig()) -> Digest:
    """Everything the reader sees, before it is rendered.

    ``earlier`` are articles from before the window (the last ``story_days``):
    a new article that continues one of their stories makes the story
    "developing" and they are listed as earlier coverage, not as news again;
    a copy of an earlier article is not news at all.

    Stories are ordered by independent outlets, then relevance, then recency.
    Only the first ``max_stories`` are written up (summary, key phrases): the
    renderer lists the rest by title, so nothing relevant disappears and
    summarizing them would be wasted. The four steps are public so a flow can spread the two per-item ones
    (scoring, writing stories) over workers; run in order they give this.
    """
    scored = score_articles([*articles, *earlier], topic)
    plan = plan_stories(articles, earlier, scored, dedupe)
    stories = write_stories(plan.stories[:settings.max_stories], settings.summary_sentences)
    return assemble(plan, stories, articles, scored, settings, window, now, health)


@dataclass(frozen=True)
class StoryPlan:
    """One story before its summary: who leads it, who covered it, what came before."""

    lead: Article
    articles: tuple[Article, ...]
    relevance: Relevance
    duplicates: tuple[Article, ...]
    earlier: tuple[Article, ...]


@dataclass(frozen=True)
class DigestPlan:
    stories: tuple[StoryPlan, ...]  # ranked: most independent outlets, then relevance, then recency
    relevant: int
    duplicates: int


def score_articles(articles: Sequence[Article], topic: Topic) -> dict[str, Relevance]:
    """Relevance of each article by id; independent per article, so any split of the list gives the same."""
    return {a.id: score(a.title, a.text, topic) for a in articles}


def plan_stories(articles: Sequence[Article], earlier: Sequence[Article], scored: dict[str, Relevance],
                 dedupe: DedupeConfig = DedupeConfig()) -> DigestPlan:
    """The window's relevant articles as duplicate groups, then stories (the whole window at once)."""
    knobs = DedupeSettings(near_duplicate=dedupe.near_duplicate, same_story=dedupe.same_story,
                           story_days=dedupe.story_days)
    relevant = [a for a in articles if scored[a.id].relevant]
    old = [a for a in earlier if scored[a.id].relevant]
    old_ids = {a.id for a in old}
    dup_groups = duplicate_groups([*old, *relevant], knobs)
    # A group holding an earlier article is old news: its new copies join that story's coverage.
    best = [next((a for a in g if a.id in old_ids), g[0]) for g in dup_groups]
    dups_of = {b.id: tuple(a for a in g if a is not b) for b, g in zip(best, dup_groups)}
    plans = []
    off_topic = [a for a in (*articles, *earlier) if not scored[a.id].relevant]
    for group in story_groups(best, knobs, background=off_topic):
        new = [a for a in group if a.id not in old_ids]
        if not new:
            continue  # nothing new in this story
        lead = max(new, key=lambda a: (scored[a.id].score, len(a.text)))
        rel = max((scored[a.id] for a in new), key=lambda r: r.score)
        plans.append(StoryPlan(
            lead=lead, articles=(lead, *[a for a in new if a is not lead]),
            relevance=_merge(rel, [scored[a.id] for a in new]),
            duplicates=tuple(d for a in new for d in dups_of[a.id] if d.id not in old_ids),
            earlier=tuple(a for a in group if a.id in old_ids)))
    plans.sort(key=lambda p: (-len({a.source for a in p.articles}), -p.relevance.score,
                              -max(a.first_seen.timestamp() for a in p.articles)))
    return DigestPlan(tuple(plans), relevant=len(relevant), duplicates=sum(len(g) - 1 for g in dup_groups))


def write_stories(plans: Sequence[StoryPlan], sentences: int) -> list[Story]:
    """Summary and key phrases for each story; independent per story, so any split gives the same."""
    return [Story(lead=p.lead, articles=p.articles, relevance=p.relevance,
                  summary=tuple(summarize(p.articles, sentences)), duplicates=p.duplicates, earlier=p.earlier,
                  keyphrases=tuple(keyphrases(p.articles)))
            for p in plans]


def assemble(plan: DigestPlan, written: Sequence[Story], articles: Sequence[Article], scored: dict[str, Relevance],
             settings: DigestConfig, window: Window, now: datetime,
             health: Sequence[SourceHealth] = ()) -> Digest:
    """The digest: the written-up stories first, then the rest of the plan's ranking, title only."""
    rest = [Story(lead=p.lead, articles=p.articles, relevance=p.relevance, duplicates=p.duplicates,
                  earlier=p.earlier) for p in plan.stories[len(written):]]
    return Digest(
        title=settings.title, window_start=window.start, window_end=window.end, created=now,
        stories=(*written, *rest), considered=len(articles), relevant=plan.relevant,
        duplicates=plan.duplicates, health=tuple(health),
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
