"""Which language is an article in: reliable on a headline and a one-line lead.

Wire items are short (a title, a dateline, a sentence) and full of names, so a
character n-gram model alone drifts to a neighbour: English headlines come out
as Nigerian Pidgin, Chinese as Wu. Here the decision goes in three steps:

1. Clean: datelines and agency tags ("MOSCOW, November 3. /TASS/.",
   "(Reuters) -", "新华社北京11月3日电"), URLs and numbers are dropped by their
   shape — they belong to no language.
2. Script: Han characters → "zh" (every Chinese variety is "zh"), kana → "ja",
   Hangul → "ko". Cyrillic goes to a letter rule (і ї є ґ are Ukrainian,
   ы э ё Russian…), then to py3langid's scores limited to Cyrillic languages,
   with Russian kept unless another is clearly ahead.
3. Latin: a function-word count recognises English in microseconds; otherwise
   py3langid's scores decide, and English (with its close varieties) is kept
   unless another language is clearly ahead — a headline full of names is not
   Pidgin, Somali or Aragonese.

py3langid's scores are naive-Bayes log-likelihoods, so "restricting to a set of
languages" (its ``set_languages``) is the same as reading those columns of one
``rank``: one model serves every script. Pure: no I/O besides loading the model
that ships inside py3langid, once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

__all__ = ["detect_language"]

SAMPLE = 400  # characters of cleaned text the model reads: a lead's worth, and bounded time
# Log-likelihood (nats) by which another language must beat the home one (English for Latin script,
# Russian for Cyrillic): with no sign of that language in the letters or words, and with one.
SURE, HINTED = 14.0, 2.0

# Varieties and close relatives that the model tells apart but a reader (and a
# topic's lexicon) does not: each counts as its standard language.
_CANONICAL = {
    "pcm": "en", "sco": "en",
    "wuu": "zh", "yue": "zh", "lzh": "zh", "gan": "zh", "hak": "zh", "nan": "zh", "cdo": "zh",
    "arz": "ar", "ary": "ar", "uzs": "uz", "gug": "gn", "fuv": "ff", "sdh": "ku", "ltg": "lv",
    "gcf": "fr", "gcr": "fr", "an": "es", "ext": "es", "vec": "it", "lij": "it",
    "hbo": "he", "grc": "el",
}
_ENGLISH = frozenset(k for k, v in _CANONICAL.items() if v == "en") | {"en"}
_CYRILLIC_LANGS = frozenset({"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "tg", "tt", "ba", "mn"})

# --- cleaning -----------------------------------------------------------------

_UP = "A-ZÀ-ÖØ-ÞА-ЯЁЂ-ЏҐЄІЇЎ"  # upper-case Latin and Cyrillic letters
_LETTER = r"[^\W\d_]"
_PLACE = (rf"[{_UP}][{_UP}.'’\-]+(?:[ \t]+[{_UP}][{_UP}.'’\-]*){{0,3}}"  # MOSCOW, ST. PETERSBURG, НЬЮ-ЙОРК
          rf"(?:,[ \t]*[{_UP}][A-Za-z.]{{0,6}}\.)?")  # WASHINGTON, D.C.
_PLACE_ANY = rf"[{_UP}]{_LETTER}+\.?(?:[ \t]+[{_UP}]{_LETTER}+\.?){{0,2}}"  # Moscow, New Delhi
_DATE = (rf"(?:{_LETTER}{{3,9}}\.?[ \t]+\d{{1,2}}|\d{{1,2}}[ \t]+{_LETTER}{{3,9}}\.?)"
         r"(?:,?[ \t]+\d{4})?(?:[ \t]*г\.)?")  # November 3 / Nov. 3, 2025 / 3 ноября
_TAG_NAME = rf"(?:[{_UP}][^()/\[\]\n]{{1,23}}|[a-z]{{2,4}})"  # TASS, Xinhua, Reuters, dpa; not "(and China)"
_TAG = rf"(?:/{_TAG_NAME}/|\({_TAG_NAME}\)|\[{_TAG_NAME}\])"  # /TASS/ (Xinhua) [AFP]
_SEP = r"(?:[ \t]*(?:--|[—–:.-]))?"
_LATIN_DATELINE = re.compile(
    rf"^[ \t]*(?:{_PLACE}(?:,[ \t]*{_DATE})?\.?[ \t]*{_TAG}|{_PLACE},[ \t]*{_DATE}|"
    rf"{_PLACE_ANY},[ \t]*{_DATE}\.?[ \t]*{_TAG}|{_TAG}){_SEP}(?:[ \t]+|$)", re.M)
_HAN_PAREN = r"[ \t]*[（(][^（()）\n]{0,30}[)）]"  # （记者 李明） (新闻联播)
_HAN_DATELINE = re.compile(  # 新华社北京11月3日电（记者…） / 央视网消息（新闻联播）：
    rf"^[ \t]*(?:[\u4e00-\u9fff]{{0,16}}?\d{{1,2}}月\d{{1,2}}日(?:电|讯)(?:{_HAN_PAREN})?"
    rf"|[\u4e00-\u9fff]{{2,10}}(?:消息|电|讯)(?:{_HAN_PAREN}[ \t]*[：:]?|[ \t]*[：:]))", re.M)
# An address or handle is matched only from a token's start: Chinese has no spaces, and "\S+@" tried
# at every position of a long line would be quadratic.
_NOISE = re.compile(r"https?://\S+|www\.\S+|(?<!\S)[^\s@]*@\S+|#\w+|\d+(?:[.,:/]\d+)*")
# The same without the address branch, which cannot match a text without "@", in two passes: links and tags
# (asked only of a text holding "http", "www." or "#"), then numbers. The same result: the two kinds start on
# different characters (a letter or "#", a digit), so neither can start inside the other; and a link or tag
# runs to a space or a non-word character, so the space that replaces it joins no numbers. (2× faster.)
_LINKS_TAGS = re.compile(r"https?://\S+|www\.\S+|#\w+")
_NUMBERS = re.compile(r"\d+(?:[.,:/]\d+)*")
_HAN_DATELINE_MARKS = ("月", "电", "讯", "消")  # every Chinese dateline has one ("…月…日电", "…消息")


# The two dateline patterns without their "^", tried only where a line starts. No part of either can match a
# newline, so a dateline never runs past its line: this is the same substitution, without the regex engine
# testing the anchor at every position of the text (most of ``_clean``'s time on a long lead).
_HAN_DATELINE_AT = re.compile(_HAN_DATELINE.pattern.removeprefix("^"), re.M)
_LATIN_DATELINE_AT = re.compile(_LATIN_DATELINE.pattern.removeprefix("^"), re.M)


def _drop_at_line_starts(pattern: re.Pattern[str], text: str) -> str:
    """``text`` without what ``pattern`` matches at the start of any of its lines."""
    kept: list[str] = []
    done = start = 0
    while True:
        found = pattern.match(text, start)
        if found:
            kept.append(text[done:start])
            done = found.end()
        newline = text.find("\n", start)
        if newline < 0:
            break
        start = newline + 1
    return "".join(kept) + text[done:] if kept else text


def _clean(text: str) -> str:
    """Drop what belongs to no language: datelines, agency tags, URLs, numbers."""
    if any(mark in text for mark in _HAN_DATELINE_MARKS):
        text = _drop_at_line_starts(_HAN_DATELINE_AT, text)
    text = _drop_at_line_starts(_LATIN_DATELINE_AT, text)
    if "@" in text:
        return _NOISE.sub(" ", text)
    if "http" in text or "www." in text or "#" in text:
        text = _LINKS_TAGS.sub(" ", text)
    return _NUMBERS.sub(" ", text)


# --- scripts ------------------------------------------------------------------

# Runs, not single characters: findall then returns a few long strings, not hundreds of short ones.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d]+")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]+")
_CYR = re.compile(r"[\u0400-\u052f]+")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]+")
_ANY_LETTER = re.compile(r"[^\W\d_]+")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
# Non-ASCII characters that none of the patterns above counts (£, €, °, curly quotes, dashes, …),
# found by asking the patterns themselves: a sample with only these besides ASCII is counted by one search.
_NEUTRAL = "".join(c for c in map(chr, [*range(0x80, 0xc0), *range(0x2000, 0x2070), *range(0x20a0, 0x20d0)])
                   if not any(p.match(c) for p in (_HAN, _KANA, _HANGUL, _CYR, _LATIN, _ANY_LETTER)))
_COUNTED = re.compile("[^\x00-\x7f" + "".join(map(re.escape, _NEUTRAL)) + "]")
SYLLABIC = 3  # a Han, kana or Hangul character carries about as much as three Latin letters
SCRIPT_SAMPLE = 200  # characters enough to see which script dominates


def _count(pattern: re.Pattern[str], text: str) -> int:
    return sum(map(len, pattern.findall(text)))


def _script(sample: str) -> str:
    """The script most letters are in ("han", "kana", "hangul", "cyrillic", "latin", "other"), or "" for none."""
    sample = sample[:SCRIPT_SAMPLE]
    if sample.isascii() or not _COUNTED.search(sample):  # no Han, kana, Hangul, Cyrillic: only ASCII letters count
        return "latin" if _ASCII_LETTER.search(sample) else ""
    han, kana, hangul = _count(_HAN, sample), _count(_KANA, sample), _count(_HANGUL, sample)
    cyrillic, latin = _count(_CYR, sample), _count(_LATIN, sample)
    counts = {"han": SYLLABIC * (han + kana), "hangul": SYLLABIC * hangul, "cyrillic": cyrillic, "latin": latin}
    other = _count(_ANY_LETTER, sample) - (han + kana + hangul + cyrillic + latin)
    best = max(counts, key=counts.__getitem__)
    if other > sum(counts.values()):
        return "other"
    if not counts[best]:
        return ""
    if best == "han" and kana * 10 >= han + kana:  # Japanese mixes kana into its kanji; Chinese has none
        return "kana"
    return best


# --- the model ----------------------------------------------------------------


@lru_cache(maxsize=1)
def _model() -> Any:
    """py3langid's bundled model, our own instance (its module-level one may be restricted by others)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE)


Ranked = list[tuple[str, float]]  # (language, log-likelihood), best first


def _ranked(sample: str) -> Ranked:
    return list(_model().rank(sample))


def _best(ranked: Ranked) -> str:
    """The top language; "zxx" (no linguistic content) is no answer for text that has letters."""
    return next(k for k, _ in ranked if k != "zxx")


def _canonical(code: str) -> str:
    return _CANONICAL.get(code, code)


def _prefer(ranked: Ranked, home: frozenset[str], margin: float) -> str | None:
    """The best language other than ``home`` if it beats ``home`` by ``margin`` (nats), else None."""
    rival, best = next((k, v) for k, v in ranked if k not in home and k != "zxx")
    at_home = next(v for k, v in ranked if k in home)
    return rival if best - at_home > margin else None


# --- Cyrillic -----------------------------------------------------------------

_UK_ONLY = re.compile(r"[їєґЇЄҐ]")
_UK_I = re.compile(r"[іІ]")
_I = re.compile(r"[иИ]")  # Ukrainian writes и beside і; Belarusian never does
_RU_ONLY = re.compile(r"[ыэёЫЭЁ]|[ъЪ][еёюяЕЁЮЯ]")  # Russian writes ъ only before a soft vowel
_BG_HARD = re.compile(r"[ъЪ](?![еёюяЕЁЮЯ])")  # Bulgarian's vowel ъ ("път", "със", "обсъдиха")
_OTHER_CYRILLIC = re.compile(r"[ўЎјљњћђџѓќѕЈЉЊЋЂЏЃЌЅәғқңөұүһҳҷӣӯҗҡҫӘҒҚҢӨҰҮҺҲҶӢӮҖҠҪ]")  # be, sr, mk, Turkic, tg


def _cyrillic(sample: str) -> str:
    """Russian unless the letters (or, failing them, the model) clearly say otherwise."""
    uk = len(_UK_ONLY.findall(sample)) + len(_UK_I.findall(sample))
    ru = len(_RU_ONLY.findall(sample))
    other = len(_OTHER_CYRILLIC.findall(sample))
    if (other and other * 2 >= ru) or (uk and not _UK_ONLY.search(sample) and not _I.search(sample)):
        # A letter Russian never writes (or і without и: Belarusian): the model chooses among the others.
        return _canonical(_best(_cyr_ranked(sample)))
    if uk >= 2 and uk > 3 * ru and (_UK_ONLY.search(sample) or not ru):
        return "uk"
    if ru:
        return "ru"
    rival = _prefer(_cyr_ranked(sample), frozenset({"ru"}), HINTED if _BG_HARD.search(sample) or uk else SURE)
    return _canonical(rival) if rival else "ru"


def _cyr_ranked(sample: str) -> Ranked:
    return [kv for kv in _ranked(sample) if kv[0] in _CYRILLIC_LANGS]


# --- Latin --------------------------------------------------------------------

_EN_FUNCTION = frozenset(
    "the and of to for on with said says was as by at from it has have be are its their will not this who which "
    "were been after over amid into about than they he she his her we our you would could should".split())
# Words of other languages that are not also English words or name particles
# ("die", "per", "von", "Le Pen", "La Liga", "Al" are left out on purpose).
_FOREIGN_FUNCTION = frozenset(
    "les une et aux dans pour avec qui elle sont cette selon sur "  # fr
    "und der das ist nicht ein eine zu auf für sich auch im dem nach über bei wird werden "  # de
    "los las del y por con una se como su sus para según "  # es
    "il della che gli nel sono "  # it
    "não uma dos das ao em "  # pt
    "het een niet zijn voor "  # nl
    "och att är som på med "  # sv
    "się nie jest że "  # pl
    "ve bir bu ile için".split())
_ACCENTED = re.compile(r"[\u00c0-\u024f\u1e00-\u1eff]")  # letters English writes only in borrowed names
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_ASCII_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")  # _WORD on lowercased ASCII: a narrower class is 2× faster


def _latin(sample: str) -> str:
    """English unless the text is clearly another language.

    The model alone drifts on a headline of names ("Taliban stem Afghan
    exodus" → Bikol), so it must win by ``SURE`` — unless the words themselves
    hint at another language (its function words, letters with diacritics)
    and English function words are absent, when ``HINTED`` is enough.
    """
    lower = sample.lower()
    words = (_ASCII_WORD if lower.isascii() else _WORD).findall(lower)
    if not words:
        return "en"
    english = sum(map(_EN_FUNCTION.__contains__, words))
    foreign = sum(map(_FOREIGN_FUNCTION.__contains__, words))
    accented = _ACCENTED.search(sample) is not None
    if english >= 2 and english >= 0.12 * len(words) and foreign * 3 <= english and not accented:
        return "en"
    hinted = (foreign or accented) and foreign >= english
    rival = _prefer(_ranked(sample), _ENGLISH, margin=HINTED if hinted else SURE)
    return _canonical(rival) if rival else "en"


# --- the entry point ------------------------------------------------------------


def detect_language(title: str, text: str = "") -> str:
    """ISO 639-1 code of the article's language ("zh" for any Chinese), or "und" with no letter at all.

    Title and text are read together (the start of the text, after its
    dateline): a title alone is often too short to tell.
    """
    head = text[: SAMPLE + SAMPLE // 2]  # room for what cleaning drops
    if title and head.startswith(title.strip()):  # feeds often repeat the title as the text: count it once
        title = ""
    raw = f"{title}\n{head}" if head else title
    sample = _clean(raw)[:SAMPLE]
    script = _script(sample)
    if not script:  # nothing but a dateline, a number or a link: read it as it is
        sample = raw[:SAMPLE]
        script = _script(sample)
    if not script:
        return "und"
    if script == "han":
        return "zh"
    if script == "kana":
        return "ja"
    if script == "hangul":
        return "ko"
    if script == "cyrillic":
        return _cyrillic(sample)
    if script == "latin":
        return _latin(sample)
    return _canonical(_best(_ranked(sample)))
