"""Stories across digests: which story each article belongs to, and which digests carried each story.

``StoriesMixin`` holds the queries of ``story_articles`` and ``digest_stories`` (migration 0008), mixed into
``Store`` over ``StoreBase``. What a story's id is, and when a story has a timeline, is decided in
``briefing.timelines``; this module only keeps and reads back what it decided. An article keeps the first
story it was recorded under (later digests never move it), which is what keeps an id stable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from briefing.store import schema
from briefing.store.articles import _ARTICLE_COLUMNS, article_of
from briefing.store.base import StoreBase
from briefing.store.ledger import DigestRecord, _digest
from briefing.types import Article

__all__ = ["StoriesMixin", "StoryAppearance", "StoryEntry"]

@dataclass(frozen=True)
class StoryEntry:
    """One story of a digest as the store records it: its id, headline, and every article it holds."""

    story_id: str
    title: str
    article_ids: tuple[str, ...]


@dataclass(frozen=True)
class StoryAppearance:
    """A story in one digest: the digest's ledger row, the story's headline there and its place (1: first)."""

    story_id: str
    digest: DigestRecord
    title: str
    position: int


class StoriesMixin(StoreBase):
    """The ``story_articles`` and ``digest_stories`` tables."""

    def stories_of(self, article_ids: Iterable[str]) -> dict[str, str]:
        """The story each of ``article_ids`` was first recorded under (unrecorded ones are left out)."""
        t = schema.story_articles
        found: dict[str, str] = {}
        with self._tx() as conn:
            for chunk in schema.chunks(article_ids):
                rows = conn.execute(select(t.c.article_id, t.c.story_id).where(t.c.article_id.in_(chunk)))
                found.update({r.article_id: r.story_id for r in rows})
        return found

    def story_appearances(self, story_ids: Iterable[str]) -> dict[str, list[StoryAppearance]]:
        """Each digest each story was in, oldest window first (ties: the digest made first)."""
        s, d = schema.digest_stories, schema.digests
        found: dict[str, list[StoryAppearance]] = {}
        with self._tx() as conn:
            for chunk in schema.chunks(story_ids):
                rows = conn.execute(select(d, s.c.story_id, s.c.title.label("story_title"), s.c.position)
                                    .select_from(s.join(d, d.c.id == s.c.digest_id))
                                    .where(s.c.story_id.in_(chunk)).order_by(d.c.window_end, d.c.id))
                for row in rows:
                    m = row._mapping
                    found.setdefault(m["story_id"], []).append(
                        StoryAppearance(m["story_id"], _digest(m), m["story_title"], m["position"]))
        return found

    def story_articles(self, story_ids: Iterable[str]) -> dict[str, list[Article]]:
        """Every stored article of each story, oldest first (by first seen, then id)."""
        s, t = schema.story_articles, schema.articles
        found: dict[str, list[Article]] = {}
        with self._tx() as conn:
            for chunk in schema.chunks(story_ids):
                rows = conn.execute(select(*_ARTICLE_COLUMNS, s.c.story_id)
                                    .select_from(s.join(t, t.c.id == s.c.article_id))
                                    .where(s.c.story_id.in_(chunk)).order_by(t.c.first_seen, t.c.id))
                for row in rows:
                    found.setdefault(row.story_id, []).append(article_of(row))
        return found

    def record_stories(self, digest_id: int, stories: Sequence[StoryEntry]) -> None:
        """In one transaction: the digest's stories in order, and each article not yet in a story under its
        story. Rerun for the same digest, it adds nothing twice."""
        s, a = schema.digest_stories, schema.story_articles
        with self._tx() as conn:
            have = set(conn.scalars(select(s.c.story_id).where(s.c.digest_id == digest_id)))
            rows = [{"digest_id": digest_id, "story_id": e.story_id, "title": e.title, "position": n}
                    for n, e in enumerate(stories, 1) if e.story_id not in have]
            if rows:
                conn.execute(s.insert(), rows)
            owner = {aid: e.story_id for e in reversed(stories) for aid in e.article_ids}  # the first story wins
            known: set[str] = set()
            for chunk in schema.chunks(owner):
                known.update(conn.scalars(select(a.c.article_id).where(a.c.article_id.in_(chunk))))
            new = [{"article_id": aid, "story_id": sid, "digest_id": digest_id}
                   for aid, sid in sorted(owner.items()) if aid not in known]
            if new:
                conn.execute(a.insert(), new)
