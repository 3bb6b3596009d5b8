"""Silent edits: when a republished article counts as revised, and the line a digest gives it.

An article keyed by its feed's GUID or canonical link keeps its id when the outlet edits it, so the store
updates the row (``upsert_articles``). Only a *material* edit is kept as a revision and reported:

* the headline changed: its words differ (case, punctuation and spacing aside). A headline is a dozen
  words that every reader saw, so any change of a word is worth saying, a fixed typo included: the note
  quotes both and the reader judges;
* or the body changed materially: the word-level similarity (difflib's ratio over the case-folded words)
  of the old and new text is under ``MATERIAL_SIMILARITY``. A fixed typo or a changed date line moves a
  500-word text by a fraction of a percent; a paragraph added, cut or rewritten moves it by ~10% or more.
  Re-wrapping never gets this far (``content_hash`` folds whitespace).

An edit under the threshold still updates the row (search finds the current text) but is no revision.
Each edit is compared with the version stored before it, so a run of small fixes is never summed up.

Pure: no clock or database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from difflib import SequenceMatcher

from briefing.types import Article, Revision

__all__ = ["MATERIAL_SIMILARITY", "change_kind", "same_headline", "text_similarity", "update_note"]

# Word-level similarity under which a body is materially changed (1.0: the same words in the same order).
MATERIAL_SIMILARITY = 0.9
# Longer texts are compared as bags of words (difflib's quick_ratio): the ordered ratio is quadratic at worst.
_ORDERED_WORDS = 5000

_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def same_headline(old: str, new: str) -> bool:
    """The same words in the same order, whatever the case, punctuation and spacing."""
    return _words(old) == _words(new)


def text_similarity(old: str, new: str) -> float:
    """Word-level similarity of two texts in [0, 1] (difflib's ratio; a bag of words for very long texts)."""
    a, b = _words(old), _words(new)
    if a == b:
        return 1.0
    matcher = SequenceMatcher(None, a, b, autojunk=False)  # autojunk would drop "the", "и", "的" from long texts
    quick = matcher.quick_ratio()  # the same words in any order: never below the ordered ratio
    if quick < MATERIAL_SIMILARITY or max(len(a), len(b)) > _ORDERED_WORDS:
        return quick
    return matcher.ratio()


def change_kind(old_title: str, old_text: str, new_title: str, new_text: str) -> str | None:
    """ "headline", "text", or None when the edit is not material (see the module's docstring)."""
    if not same_headline(old_title, new_title):
        return "headline"
    if old_text != new_text and text_similarity(old_text, new_text) < MATERIAL_SIMILARITY:
        return "text"
    return None


def update_note(revisions: Sequence[Revision], articles: Sequence[Article]) -> str:
    """The digest's line for a story whose reports were revised since a digest carried them ("" if none).

    ``Updated since 28 Nov: headline changed from "…" to "…" (TASS)``, or ``…: text revised (TASS)``; the
    lead's revision when it has one, else the first; others are counted. The date is when the replaced
    version was first seen, i.e. what the earlier digest showed.
    """
    current = {a.id: a for a in articles}
    revised = [r for r in revisions if r.article_id in current]
    if not revised:
        return ""
    lead = articles[0].id if articles else ""
    first = next((r for r in revised if r.article_id == lead), revised[0])
    now = current[first.article_id]
    what = ("text revised" if same_headline(first.title, now.title)
            else f'headline changed from "{first.title}" to "{now.title}"')
    line = f"Updated since {_day(first.seen)}: {what} ({now.outlet_name})"
    others = len({r.article_id for r in revised}) - 1
    if others:
        line += f"; {others} more {'report' if others == 1 else 'reports'} revised"
    return line


def _day(value: datetime) -> str:
    return value.strftime("%-d %b")
