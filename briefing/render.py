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
"""

from __future__ import annotations

import functools
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import css_inline
import jinja2
from jinja2.filters import do_wordwrap

from briefing.exceptions import RenderError
from briefing.language import detect_language
from briefing.outlets import OTHER, bundled_registry, coverage
from briefing.types import Article, BlocGroup, Digest, Relevance, Sentence, Story, health_summary
from briefing.urls import is_written_http_url

PACKAGE_TEMPLATES = Path(__file__).parent / "templates"   # in a built wheel
REPO_TEMPLATES = Path(__file__).parent.parent / "templates"  # in a checkout
MANIFEST = "digests.json"


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str
    subject: str


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

    An article that carries its language (``language``, set at ingest) is taken at
    its word; otherwise it is detected here from its title and text, as relevance did.
    A sentence has its article's language; one whose article is not at hand, its own.
    """

    def __init__(self, digest: Digest) -> None:
        self.by_id: dict[str, str] = {}
        self.articles: dict[str, Article] = {}
        for story in digest.stories:
            for a in (*story.articles, *story.duplicates, *story.earlier):
                self.articles.setdefault(a.id, a)

    def of(self, item: Article | Sentence) -> str:
        if isinstance(item, Sentence):
            article = self.articles.get(item.article_id)
            return self.of(article) if article is not None else detect_language("", item.text)
        lang = self.by_id.get(item.id)
        if lang is None:
            known = getattr(item, "language", None)
            lang = known if isinstance(known, str) and known else detect_language(item.title, item.text)
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
def _wordwrap(environment: jinja2.Environment, s: str, width: int = 79, break_long_words: bool = True,
              wrapstring: str | None = None, break_on_hyphens: bool = False) -> str:
    """Jinja's ``wordwrap`` by display width: text with no wide character wraps as Jinja's does, except
    that a hyphenated name ("sample-inbox", "Russia-China", a URL) is never split at its hyphen.

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


def render(digest: Digest, max_stories: int) -> Rendered:
    """Render the HTML and text digests.

    Raises:
        RenderError: a template is missing or fails.
    """
    languages = Languages(digest)
    context: dict[str, Any] = {
        "digest": digest,
        "stories": digest.stories[:max_stories],
        "more": digest.stories[max_stories:],
        "link": story_link,
        "health_summary": health_summary(digest.health) if digest.health else "",
        "notes": Footnotes(),
        "lang": languages.of,
        "mark": languages.mark,
        "preheader": " · ".join(s.lead.title for s in digest.stories[:3]),
        "blocs": blocs,
        "bloc_line": bloc_line,
        "one_bloc": one_bloc_note,
        "why": why,
        "window_line": window_line(digest),
    }
    try:
        env = _env()
        html = env.get_template("digest.html.j2").render(**context)
        text = env.get_template("digest.txt.j2").render(**context)
        html = css_inline.inline(html)
    except (jinja2.TemplateError, css_inline.InlineError, OSError) as exc:
        raise RenderError(f"cannot render digest: {exc}") from exc
    return Rendered(html=html, text=text, subject=subject(digest, max_stories))


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


def why(relevance: Relevance) -> str:
    """The evidence line: each term once, with every place it was found ("Putin (title, sentence)").

    ``Relevance.explain`` lists a term once per place, which in a digest reads as
    repetition; the order is the same (title first, then the weightiest).
    """
    if relevance.reason:
        return relevance.reason
    rank = {"title": 0, "sentence": 1, "relation": 1, "paragraph": 2, "text": 3}
    places: dict[str, dict[str, None]] = {}
    for e in sorted(relevance.evidence, key=lambda e: (rank.get(e.where, 9), -e.weight)):
        places.setdefault(e.term, {}).setdefault(e.where, None)
    terms = [f"{term} ({', '.join(wheres)})" for term, wheres in list(places.items())[:8]]
    return f"score {relevance.score:.2f}: " + ", ".join(terms)


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
    """Write ``<slug>.html``, ``<slug>.txt`` (and ``<slug>.eml``), update the manifest and ``index.html``.

    Returns the HTML file's path. Files are written whole (temp file + rename).

    Raises:
        RenderError: the archive folder cannot be written.
    """
    try:
        archive_dir.mkdir(parents=True, exist_ok=True)
        html_path = archive_dir / f"{digest.slug}.html"
        _write(html_path, rendered.html)
        _write(archive_dir / f"{digest.slug}.txt", rendered.text)
        if eml is not None:
            _write_bytes(archive_dir / f"{digest.slug}.eml", eml)
        entries = [e for e in _read_manifest(archive_dir) if e["slug"] != digest.slug]
        entries.append({
            "slug": digest.slug, "title": digest.title, "subject": rendered.subject,
            "window_start": digest.window_start.isoformat(), "window_end": digest.window_end.isoformat(),
            "stories": len(digest.stories), "articles": digest.relevant, "kind": digest.kind,
        })
        entries.sort(key=lambda e: e["window_end"], reverse=True)
        _write(archive_dir / MANIFEST, json.dumps(entries, indent=1, ensure_ascii=False))
        index = _env().get_template("index.html.j2").render(entries=entries)
        _write(archive_dir / "index.html", css_inline.inline(index))
    except (OSError, jinja2.TemplateError, css_inline.InlineError) as exc:
        raise RenderError(f"cannot write archive in {archive_dir}: {exc}") from exc
    return html_path


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
