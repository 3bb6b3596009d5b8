"""Window → relevant → deduplicated → stories → summaries: the digest as data, and what a run does with it.

Pure: the articles, topic, settings and clock come in; a ``Digest`` goes out.
The store, rendering and delivery happen around it.

The run's decisions live here too, where the library's tests see them (the
shape of reader's Decider): ``run_kind`` and ``run_window`` say which digest a
run makes; ``plan_delivery`` turns the composed digest and the ledger's answer
into a ``DeliveryPlan`` of steps (publish, record, send, mark delivered, what
to log), which the flow carries out in order. The few store calls a digest run
makes are here as well, written against the store's protocols: ``read_window``, ``read_revisions``,
``last_delivered_end``, ``delivered_overlap``, ``record_digest``, ``publish_timelines`` (the digest's
stories recorded, the pages of its developing stories written: ``briefing.timelines``); and
``archived_message`` reads back the message ``--resend`` sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from briefing.config import DedupeConfig, DigestConfig
from briefing.dedupe import DedupeSettings, duplicate_groups, story_groups
from briefing.exceptions import ArchiveError, ConfigError, UsageError
from briefing.language import detect_language
from briefing.outlets import Registry, bundled_registry, coverage
from briefing.relevance import Topic, score
from briefing.summarize import keyphrases, summarize
from briefing.types import Article, Digest, Relevance, Revision, SourceHealth, Story

if TYPE_CHECKING:
    from briefing.store import ArticleStore, DigestRecord, LedgerStore, SourceStore
    from briefing.timelines import TimelineStore

    class WindowStore(ArticleStore, SourceStore, LedgerStore, Protocol):
        """What reading a window takes: its articles, the sources' health, the last delivered digest."""

DigestKind = Literal["regular", "backfill"]  # the digest's kind: which articles, which ledger rows
RunKind = Literal["regular", "backfill", "dry-run"]  # what the run does with it


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
                 dedupe: DedupeConfig = DedupeConfig(), registry: Registry | None = None,
                 revisions: Sequence[Revision] = ()) -> Digest:
    """Everything the reader sees, before it is rendered (``registry``: the outlets; bundled unless given).

    ``earlier`` are articles from before the window (the last ``story_days``):
    a new article that continues one of their stories makes the story
    "developing" and they are listed as earlier coverage, not as news again;
    a copy of an earlier article is not news at all.

    Stories are ordered by distinct media blocs, then independent outlets, then relevance, then recency
    (``story_rank``).
    Only the first ``max_stories`` are written up (summary, key phrases): the
    renderer lists the rest by title, so nothing relevant disappears and
    summarizing them would be wasted. The four steps are public so a flow can spread the two per-item ones
    (scoring, writing stories) over workers; run in order they give this.

    ``revisions``: edits of articles an earlier digest carried (``read_revisions``; the edited articles are
    among ``articles``, as ``read_window`` gives them): their stories say what changed.
    """
    scored = score_articles([*articles, *earlier], topic)
    plan = plan_stories(articles, earlier, scored, dedupe, registry)
    stories = write_stories(plan.stories[:settings.max_stories], settings.summary_sentences, registry)
    return assemble(plan, stories, articles, scored, settings, window, now, health, registry=registry,
                    revisions=revisions)


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
    stories: tuple[StoryPlan, ...]  # ranked by ``story_rank``: most blocs, then outlets, relevance, recency
    relevant: int
    duplicates: int


def score_articles(articles: Sequence[Article], topic: Topic) -> dict[str, Relevance]:
    """Relevance of each article by id; independent per article, so any split of the list gives the same."""
    return {a.id: score(a.title, a.text, topic, language=a.lang) for a in articles}  # identified at cleaning


def plan_stories(articles: Sequence[Article], earlier: Sequence[Article], scored: dict[str, Relevance],
                 dedupe: DedupeConfig = DedupeConfig(), registry: Registry | None = None) -> DigestPlan:
    """The window's relevant articles as duplicate groups, then stories (the whole window at once).

    ``registry``: the run's outlets (the config's over the bundled), whose blocs rank the stories.
    """
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
        lead = choose_lead(new, scored)
        rel = max((scored[a.id] for a in new), key=lambda r: r.score)
        plans.append(StoryPlan(
            lead=lead, articles=(lead, *[a for a in new if a is not lead]),
            relevance=_merge(rel, [scored[a.id] for a in new]),
            duplicates=tuple(d for a in new for d in dups_of[a.id] if d.id not in old_ids),
            earlier=tuple(a for a in group if a.id in old_ids)))
    plans.sort(key=lambda p: story_rank(p.articles, p.relevance, registry))
    return DigestPlan(tuple(plans), relevant=len(relevant), duplicates=sum(len(g) - 1 for g in dup_groups))


def story_rank(articles: Sequence[Article], relevance: Relevance,
               registry: Registry | None = None) -> tuple[int, int, float, float]:
    """The sort key of a story (smallest first): most distinct blocs, then most independent outlets, then
    relevance, then the latest arrival.

    Blocs first because on this topic the first question is who is saying it: an event that Russian state,
    Chinese state, independent and Western media all report is news on every side, while ten outlets of
    one bloc are often one agency's line passed along. Outlets, not sources, are counted: one folder or
    aggregator feed carries many outlets, and one outlet's reprints are not independent reports. A report
    that names no outlet counts as its source's name, and all such reports as one group of their own (an
    unknown voice, not none). Blocs come from the bundled registry unless one is given.
    """
    blocs = coverage(articles, registry or bundled_registry())
    return (-len(blocs), -len({a.outlet_name for a in articles}), -relevance.score,
            -max(a.first_seen.timestamp() for a in articles))


def choose_lead(members: Sequence[Article], scored: dict[str, Relevance]) -> Article:
    """The member whose title heads the story: the best-scored English one when there is one, else the best.

    The digest is read in English: a story that English outlets covered is headed in English, one
    that only Russian or Chinese outlets covered by its original title (the renderer marks its language).
    """
    english = [a for a in members if (scored[a.id].language or detect_language(a.title, a.text)) == "en"]
    return max(english or members, key=lambda a: (scored[a.id].score, len(a.text)))


def write_stories(plans: Sequence[StoryPlan], sentences: int, registry: Registry | None = None) -> list[Story]:
    """Summary and key phrases for each story; independent per story, so any split gives the same.

    ``registry``: the run's outlets, whose blocs the summary draws its sentences across.
    """
    return [Story(lead=p.lead, articles=p.articles, relevance=p.relevance,
                  summary=tuple(summarize(p.articles, sentences, registry=registry)), duplicates=p.duplicates,
                  earlier=p.earlier,
                  keyphrases=tuple(keyphrases(p.articles)))
            for p in plans]


def assemble(plan: DigestPlan, written: Sequence[Story], articles: Sequence[Article], scored: dict[str, Relevance],
             settings: DigestConfig, window: Window, now: datetime,
             health: Sequence[SourceHealth] = (), *, registry: Registry | None = None,
             config_path: str | None = None, revisions: Sequence[Revision] = ()) -> Digest:
    """The digest: the written-up stories first, then the rest of the plan's ranking, title only.

    Each story gets its coverage by bloc (its reports and their near-identical copies: every outlet
    that carries it) from ``registry``, the run's (bundled unless given). ``config_path`` is the
    config file the run used, which the footer names. ``revisions`` (edits of articles a digest carried)
    go to the stories of those articles, which say so.
    """
    known = registry or bundled_registry()
    rest = [Story(lead=p.lead, articles=p.articles, relevance=p.relevance, duplicates=p.duplicates,
                  earlier=p.earlier) for p in plan.stories[len(written):]]
    edits = {r.article_id: r for r in revisions}
    stories = tuple(replace(s, blocs=coverage((*s.articles, *s.duplicates), known),
                            revisions=tuple(edits[a.id] for a in s.articles if a.id in edits))
                    for s in (*written, *rest))
    return Digest(
        title=settings.title, window_start=window.start, window_end=window.end, created=now,
        stories=stories, considered=len(articles), relevant=plan.relevant,
        duplicates=plan.duplicates, health=tuple(health),
        unscored=tuple((a, scored[a.id].reason or "") for a in articles if scored[a.id].reason),
        config_path=config_path,
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


# --- the run: which digest, and what follows once it is composed ---------------------------


def digest_kind(since: datetime | None, until: datetime | None) -> DigestKind:
    """A regular digest (since the last delivered one) unless a window is asked for: then a backfill."""
    return "regular" if since is None and until is None else "backfill"


def run_kind(since: datetime | None, until: datetime | None, dry_run: bool) -> RunKind:
    """What the run does: a dry run renders whichever digest it is asked for and writes nothing."""
    return "dry-run" if dry_run else digest_kind(since, until)


def run_window(since: datetime | None, until: datetime | None, last_end: datetime | None, now: datetime,
               first_window_days: float, tz: tzinfo) -> Window:
    """The regular window from ``last_end`` (the last delivered digest's end), or the backfill window asked for.

    Raises:
        ConfigError: the window asked for does not start before it ends (key ``since/until``).
    """
    if digest_kind(since, until) == "regular":
        return plan_window(last_end, now, first_window_days)
    try:
        return explicit_window(since, until, now, first_window_days, tz)
    except ValueError as exc:
        raise ConfigError(str(exc), key="since/until") from exc


@dataclass(frozen=True)
class DeliveryPlan:
    """What a run does with its composed digest: the steps, in the order the flow carries them out.

    ``publish`` renders the digest, builds its message, archives both and
    writes the ledger row, before any send: an archived digest is never
    unrecorded. The row says delivered at once when the archive is the
    delivery (``record_delivered``); else ``send`` then ``mark_delivered``.
    """

    status: str  # the run's result once every step is done
    made: bool = True  # False: nothing worth a digest; the result counts the articles considered
    render_text: bool = False  # a dry run: render and return the text, write nothing
    publish: bool = False
    record_delivered: bool = False
    send: bool = False
    mark_delivered: bool = False
    report_undelivered: bool = False  # a failed send is logged and reported as undelivered, then raised
    digest_id: int | None = None  # the digest that already went out for this window
    say: str | None = None  # logged once published (or where publishing would be): why, or where it went
    say_archived: str | None = None  # logged at the end, followed by the archive's path


def plan_delivery(kind: RunKind, window: Window, *, has_stories: bool, send_empty: bool,
                  delivered_as: int | None, email: bool, send: bool, config_path: str | None = None) -> DeliveryPlan:
    """Empty, already delivered, dry run, backfill (sent only when asked) or the regular delivery.

    Args:
        kind: The run's kind (``run_kind``).
        window: The run's window (named in the backfill's log line).
        has_stories: The composed digest has at least one story.
        send_empty: ``digest.send_empty``: a digest with no stories is still made.
        delivered_as: A delivered regular digest overlapping the window (only a regular run heeds it).
        email: Email is configured.
        send: A backfill was asked to be sent too.
        config_path: The config file, named in the error.

    Raises:
        ConfigError: a backfill is to be sent and no email is configured (key ``email``).
    """
    if not has_stories and not send_empty:
        nothing = "nothing new on the topic in this window: no digest made"
        return DeliveryPlan("empty", made=False, say=nothing if kind == "regular" else None)
    if kind == "dry-run":
        return DeliveryPlan("dry-run", render_text=True)
    if kind == "backfill":
        if send and not email:
            raise ConfigError("no email configured: a backfill cannot be sent", path=config_path, key="email")
        return DeliveryPlan("delivered" if send else "backfill", publish=True, send=send, mark_delivered=send,
                            say_archived=f"backfill of {window.start.isoformat()} – {window.end.isoformat()} "
                                         "archived at")
    if delivered_as is not None:
        return DeliveryPlan("already-delivered", digest_id=delivered_as,
                            say=f"this window was already delivered as digest #{delivered_as}: not sending it "
                                f"again (briefing digest --resend {delivered_as} sends it on purpose)")
    if not email:
        return DeliveryPlan("archived", publish=True, record_delivered=True,
                            say="no email configured: the archive is the delivery")
    return DeliveryPlan("delivered", publish=True, send=True, mark_delivered=True, report_undelivered=True)


def read_window(store: WindowStore, window: Window, kind: DigestKind, story_days: float,
                sources: Sequence[str]) -> tuple[list[Article], list[Article], list[SourceHealth]]:
    """The window's articles, those of the ``story_days`` before it (for continuing stories), the sources' health.

    A regular window holds what arrived since the last digest, and the articles a delivered digest
    carried that were materially edited since (``read_revisions``): their stories come back to say so.
    A backfill holds what was published then.

    Raises:
        StorageError: the store could not be read.
    """
    back = window.start - timedelta(days=story_days)
    between = store.articles_seen_between if kind == "regular" else store.articles_dated_between
    articles, earlier = between(window.start, window.end), between(back, window.start)
    edited = {a.id: a for a, _ in revised_in_window(store, window, kind)}
    if edited:  # an edited article is news of this window again, not earlier coverage
        seen = {a.id for a in articles}
        articles = [*articles, *(a for a in edited.values() if a.id not in seen)]
        earlier = [a for a in earlier if a.id not in edited]
    return articles, earlier, store.source_health(sources)


def read_revisions(store: WindowStore, window: Window, kind: DigestKind) -> list[Revision]:
    """The edits a regular window reports: of articles seen before the last delivered digest ended.

    Raises:
        StorageError: the store could not be read.
    """
    return [r for _, r in revised_in_window(store, window, kind)]


def revised_in_window(store: WindowStore, window: Window, kind: DigestKind) -> list[tuple[Article, Revision]]:
    """Articles materially edited in a regular window that a delivered digest may have carried, with the
    version it showed.

    "Already sent" is read from the ledger alone, which records windows, not articles: an article first
    seen before the last delivered regular digest's window ended was in a delivered window (windows
    chain from it), and if its story was on topic it went out. An off-topic one comes back off topic
    and is left out again. A backfill reports no edits (it is about what was published then).

    Raises:
        StorageError: the store could not be read.
    """
    if kind != "regular":
        return []
    last = store.last_delivered()
    if last is None:
        return []
    return store.articles_revised_between(window.start, window.end, seen_before=last.window_end)


def last_delivered_end(store: LedgerStore) -> datetime | None:
    """Where the next regular window starts: the end of the last delivered regular digest (None before it).

    Raises:
        StorageError: the store could not be read.
    """
    last = store.last_delivered()
    return last.window_end if last else None


def delivered_overlap(store: LedgerStore, window: Window) -> int | None:
    """The id of a delivered regular digest overlapping the window, if any: a re-run must not send it again.

    Raises:
        StorageError: the store could not be read.
    """
    found = store.delivered_window(window.start, window.end)
    return found.id if found else None


def record_digest(store: LedgerStore, digest: Digest, path: Path, delivered: bool) -> int:
    """The digest's ledger row (its window, counts, kind and archive); returns its id.

    Raises:
        StorageError: the store could not be written.
    """
    return store.record_digest(window_start=digest.window_start, window_end=digest.window_end,
                               created=digest.created, delivered=delivered, archive_path=str(path),
                               stories=len(digest.stories), articles=digest.relevant, kind=digest.kind)


def publish_timelines(store: TimelineStore, digest: Digest, digest_id: int, archive_dir: Path) -> list[Path]:
    """Record the digest's stories under its ledger row, then write the timeline page of each of its developing
    stories (``briefing.timelines``) in the archive; after the ledger row, before the send. Safe to repeat.

    Returns the pages written. A digest composed without its stories' ids (none identified) records nothing.

    Raises:
        StorageError: the store could not be read or written.
        RenderError: a page could not be rendered or written.
    """
    from briefing.render import write_timelines
    from briefing.timelines import read_timelines, record_stories

    record_stories(store, digest, digest_id)
    return write_timelines(read_timelines(store, digest), archive_dir, digest.title, digest.created)


def archived_message(ledger: Sequence[DigestRecord], digest_id: int) -> tuple[DigestRecord, Path, bytes]:
    """The ledger row of digest ``digest_id``, its archived ``.eml`` and that message's bytes (to send again).

    Raises:
        UsageError: the ledger holds no archived digest of that id.
        ArchiveError: the archived message cannot be read.
    """
    entry = next((d for d in ledger if d.id == digest_id), None)
    if entry is None or not entry.archive_path:
        raise UsageError(f"no archived digest #{digest_id} in the ledger")
    eml = Path(entry.archive_path).with_suffix(".eml")
    try:
        return entry, eml, eml.read_bytes()
    except OSError as exc:
        raise ArchiveError(str(eml), f"unreadable: {exc.strerror}") from exc
