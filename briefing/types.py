"""The values passed between stages, in one module that imports nothing of Briefing, so any stage can use them.

source → RawItem → Article → (store) → Relevance (its Evidence) → Story (its summary's Sentences) → Digest;
SourceHealth is how each source fared, for the digest's footer and the CLI. All are frozen dataclasses:
the only behaviour here is what their readers derive alike (an article's paragraphs, a story's outlets,
a digest's file name, the one-line health summary).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RawItem:
    """One document as a source found it, before cleaning.

    ``kind`` says how to read ``body``: "html", "markdown" or "text".
    ``title``/``published`` are hints from the source (a feed entry) and win
    over what cleaning finds in the text. ``key`` is the document's identity
    within its source when it has one (a feed entry's GUID or canonical link):
    the same key with new content is an update, not a second article.
    ``fallback`` is text to use when ``body`` yields nothing (a feed entry's
    own text when its fetched page cannot be extracted). ``teaser``: the text
    (``body``, or ``fallback`` for a fetched page) is only the feed's short
    description of a longer article. ``outlet``: who published it, as the
    source says (a feed entry's ``source`` element or the feed's title, a
    file's front matter); ``briefing.outlets`` weighs it with the page's own evidence.
    """

    source: str
    location: str
    body: str
    kind: str = "text"
    title: str | None = None
    published: datetime | None = None
    key: str | None = None
    fallback: str | None = None
    teaser: bool = False
    outlet: str | None = None


@dataclass(frozen=True)
class Article:
    """A cleaned, titled, dated document; the unit the store keeps.

    ``id`` identifies one version: the same location with other content is
    another article (an edit), the same content again is the same article.
    ``teaser``: ``text`` is only a feed's short description (a dek, or nothing
    but the headline) of an article whose full text could not be had; the
    digest says so rather than pass it off as the article. ``outlet``: who
    published it (TASS, Reuters), None when nothing in the document says.
    ``lang``: its language (ISO 639-1: en, ru, zh …) as identified when it was
    cleaned; None for one stored before languages were kept.
    """

    id: str
    source: str
    location: str
    title: str
    text: str
    content_hash: str
    first_seen: datetime
    published: datetime | None = None
    teaser: bool = False
    outlet: str | None = None
    lang: str | None = None

    @property
    def outlet_name(self) -> str:
        """Who to name in the digest: the outlet, else the configured source's name (the last resort)."""
        return self.outlet or self.source

    @property
    def dated(self) -> datetime:
        """When it came out: published, else first seen (stories, timelines and search order and show this)."""
        return self.published or self.first_seen

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.text.split("\n\n") if p.strip()]


@dataclass(frozen=True)
class Evidence:
    """One lexicon term found in an article: where and how much it weighed."""

    term: str
    side: str
    where: str  # "title", "sentence", "paragraph", "text"
    weight: float


@dataclass(frozen=True)
class Relevance:
    """A topic score in [0, 1], the verdict, and why: the evidence, or the reason it was not scored."""

    score: float
    relevant: bool
    evidence: tuple[Evidence, ...] = ()
    language: str | None = None
    reason: str | None = None

    def explain(self) -> str:
        """The evidence line a digest prints: each term once, with every place it was found ("Putin (title,
        sentence)"), title first, then the weightiest; the first eight terms."""
        if self.reason:
            return self.reason
        rank = {"title": 0, "sentence": 1, "relation": 1, "paragraph": 2, "text": 3}
        places: dict[str, dict[str, None]] = {}
        for e in sorted(self.evidence, key=lambda e: (rank.get(e.where, 9), -e.weight)):
            places.setdefault(e.term, {}).setdefault(e.where, None)
        terms = [f"{term} ({', '.join(wheres)})" for term, wheres in list(places.items())[:8]]
        return f"score {self.score:.2f}: " + ", ".join(terms)


@dataclass(frozen=True)
class Sentence:
    """A verbatim sentence taken from one article, for attributed summaries."""

    text: str
    article_id: str
    source: str  # who to name after it: the article's outlet_name (its outlet, else the source's name)
    location: str = ""  # the article's path or URL, so the digest can link the outlet


@dataclass(frozen=True)
class BlocGroup:
    """Outlets of one media bloc that carry a story ("Chinese state media": Xinhua, CGTN).

    ``bloc`` is "" for reports that name no outlet at all: they are listed by
    their configured source's name, under no label, and say nothing of a bloc.
    """

    bloc: str
    outlets: tuple[str, ...]


@dataclass(frozen=True)
class Revision:
    """An article's earlier version, replaced by a material edit (``briefing.revisions``): what a reader saw.

    The article's row holds the current version; this keeps the headline and text before the edit, when
    that version was first seen and when the edit was.
    """

    article_id: str
    title: str
    text: str
    seen: datetime  # when this version was first seen
    replaced: datetime  # when the edit that replaced it was seen
    change: str  # "headline" (the headline changed, maybe the text too) or "text"


@dataclass(frozen=True)
class Story:
    """Articles about the same event; ``lead`` is the one whose title heads it.

    ``blocs``: who carries it, grouped by media bloc (``briefing.outlets.coverage``),
    filled when the digest is assembled with the run's outlet registry.
    """

    lead: Article
    articles: tuple[Article, ...]
    relevance: Relevance
    summary: tuple[Sentence, ...] = ()
    duplicates: tuple[Article, ...] = ()
    earlier: tuple[Article, ...] = ()  # coverage from before this window: the story is developing
    keyphrases: tuple[str, ...] = ()
    blocs: tuple[BlocGroup, ...] = ()
    revisions: tuple[Revision, ...] = ()  # its reports edited since a digest carried them: the digest says so
    # Its id across digests (``briefing.timelines``), None until the store's stories are read; and how many
    # earlier digests carried it: then the archive has a page of its timeline, which the digest links.
    story_id: str | None = None
    digests_before: int = 0

    @property
    def outlets(self) -> int:
        """Independent outlets: outlets that wrote their own article (reprints don't count)."""
        return len({a.outlet_name for a in self.articles})

    @property
    def teaser(self) -> bool:
        """Every report of it is only a feed's headline and dek: the digest says so."""
        return all(a.teaser for a in self.articles)

    @property
    def first_seen(self) -> datetime:
        return min(a.first_seen for a in (*self.earlier, *self.articles))

    @property
    def sources(self) -> list[str]:
        seen: dict[str, None] = {}
        for a in (*self.articles, *self.duplicates):
            seen.setdefault(a.outlet_name, None)
        return list(seen)


@dataclass(frozen=True)
class SourceHealth:
    """How one source fared in the last ingest."""

    source: str
    status: str  # "ok", "not-modified", "failed"
    items: int = 0
    new: int = 0
    error: str | None = None


def health_summary(healths: tuple[SourceHealth, ...] | list[SourceHealth]) -> str:
    """One line for footers and artifacts: how many sources were fetched, not modified, failed."""
    count = {s: sum(h.status == s for h in healths) for s in ("ok", "not-modified", "failed")}
    noun = "source" if len(healths) == 1 else "sources"
    return (f"{len(healths)} {noun}: {count['ok']} fetched, {count['not-modified']} not modified, "
            f"{count['failed']} failed")


@dataclass(frozen=True)
class Digest:
    title: str
    window_start: datetime
    window_end: datetime
    created: datetime
    stories: tuple[Story, ...]
    considered: int
    relevant: int
    duplicates: int
    health: tuple[SourceHealth, ...] = field(default_factory=tuple)
    unscored: tuple[tuple[Article, str], ...] = ()  # (article, reason): e.g. a language the topic lacks
    kind: str = "regular"  # "regular" (the ledger's windows) or "backfill" (a past window made on request)
    config_path: str | None = None  # the config file the run used, named in the footer

    @property
    def published_span(self) -> tuple[datetime, datetime] | None:
        """Earliest and latest publication date of the stories' reports (the window itself is by arrival)."""
        dates = [a.published for s in self.stories for a in (*s.articles, *s.duplicates) if a.published]
        return (min(dates), max(dates)) if dates else None

    @property
    def slug(self) -> str:
        """File-name stem in the archive: sortable, one per window end; a backfill names both ends."""
        end = self.window_end.strftime("%Y%m%dT%H%M%SZ")
        if self.kind == "regular":
            return "digest-" + end
        return f"{self.kind}-{self.window_start:%Y%m%dT%H%M%SZ}-{end}"
