"""Digest → HTML email, plain-text twin, and the on-disk archive with its index.

Templates live in ``templates/`` (Jinja2, autoescaped: every string from an
article is untrusted). CSS is written once in a ``<style>`` block and inlined
by css-inline, because mail clients drop ``<style>`` but keep ``style=``.

Three scripts: every headline, quote and coverage title carries its article's
language (``lang="ru"`` in HTML, so a reader's browser picks Cyrillic and CJK
fonts and Chinese punctuation; "[ru] "/"[zh] " before it in the text twin, none
for English), and the text twin wraps Chinese by display width (a Han
character fills two columns) rather than by character count.

Who carries each story comes first: its outlets grouped by media bloc ("Chinese state media:
Xinhua, CGTN · Western media: Reuters"), with "So far only in …" when one bloc carries it all.
The header says what the window means (arrivals since its start) and the span of publication
dates the stories show; the footer names the config file the run used.

A size budget: Gmail clips an HTML part past ~102 KB behind "[Message clipped]", hiding the footer,
the source health and the unsubscribe link. So the email holds the written-up stories, then as many
of the next stories by title as fit (``Budget``: 90 KB of HTML after inlining, 60 KB of text), then
one line "and 2,311 more stories in this window" linking to the archived page, which keeps the whole
digest (``Rendered.page``). Each part is fitted on its own, by rendering it again (a binary search on
how many titles it lists): sizes are measured on what is sent, the inlined HTML.

Phones and dark mode: the page is one fluid column (600 px at most), text 14 px or more, links that
stand alone (headlines, the list of titles) at least 44 px high. The dark palette sits in an
``@media (prefers-color-scheme: dark)`` block that inlining keeps in ``<style>`` (``keep_at_rules``)
with ``!important`` over the inlined light colours; clients that ignore the query and invert colours
themselves get a light palette of flat colours and no images, which inverts legibly.

The archive keeps each digest whole (HTML, text, the message), a manifest, ``index.html`` and
``feed.xml``: an Atom feed of the digests, each entry its subject, date, page and first headlines.
A story that earlier digests carried (``Story.digests_before``, ``briefing.timelines``) is linked to its
timeline page, ``stories/<id>.html`` under the archive, which ``write_timelines`` writes in the digest
page's look: its first report, each outlet's first report, each digest it was in, its updates.
"""

from __future__ import annotations

import functools
import json
import os
import re
import unicodedata
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import css_inline
import jinja2
from jinja2.filters import do_wordwrap

from briefing.exceptions import RenderError
from briefing.language import detect_language
from briefing.outlets import OTHER, bundled_registry, coverage
from briefing.revisions import update_note
from briefing.timelines import Timeline, timeline_name
from briefing.types import Article, BlocGroup, Digest, Relevance, Sentence, Story, health_summary
from briefing.urls import is_written_http_url

PACKAGE_TEMPLATES = Path(__file__).parent / "templates"   # in a built wheel
REPO_TEMPLATES = Path(__file__).parent.parent / "templates"  # in a checkout
MANIFEST = "digests.json"


KB = 1000  # sizes are told in kilobytes of 1000 bytes, of the UTF-8 text as sent


@dataclass(frozen=True)
class Budget:
    """How big each part of the email may be, in bytes, and how many reports a written-up story lists in it.

    90 KB of HTML leaves room under Gmail's ~102 KB clip for the MIME headers and a client's own markup;
    60 KB of text is a long read in a terminal already.
    """

    html: int = 90 * KB
    text: int = 60 * KB
    coverage: int = 4  # the summary quotes up to three of them already, and the bloc line names every outlet


EMAIL = Budget()


@dataclass(frozen=True)
class Rendered:
    """The email's two parts and subject; ``page``/``page_text`` are the whole digest, for the archive.

    ``hidden``: stories the HTML part leaves to the archived page; ``hidden_text``: the text part's.
    The page is the email itself when the email fits its budget (then it is left empty here).
    """

    html: str
    text: str
    subject: str
    page: str = ""
    page_text: str = ""
    hidden: int = 0
    hidden_text: int = 0

    @property
    def archive_html(self) -> str:
        return self.page or self.html

    @property
    def archive_text(self) -> str:
        return self.page_text or self.text


def size_line(rendered: Rendered) -> str:
    """ "message size: HTML 88.4 KB, text 41.0 KB (budget 90 KB / 60 KB); stories only on the archived page: …"

    For the run log: the parts as sent (the HTML inlined), in KB of 1000 bytes.
    """
    html, text = (_size(part) / KB for part in (rendered.html, rendered.text))
    line = f"message size: HTML {html:.1f} KB, text {text:.1f} KB"
    line += f" (budget {EMAIL.html // KB} KB / {EMAIL.text // KB} KB)"
    if rendered.hidden or rendered.hidden_text:
        line += f"; stories only on the archived page: {rendered.hidden:,} (HTML), {rendered.hidden_text:,} (text)"
    return line


def templates_dir() -> Path:
    return PACKAGE_TEMPLATES if PACKAGE_TEMPLATES.is_dir() else REPO_TEMPLATES


@functools.lru_cache(maxsize=4)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["date"] = _fmt_date
    env.filters["when"] = _fmt_when
    env.filters["ago"] = _fmt_ago
    env.filters["wordwrap"] = _wordwrap
    return env


def _fmt_date(value: datetime | None) -> str:
    return value.strftime("%-d %b %Y") if value else ""


def _fmt_when(value: datetime | None) -> str:
    return value.strftime("%-d %b %Y %H:%M UTC") if value else ""


def _fmt_ago(value: datetime, now: datetime) -> str:
    """ "3 days ago", "5 hours ago": how long a developing story has been running."""
    hours = max(0, int((now - value).total_seconds() // 3600))
    if hours >= 48:
        return f"{hours // 24} days ago"
    return f"{hours} hours ago" if hours != 1 else "1 hour ago"


def subject(digest: Digest, max_stories: int) -> str:
    """ "Russia–China Relations Digest — 23 Nov 2026 · 7 stories" """
    n = len(digest.stories)
    return f"{digest.title} — {_fmt_date(digest.window_end)} · {n} {'story' if n == 1 else 'stories'}"


ENGLISH = "en"  # the digest's own language: its texts get no mark


class Languages:
    """The language of each article and quoted sentence shown, detected once per article.

    An article that carries its language (``lang``, set at cleaning) is taken at
    its word; otherwise it is detected here from its title and text, as relevance did.
    A sentence has its article's language; one whose article is not at hand, its own.
    """

    def __init__(self, articles: Iterable[Article]) -> None:
        self.by_id: dict[str, str] = {}
        self.articles: dict[str, Article] = {}
        for a in articles:
            self.articles.setdefault(a.id, a)

    @classmethod
    def of_digest(cls, digest: Digest) -> Languages:
        """Every article a digest shows: its stories' reports, their copies, their earlier coverage."""
        return cls(a for s in digest.stories for a in (*s.articles, *s.duplicates, *s.earlier))

    def of(self, item: Article | Sentence) -> str:
        if isinstance(item, Sentence):
            article = self.articles.get(item.article_id)
            return self.of(article) if article is not None else detect_language("", item.text)
        lang = self.by_id.get(item.id)
        if lang is None:
            lang = item.lang or detect_language(item.title, item.text)
            self.by_id[item.id] = lang
        return lang

    def mark(self, item: Article | Sentence) -> str:
        """ "[ru] " before a text in another language than English, for the plain-text digest."""
        lang = self.of(item)
        return "" if lang in (ENGLISH, "und") else f"[{lang}] "


# A character that fills two columns of a terminal: Han, kana, Hangul, full-width forms and CJK punctuation.
_WIDE = "\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3" \
        "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\U00020000-\U0003fffd"
_HAS_WIDE = re.compile(f"[{_WIDE}]")
_TOKEN = re.compile(f"[{_WIDE}]|\\s+|[^\\s{_WIDE}]+")
_NO_LINE_START = frozenset("，。、！？；：）」』》〉】”’…,.!?;:)")  # stays on the line before (kinsoku)
_NO_LINE_END = frozenset("（「『《〈【“‘(")  # moves to the next line


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


@jinja2.pass_environment
def _wordwrap(environment: jinja2.Environment, s: str, width: int = 79, break_long_words: bool = False,
              wrapstring: str | None = None, break_on_hyphens: bool = False) -> str:
    """Jinja's ``wordwrap`` by display width: text with no wide character wraps as Jinja's does, except
    that a hyphenated name ("sample-inbox", "Russia-China", a URL) is never split at its hyphen, nor a
    word longer than the line (a path, a URL) anywhere: it sticks out rather than break where it can't be read.

    Chinese has no spaces, so a line may break between any two Han characters,
    but never before a closing mark (，。」) nor after an opening one (「《). A
    run without spaces or wide characters (a URL) is not broken.
    """
    if not _HAS_WIDE.search(s):
        return do_wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)
    sep = environment.newline_sequence if wrapstring is None else wrapstring
    return sep.join(sep.join(_wrap_wide(paragraph, width)) for paragraph in s.splitlines())


def _wrap_wide(text: str, width: int) -> list[str]:
    lines: list[str] = []
    line: list[str] = []
    used = 0
    for token in _TOKEN.findall(text):
        if token.isspace():
            if line:
                line.append(" ")
                used += 1
            continue
        size = _columns(token)
        if line and used + size > width and token[0] not in _NO_LINE_START:
            carry = [line.pop()] if len(line) > 1 and line[-1] in _NO_LINE_END else []
            while line and line[-1] == " ":
                line.pop()
            lines.append("".join(line))
            line, used = carry, _columns("".join(carry))
        line.append(token)
        used += size
    while line and line[-1] == " ":
        line.pop()
    if line or not lines:
        lines.append("".join(line))
    return lines


class Footnotes:
    """Links of the plain-text digest, numbered in order of first use: "[3]" in the text, URLs at the end."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}  # a dict, not a list: a long window has tens of thousands of links

    @property
    def urls(self) -> list[str]:
        return list(self.numbers)

    def ref(self, url: str) -> str:
        if not is_written_http_url(url):
            return ""
        return f" [{self.numbers.setdefault(url, len(self.numbers) + 1)}]"


def render(digest: Digest, max_stories: int, *, archive_url: str | None = None,
           budget: Budget | None = EMAIL) -> Rendered:
    """Render the HTML and text digests, each within ``budget`` (None: no limit), and the whole digest.

    Args:
        digest: What to render.
        max_stories: How many stories are written up (the rest are listed by title).
        archive_url: Where the archive is read (an https URL, or the archive folder's file URI): the
            email's "and N more stories" line links to ``<archive_url>/<slug>.html``. None: a link
            relative to the archive folder (right in the archived copy, not in a mail client).
        budget: Bytes each part may take; over it, titles are left to the archived page.

    Raises:
        RenderError: a template is missing or fails.
    """
    languages = Languages.of_digest(digest)
    link = _Links(archived_link(digest, archive_url), f"{archive_url.rstrip('/')}/" if archive_url else "")
    whole = _Cut(written=max_stories, listed=len(digest.stories), coverage=None, unscored=True)
    try:
        html = _part("digest.html.j2", digest, whole, languages, link)
        text = _part("digest.txt.j2", digest, whole, languages, link)
        if budget is None or (_size(html) < budget.html and _size(text) < budget.text):
            return Rendered(html=html, text=text, subject=subject(digest, max_stories))
        cut_html, email_html = _fit("digest.html.j2", digest, max_stories, budget.coverage, budget.html,
                                    languages, link, _size(html))
        cut_text, email_text = _fit("digest.txt.j2", digest, max_stories, budget.coverage, budget.text,
                                    languages, link, _size(text))
    except (jinja2.TemplateError, css_inline.InlineError, OSError) as exc:
        raise RenderError(f"cannot render digest: {exc}") from exc
    return Rendered(html=email_html, text=email_text, subject=subject(digest, max_stories), page=html,
                    page_text=text, hidden=cut_html.hidden(digest), hidden_text=cut_text.hidden(digest))


@dataclass(frozen=True)
class _Links:
    """Where a digest's links to the archive point: its archived page, and the archive itself (``base``, ""
    for links relative to the archive folder) under which each developing story's timeline page sits."""

    archived: str
    base: str

    def timeline(self, story: Story) -> str:
        """The story's timeline page when earlier digests carried it (it is developing), else ""."""
        return timeline_link(story, self.base)


def timeline_link(story: Story, base: str = "") -> str:
    """ "<base>stories/<id>.html" for a story that earlier digests carried (``digests_before``), else ""."""
    return f"{base}{timeline_name(story.story_id)}" if story.story_id and story.digests_before else ""


@dataclass(frozen=True)
class _Cut:
    """How much of the digest one rendering shows: ``written`` stories written up, then ``listed`` by title,
    ``coverage`` reports under each (None: all), the unscored articles or only their count."""

    written: int
    listed: int
    coverage: int | None
    unscored: bool

    def hidden(self, digest: Digest) -> int:
        return max(0, len(digest.stories) - self.written - self.listed)


def _size(part: str) -> int:
    return len(part.encode("utf-8"))


def _part(template: str, digest: Digest, cut: _Cut, languages: Languages, link: _Links) -> str:
    """One part rendered (the HTML one inlined: what is sent)."""
    out = _env().get_template(template).render(**_context(digest, cut, languages, link))
    if not template.endswith(".html.j2"):
        return out
    # The kept <style> holds what inlining cannot express: the dark palette and the phone paddings.
    return css_inline.inline(out, keep_at_rules=True, load_remote_stylesheets=False)


def _fit(template: str, digest: Digest, max_stories: int, coverage: int, limit: int, languages: Languages,
         link: _Links, whole: int) -> tuple[_Cut, str]:
    """The most of the digest one part can show under ``limit`` bytes: unscored articles go first, then titles
    from the end of the list, then (a digest whose write-ups alone overflow) written-up stories from the end.

    ``whole``: the size of the uncut part, for a first guess at how many titles fit.
    """
    probes: dict[_Cut, str] = {}

    def size(cut: _Cut) -> int:
        if cut not in probes:
            probes[cut] = _part(template, digest, cut, languages, link)
        return _size(probes[cut])

    written = min(max_stories, len(digest.stories))
    titles = len(digest.stories) - written
    listed = _most(lambda n: size(_Cut(written, n, coverage, False)), titles, limit, whole)
    cut = _Cut(written, listed, coverage, False)
    if size(cut) >= limit:  # the write-ups alone overflow: keep the first ones that fit
        cut = _Cut(_most(lambda n: size(_Cut(n, 0, coverage, False)), written, limit, whole), 0, coverage, False)
    size(cut)
    return cut, probes[cut]


def _most(size: Callable[[int], int], count: int, limit: int, whole: int) -> int:
    """The largest n in [0, count] with ``size(n) < limit`` (0 when none is), sizes growing with n.

    Sizes grow about linearly (a title costs about the same as the next), so each guess extends the line
    through the last two sizes measured (the first through ``size(0)`` and ``whole``, the size at ``count``);
    a guess outside the bracket, or a sixth, halves it instead. A 10k-article window takes some five renderings.
    """
    low, last = 0, (0, size(0))
    if last[1] >= limit:
        return 0
    high = count + 1  # never rendered: known to be too many
    rate = max(1.0, (whole - last[1]) / max(1, count))
    steps = 0
    while high - low > 1:
        guess = last[0] + int((limit - 1 - last[1]) / rate) if steps < 6 else -1
        mid = guess if low < guess < high else (low + high) // 2
        measured = size(mid)
        if measured < limit:
            low = mid
        else:
            high = mid
        if mid != last[0]:
            rate = max(1.0, (measured - last[1]) / (mid - last[0]))
        last = (mid, measured)
        steps += 1
    return low


def _context(digest: Digest, cut: _Cut, languages: Languages, link: _Links) -> dict[str, Any]:
    cut = replace(cut, written=min(cut.written, len(digest.stories)))
    listed = digest.stories[cut.written:cut.written + cut.listed]
    return {
        "digest": digest,
        "stories": digest.stories[:cut.written],
        "more": listed,
        "more_total": len(digest.stories) - cut.written,
        "hidden": cut.hidden(digest),
        "coverage": (lambda story: story.articles if cut.coverage is None else story.articles[:cut.coverage]),
        "unscored": digest.unscored if cut.unscored else (),
        "unscored_hidden": 0 if cut.unscored else len(digest.unscored),
        "archived": link.archived,
        "timeline": link.timeline,
        "link": story_link,
        "health_summary": health_summary(digest.health) if digest.health else "",
        "notes": Footnotes(),
        "lang": languages.of,
        "mark": languages.mark,
        "preheader": " · ".join(s.lead.title for s in digest.stories[:3]),
        "blocs": blocs,
        "bloc_line": bloc_line,
        "one_bloc": one_bloc_note,
        "why": Relevance.explain,
        "update": update_line,
        "window_line": window_line(digest),
    }


def archived_link(digest: Digest, archive_url: str | None) -> str:
    """The archived page of ``digest``: under ``archive_url`` when given, else beside the archived copy."""
    name = f"{digest.slug}.html"
    return f"{archive_url.rstrip('/')}/{name}" if archive_url else name


def story_listing(digest: Digest, max_stories: int, limit: int = EMAIL.text, archived: str | None = None) -> list[str]:
    """The stories as numbered Markdown lines for the run's artifact, capped like the email.

    Every written-up story, then the next by title while the lines stay under ``limit`` bytes, then
    "and N more stories in this window" pointing at the archived page (``archived``, a path or URL).
    """
    lines: list[str] = []
    used = 0
    for i, s in enumerate(digest.stories, 1):
        line = f"{i}. {s.lead.title} ({', '.join(s.sources)})"
        used += _size(line) + 1
        if i > max_stories and used >= limit:
            rest = len(digest.stories) - i + 1
            where = f": the archived page `{archived}` lists them all" if archived else ""
            lines.append(f"\nand {rest:,} more {'story' if rest == 1 else 'stories'} in this window{where}")
            break
        lines.append(line)
    return lines


def blocs(story: Story) -> tuple[BlocGroup, ...]:
    """Who carries the story, by bloc: as assembled, else (a story built by hand) from the bundled registry."""
    return story.blocs or coverage((*story.articles, *story.duplicates), bundled_registry())


def bloc_line(story: Story) -> str:
    """ "Chinese state media: Xinhua, CGTN · Western media: Reuters"; reports naming no outlet by source, unlabelled."""
    return " · ".join(f"{g.bloc}: {', '.join(g.outlets)}" if g.bloc else ", ".join(g.outlets) for g in blocs(story))


def one_bloc_note(story: Story) -> str:
    """ "So far only in Chinese state media" when one bloc carries it all; "" otherwise (or when unknown)."""
    groups = blocs(story)
    if len(groups) != 1 or not groups[0].bloc:
        return ""
    bloc = groups[0].bloc
    return "So far only in " + ("other media" if bloc == OTHER else bloc)


def update_line(story: Story) -> str:
    """ "Updated since 28 Nov: headline changed from "…" to "…" (TASS)" for a story whose reports were edited
    after a digest carried them; "" otherwise (``briefing.revisions.update_note``). The templates escape it."""
    return update_note(story.revisions, story.articles) if story.revisions else ""


def window_line(digest: Digest) -> str:
    """What the window means: a regular digest holds what arrived since its start, a backfill what was published.

    The stories show publication dates, so the regular header gives their span too.
    """
    if digest.kind == "backfill":
        return f"Published {_fmt_when(digest.window_start)} – {_fmt_when(digest.window_end)} (a backfill)"
    line = f"New since {_fmt_when(digest.window_start)}"
    span = digest.published_span
    if span is not None:
        first, last = (_fmt_date(d) for d in span)
        line += f"; published {first}" + (f" – {last}" if last != first else "")
    return line


def story_link(story: Story) -> str | None:
    """A link a reader can follow: http(s) URLs only (files are local paths)."""
    loc = story.lead.location
    return loc if is_written_http_url(loc) else None


def archive(digest: Digest, rendered: Rendered, archive_dir: Path, eml: bytes | None = None) -> Path:
    """Write ``<slug>.html``, ``<slug>.txt`` (and ``<slug>.eml``), update the manifest, ``index.html`` and
    ``feed.xml`` (an Atom feed of the digests, so a feed reader can follow them).

    Returns the HTML file's path. Files are written whole (temp file + rename).

    Raises:
        RenderError: the archive folder cannot be written.
    """
    try:
        archive_dir.mkdir(parents=True, exist_ok=True)
        html_path = archive_dir / f"{digest.slug}.html"
        _write(html_path, rendered.archive_html)  # the whole digest: the email may stop short of it
        _write(archive_dir / f"{digest.slug}.txt", rendered.archive_text)
        if eml is not None:
            _write_bytes(archive_dir / f"{digest.slug}.eml", eml)
        entries = [e for e in _read_manifest(archive_dir) if e["slug"] != digest.slug]
        entries.append({
            "slug": digest.slug, "title": digest.title, "subject": rendered.subject,
            "window_start": digest.window_start.isoformat(), "window_end": digest.window_end.isoformat(),
            "stories": len(digest.stories), "articles": digest.relevant, "kind": digest.kind,
            "created": digest.created.isoformat(), "headlines": [s.lead.title for s in digest.stories[:FEED_TITLES]],
        })
        entries.sort(key=lambda e: e["window_end"], reverse=True)
        _write(archive_dir / MANIFEST, json.dumps(entries, indent=1, ensure_ascii=False))
        index = _env().get_template("index.html.j2").render(entries=entries)
        _write(archive_dir / "index.html", css_inline.inline(index))
        _write_bytes(archive_dir / FEED, atom_feed(entries, digest.title))
    except (OSError, jinja2.TemplateError, css_inline.InlineError) as exc:
        raise RenderError(f"cannot write archive in {archive_dir}: {exc}") from exc
    return html_path


def render_timeline(timeline: Timeline, title: str, created: datetime) -> str:
    """A developing story's page (``briefing.timelines``): the digest page's look, its CSS inlined as there.

    Links to the digests are relative (``../<slug>.html``: the page sits in ``stories/`` of the archive),
    to reports only when they are http(s) URLs. Every headline carries its report's language.

    Raises:
        RenderError: the template is missing or fails.
    """
    lang = Languages(timeline.articles).of
    by_title = {a.title: a for a in reversed(timeline.articles)}  # a digest's headline is one of its reports'

    def title_lang(headline: str) -> str:
        found = by_title.get(headline)
        return lang(found) if found is not None else detect_language(headline, "")

    def page_of(seen: Any) -> str:
        return f"../{Path(seen.digest.archive_path).name}" if seen.digest.archive_path else ""

    def link(a: Article) -> str | None:
        return a.location if is_written_http_url(a.location) else None

    try:
        page = _env().get_template("story.html.j2").render(
            timeline=timeline, title=title, created=created, lang=lang, title_lang=title_lang, page_of=page_of,
            link=link)
        return css_inline.inline(page, keep_at_rules=True, load_remote_stylesheets=False)
    except (jinja2.TemplateError, css_inline.InlineError, OSError) as exc:
        raise RenderError(f"cannot render the timeline of story {timeline.story_id}: {exc}") from exc


def write_timelines(timelines: list[Timeline], archive_dir: Path, title: str, created: datetime) -> list[Path]:
    """Write (or refresh) ``stories/<id>.html`` in the archive for each timeline; returns the pages' paths.

    Raises:
        RenderError: a page cannot be rendered, or the archive folder cannot be written.
    """
    paths = []
    for t in timelines:
        page = render_timeline(t, title, created)
        path = archive_dir / timeline_name(t.story_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write(path, page)
        except OSError as exc:
            raise RenderError(f"cannot write archive in {archive_dir}: {exc}") from exc
        paths.append(path)
    return paths


FEED = "feed.xml"
FEED_TITLES = 10  # headlines an entry of the feed names (the manifest keeps them): its summary
_ATOM = "http://www.w3.org/2005/Atom"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # no XML 1.0 document may hold these


def atom_feed(entries: list[dict[str, Any]], title: str) -> bytes:
    """The archive's digests as an Atom feed (RFC 4287), newest first: each digest's subject, window end,
    archived page and a summary naming its first stories.

    Links are relative to the feed (``<slug>.html`` beside ``feed.xml``): a reader resolves them against
    wherever the archive is served. Ids are UUIDs made from each slug, so they stay the same when rewritten.
    """
    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{_ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = _NOT_XML.sub("", text)
        return el

    ET.register_namespace("", _ATOM)
    feed = ET.Element(f"{{{_ATOM}}}feed")
    add(feed, "title", title)
    add(feed, "id", uuid.uuid5(uuid.NAMESPACE_URL, f"briefing-archive:{title}").urn)
    stamps = [str(e.get("created") or e["window_end"]) for e in entries]  # all UTC: their text sorts as their time
    add(feed, "updated", max(stamps, default="1970-01-01T00:00:00+00:00"))
    add(feed, "link", rel="self", href=FEED, type="application/atom+xml")
    add(feed, "link", rel="alternate", href="index.html", type="text/html")
    add(add(feed, "author"), "name", "Briefing")
    add(feed, "generator", "Briefing")
    for e in entries:
        entry = add(feed, "entry")
        add(entry, "title", str(e["subject"]))
        add(entry, "id", uuid.uuid5(uuid.NAMESPACE_URL, f"briefing-digest:{e['slug']}").urn)
        add(entry, "updated", str(e.get("created") or e["window_end"]))
        add(entry, "published", str(e.get("created") or e["window_end"]))
        add(entry, "link", rel="alternate", href=f"{e['slug']}.html", type="text/html")
        add(entry, "link", rel="alternate", href=f"{e['slug']}.txt", type="text/plain")
        add(entry, "summary", _feed_summary(e), type="text")
    ET.indent(feed)
    xml: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"


def _feed_summary(entry: dict[str, Any]) -> str:
    """ "7 stories from 11 articles on topic (window …): Title; Title; … and 4 more." """
    stories, headlines = int(entry.get("stories", 0)), list(entry.get("headlines", []))
    line = (f"{stories:,} {'story' if stories == 1 else 'stories'} from {int(entry.get('articles', 0)):,} articles "
            f"on topic, {entry['window_start'][:16].replace('T', ' ')} – {entry['window_end'][:16].replace('T', ' ')}"
            " UTC")
    if headlines:
        line += ": " + "; ".join(headlines)
        line += f"; and {stories - len(headlines):,} more." if stories > len(headlines) else "."
    return line


def _read_manifest(archive_dir: Path) -> list[dict[str, Any]]:
    path = archive_dir / MANIFEST
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RenderError(f"archive manifest {path} is unreadable: {exc}") from exc
    return data if isinstance(data, list) else []


def _write(path: Path, content: str) -> None:
    _write_bytes(path, content.encode("utf-8"))


def _write_bytes(path: Path, content: bytes) -> None:
    """Whole or not at all: a temp file renamed into place.

    The temp file is created with mode 0666 less the umask (as ``open()``
    would), not ``mkstemp``'s 0600, so a web server or colleague can read the
    archive; reading the umask instead would briefly change it for every thread.
    """
    tmp = path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
