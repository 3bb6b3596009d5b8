"""The store's tables, in SQLAlchemy Core so a server database can replace SQLite.

Datetimes are stored as naive UTC and always come back timezone-aware.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
)


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime given to the store: {value!r}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def chunks(ids: Iterable[str], size: int = 500) -> list[list[str]]:
    """``ids`` once each, in order, in lists of ``size``: one ``IN (...)`` each, well under SQLite's bound on
    the parameters of one statement."""
    items = list(dict.fromkeys(ids))
    return [items[i:i + size] for i in range(0, len(items), size)]


metadata = MetaData()

migrations = Table(
    "migrations", metadata,
    Column("name", String(100), primary_key=True),
    Column("applied", UTCDateTime, nullable=False),
)

sources = Table(
    "sources", metadata,
    Column("name", String(200), primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_fetched", UTCDateTime),
    Column("last_status", String(20)),
    Column("last_error", Text),
    Column("failures", Integer, nullable=False, default=0),
    Column("items", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
)

articles = Table(
    "articles", metadata,
    Column("id", String(40), primary_key=True),
    Column("source", String(200), nullable=False),
    Column("location", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("published", UTCDateTime),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("teaser", Boolean, nullable=False, default=False, server_default=false()),  # only a feed's dek
    Column("outlet", String(200)),  # who published it (TASS, Reuters); none found: the source's name stands in
    Column("lang", String(8)),  # its language as identified at cleaning (en, ru, zh); NULL: stored before 0006
    Index("ix_articles_first_seen", "first_seen"),
    Index("ix_articles_published", "published"),
    Index("ix_articles_location", "location"),
)

# An article's earlier versions, one row per material edit (``briefing.revisions``): the row in ``articles``
# is the current version; these keep what was seen before, the first version included.
article_revisions = Table(
    "article_revisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("article_id", String(40), ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("seen", UTCDateTime, nullable=False),  # when this version was first seen
    Column("replaced", UTCDateTime, nullable=False),  # when the edit that replaced it was seen
    Column("change", String(20), nullable=False),  # "headline" or "text"
    Index("ix_article_revisions_article", "article_id"),
    Index("ix_article_revisions_replaced", "replaced"),
)

digests = Table(
    "digests", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("delivered", Boolean, nullable=False, default=False),
    Column("delivered_at", UTCDateTime),
    Column("archive_path", Text),
    Column("stories", Integer, nullable=False, default=0),
    Column("articles", Integer, nullable=False, default=0),
    Column("kind", String(20), nullable=False, default="regular", server_default="regular"),
)

# One row per lock held: a run that must not overlap another (two digests of one topic).
locks = Table(
    "locks", metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired", UTCDateTime, nullable=False),
    Column("expires", UTCDateTime, nullable=False),
)

# Story timelines (``briefing.timelines``): each article belongs to the story that first carried it, for good,
# so a developing story keeps its id from digest to digest; each digest lists the stories it carried.
story_articles = Table(
    "story_articles", metadata,
    Column("article_id", String(40), primary_key=True),
    Column("story_id", String(40), nullable=False),
    Column("digest_id", Integer, ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),  # the first
    Index("ix_story_articles_story", "story_id"),
)

digest_stories = Table(
    "digest_stories", metadata,
    Column("digest_id", Integer, ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
    Column("story_id", String(40), primary_key=True),
    Column("title", Text, nullable=False),  # its headline in that digest
    Column("position", Integer, nullable=False),  # 1: the digest's first story
    Index("ix_digest_stories_story", "story_id"),
)
