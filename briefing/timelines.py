"""Story timelines: a story's id across digests, and the page the archive keeps of a story seen more than once.

A story's id is decided from its articles (``story_ids``, pure): if any of them (its reports, their copies,
its earlier coverage) already belongs to a story, the story takes the oldest of those (the one recorded in the
earliest digest; ties by id), so a developing story keeps its id from digest to digest, and two stories
that merge keep the older one's. Otherwise its id is a short stable hash of its lead article's id. An
article keeps the first story it was recorded under (``Store.record_stories``), so ids never move.

A digest counts for a timeline when its reader saw it: a delivered digest or a backfill (an archived page),
not a regular digest whose send failed (the next run carries its stories again). A story that counted
digests carried before is *developing*: the digest links its page, ``<archive>/stories/<id>.html``, which
``briefing.render`` writes at publish: the first report, each outlet's first report, each digest it was in,
and the updates (material edits of its reports, ``briefing.revisions``).

The decisions are pure; ``identify_stories``, ``record_stories`` and ``read_timelines`` are the few store
calls they need, written against the store's protocol (like ``briefing.digest``'s).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from briefing.revisions import same_headline
from briefing.types import Article, Digest, Revision, Story

if TYPE_CHECKING:
    from briefing.store import ArticleStore, DigestRecord, LedgerStore, StoryAppearance, StoryEntry

    class TimelineStore(ArticleStore, LedgerStore, Protocol):
        """What timelines take: the stories in the ledger, their articles and those articles' revisions."""

__all__ = ["STORIES_DIR", "Timeline", "Update", "counts", "entries", "identify_stories", "read_timelines",
           "record_stories", "story_ids", "story_members", "timeline", "timeline_name", "updates", "with_ids"]

STORIES_DIR = "stories"  # under the archive folder: one page per developing story
_ID_LENGTH = 16  # hex digits of a new id: 64 bits, no collision in any archive a person keeps


@dataclass(frozen=True)
class Update:
    """A material edit of one of the story's reports: when it was seen, whose, what changed."""

    when: datetime
    article: Article  # the report as it is now
    change: str  # "headline" or "text"
    before: str  # the headline before the edit
    after: str  # the headline after it


@dataclass(frozen=True)
class Timeline:
    """What a story's page shows; ``digests`` oldest first, ``outlets`` in the order they first reported."""

    story_id: str
    title: str  # its headline in the latest digest
    first: Article
    outlets: tuple[Article, ...]  # each outlet's first report
    articles: tuple[Article, ...]  # all its reports, the earliest dated first
    digests: tuple[StoryAppearance, ...]
    updates: tuple[Update, ...]


def timeline_name(story_id: str) -> str:
    """The page's path under the archive folder."""
    return f"{STORIES_DIR}/{story_id}.html"


def story_members(story: Story) -> tuple[str, ...]:
    """The ids of every article the story holds: its reports, their near-identical copies, its earlier coverage."""
    return tuple(dict.fromkeys(a.id for a in (*story.articles, *story.duplicates, *story.earlier)))


def counts(record: DigestRecord) -> bool:
    """A digest its reader saw: delivered, or a backfill (only ever archived); not an undelivered regular one."""
    return record.delivered or record.kind == "backfill"


def _new_id(seed: str, taken: set[str]) -> str:
    n = 0
    while True:
        made = hashlib.sha256(f"{seed}#{n}".encode() if n else seed.encode()).hexdigest()[:_ID_LENGTH]
        if made not in taken:
            return made
        n += 1


def story_ids(stories: Sequence[Story], known: Mapping[str, str], first_digest: Mapping[str, int]) -> list[str]:
    """Each story's id, in order (pure).

    Args:
        stories: The digest's stories, in its order (an earlier story wins an id two of them could take).
        known: The story each already recorded article belongs to (``stories_of``).
        first_digest: The ledger id of the first digest each known story was in (smaller: older).

    A story whose articles belong to known stories takes the oldest not taken by an earlier story of this
    digest (an old story that split keeps its id in its first part); else a new id from its lead's id.
    """
    taken = set(known.values())
    used: set[str] = set()
    out = []
    for story in stories:
        candidates = {known[a] for a in story_members(story) if a in known} - used
        if candidates:
            chosen = min(candidates, key=lambda s: (first_digest.get(s, 1 << 62), s))
        else:
            chosen = _new_id(story.lead.id, taken | used)
        used.add(chosen)
        out.append(chosen)
    return out


def _same_run(record: DigestRecord, digest: Digest) -> bool:
    """The ledger row of this very digest (a retried run that recorded it already)."""
    return (record.window_start, record.window_end, record.created) == (digest.window_start, digest.window_end,
                                                                        digest.created)


def with_ids(digest: Digest, known: Mapping[str, str],
             appearances: Mapping[str, Sequence[StoryAppearance]]) -> Digest:
    """The digest with each story's id and the number of counted earlier digests that carried it (pure).

    Earlier: of a window that ended by this one's end (a backfill of an old window made after the story's
    later digests has none of them before it), and not this digest's own row.
    """
    first = {sid: min(a.digest.id for a in seen) for sid, seen in appearances.items() if seen}
    ids = story_ids(digest.stories, known, first)

    def before(a: StoryAppearance) -> bool:
        return counts(a.digest) and a.digest.window_end <= digest.window_end and not _same_run(a.digest, digest)

    stories = tuple(replace(s, story_id=sid, digests_before=sum(map(before, appearances.get(sid, ()))))
                    for s, sid in zip(digest.stories, ids))
    return replace(digest, stories=stories)


def identify_stories(store: LedgerStore, digest: Digest) -> Digest:
    """The digest with its stories' ids and earlier digests, from what the store recorded.

    Raises:
        StorageError: the store could not be read.
    """
    known = store.stories_of(a for s in digest.stories for a in story_members(s))
    return with_ids(digest, known, store.story_appearances(set(known.values())))


def entries(digest: Digest) -> list[StoryEntry]:
    """What the store records of the digest's identified stories (those without an id are left out)."""
    from briefing.store import StoryEntry

    return [StoryEntry(s.story_id, s.lead.title, story_members(s)) for s in digest.stories if s.story_id]


def record_stories(store: LedgerStore, digest: Digest, digest_id: int) -> None:
    """Record the digest's stories under its ledger row ``digest_id`` (after the row, before the send).

    Raises:
        StorageError: the store could not be written.
    """
    store.record_stories(digest_id, entries(digest))


def updates(articles: Iterable[Article], revisions: Mapping[str, Sequence[Revision]]) -> tuple[Update, ...]:
    """The material edits of the articles, oldest first: each revision kept the version before an edit, so
    the headline after it is the next revision's, or the article's own for the last one (pure)."""
    out = []
    for a in articles:
        kept = list(revisions.get(a.id, ()))
        for r, after in zip(kept, [*(k.title for k in kept[1:]), a.title]):
            change = "headline" if not same_headline(r.title, after) else "text"
            out.append(Update(r.replaced, a, change, r.title, after))
    return tuple(sorted(out, key=lambda u: (u.when, u.article.id)))


def timeline(story_id: str, articles: Sequence[Article], seen: Sequence[StoryAppearance],
             revisions: Mapping[str, Sequence[Revision]]) -> Timeline | None:
    """A story's page from its articles and the digests it was in (pure); None without an article or digest.

    Only counted digests are listed (``counts``); the first report is the earliest dated (published, else
    first seen), and so is each outlet's, each as it was first seen (an edited one's first version: the
    updates say what changed since).
    """
    listed = tuple(a for a in seen if counts(a.digest))
    if not articles or not listed:
        return None
    ordered = sorted(articles, key=lambda a: (a.dated, a.id))
    outlets: dict[str, Article] = {}
    for a in ordered:
        outlets.setdefault(a.outlet_name, _as_first_seen(a, revisions.get(a.id, ())))
    first = next(iter(outlets.values()))
    return Timeline(story_id, listed[-1].title, first, tuple(outlets.values()), tuple(ordered), listed,
                    updates(ordered, revisions))


def _as_first_seen(article: Article, kept: Sequence[Revision]) -> Article:
    """The article with its first version's headline and text (``kept``: its revisions, oldest first)."""
    return replace(article, title=kept[0].title, text=kept[0].text) if kept else article


def read_timelines(store: TimelineStore, digest: Digest) -> list[Timeline]:
    """The timelines of the digest's developing stories, read after its stories were recorded (it is among
    their digests, as counted once it is delivered; a digest being published counts already).

    Raises:
        StorageError: the store could not be read.
    """
    ids = [s.story_id for s in digest.stories if s.story_id and s.digests_before]
    if not ids:
        return []
    articles = store.story_articles(ids)
    seen = store.story_appearances(ids)
    members = [a.id for found in articles.values() for a in found]
    revised = {aid: store.revisions(aid) for aid in store.revised_at(members)}
    out = []
    for sid in ids:
        page = timeline(sid, articles.get(sid, []), [_as_counted(a, digest) for a in seen.get(sid, [])], revised)
        if page is not None:
            out.append(page)
    return out


def _as_counted(appearance: StoryAppearance, digest: Digest) -> StoryAppearance:
    """The digest being published is on its stories' pages before its send is recorded."""
    if _same_run(appearance.digest, digest) and not counts(appearance.digest):
        return replace(appearance, digest=replace(appearance.digest, delivered=True))
    return appearance
