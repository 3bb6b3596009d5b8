"""Words of an article in English, Russian or Chinese, and keys that name one event in any of them.

Story grouping compares articles by their words, and what a word is depends on the script:

* Chinese has no spaces: jieba cuts a run of Han characters into words (its dictionary ships
  inside the package), with the lexicon's Chinese forms added so that names stay whole. Without
  this a Chinese article is a few giant "words" that no other article shares.
* Russian inflects: Snowball stems (PyStemmer) make Путин / Путина / Путину one word.
* Latin script: lower-cased Snowball English stems, English stop words dropped.

*Keys* link articles across languages, where no word is shared: numbers (``#130``), amounts with
their scale (2100 万 = 21 million = 21 млн is ``#2.1e+07``), dates (12 月 18 日 = December 18 =
18 декабря is ``date:12-18``), Latin-script names, also where a Chinese or Russian text quotes one
(布林肯（Antony Blinken）), a consonant skeleton of capitalised names in Latin or Cyrillic letters
(Трамп and Trump are both ``~trmp``), and the concepts of a small news lexicon written for this project
(``data/news_lexicon.tsv``: Putin = Путин = 普京 is ``@putin``). Within one language they also
serve as the named-entity overlap of two articles.

Pure and deterministic; jieba's dictionary loads once (into rjieba, which cuts as jieba does), on
the first Chinese text. Never imports the rest of Briefing.
"""

from __future__ import annotations

import collections
import functools
import importlib.util
import itertools
import re
import threading
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import ahocorasick
import Stemmer

if TYPE_CHECKING:
    import rjieba

__all__ = ["ENGLISH_STOP_WORDS", "Terms", "analyse", "chinese_words"]


def _english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, from the copy in ``briefing/data`` (importing scikit-learn takes ~2 s,
    more than a stage command's whole work on a small batch; a test keeps the copy equal to the library's)."""
    text = resources.files("briefing").joinpath("data/english_stop_words.txt").read_text(encoding="utf-8")
    return frozenset(w for w in text.split("\n") if w and not w.startswith("#"))


ENGLISH_STOP_WORDS = _english_stop_words()

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"[{HAN}]+")
_CYRILLIC_LETTER = re.compile(r"[\u0400-\u04ff]")
_NOT_LATIN = re.compile(f"[\u0400-\u04ff{HAN}]")  # Cyrillic or Han: the slower paths
_LATIN_WORD = re.compile(r"[a-z\u00df-\u024f]{2,}")  # on lower-cased text; "trump's" is trump (and s)
_CYRILLIC_WORD = re.compile(r"[а-яё]+(?:-[а-яё]+)?")  # on lower-cased text
_LATIN_NAME = re.compile(r"[A-Z\u00c0-\u00de][A-Za-z\u00c0-\u024f]*")
_CYRILLIC_NAME = re.compile(r"\b[А-ЯЁ][а-яёА-ЯЁ]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_DOTTED = re.compile(r"(?<!\w)([A-Z])\.([A-Z])\.(?:([A-Z])\.)?")  # U.S. → US, U.K. → UK
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+$")
_SCALE_WORDS = frozenset({"thousand", "million", "billion", "trillion", "mn", "bn", "tn", "m", "b",
                          "тыс", "млн", "млрд", "трлн", "тысяча", "тысячи", "тысяч", "тысячу", "тысячами",
                          "миллион", "миллиона", "миллионов", "миллиард", "миллиарда", "миллиардов",
                          "триллион", "триллиона", "триллионов"})
_SCALES = {"thousand": 1e3, "тыс": 1e3, "万": 1e4, "million": 1e6, "mn": 1e6, "m": 1e6, "млн": 1e6, "亿": 1e8,
           "billion": 1e9, "bn": 1e9, "b": 1e9, "млрд": 1e9, "trillion": 1e12, "tn": 1e12, "трлн": 1e12}
_AMOUNT = re.compile(r"(?<![0-9A-Za-z\u00c0-\u024f\u0400-\u04ff_.,])(\d+(?:[.,]\d+)?)\s*"
                     r"(thousand|million|billion|trillion|mn|bn|tn|m|b|тыс|млн|млрд|трлн|万|亿"
                     r"|тысяч[а-я]*|миллион[а-я]*|миллиард[а-я]*|триллион[а-я]*)(?![a-zа-я])",
                     re.IGNORECASE)
_DOUBLED = re.compile(r"(.)\1+")
_VOWELS = str.maketrans("", "", "aeiouy'’-")
_MONTHS = {m: i for i, names in enumerate((
    ("january", "jan", "января", "январь", "январе"), ("february", "feb", "февраля", "февраль", "феврале"),
    ("march", "mar", "марта", "март", "марте"), ("april", "apr", "апреля", "апрель", "апреле"),
    ("may", "мая", "май", "мае"), ("june", "jun", "июня", "июнь", "июне"), ("july", "jul", "июля", "июль", "июле"),
    ("august", "aug", "августа", "август", "августе"), ("september", "sept", "sep", "сентября", "сентябрь", "сентябре"),
    ("october", "oct", "октября", "октябрь", "октябре"), ("november", "nov", "ноября", "ноябрь", "ноябре"),
    ("december", "dec", "декабря", "декабрь", "декабре")), 1) for m in names}
_DAY_AFTER = re.compile(r"\.?\s{1,3}(\d{1,2})(?![\d.,:])")  # December 18
_DAY_BEFORE = re.compile(r"(?<![\d.,:])(\d{1,2})\s{1,3}$")  # 18 December, 18 декабря
_HAN_DATE = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")  # 12 月 18 日
_MONTH_WORDS = frozenset(_MONTHS)
_MONTH_NUMBER = re.compile(r"(?<![\d.])(\d{1,2})\s*月")  # Chinese: 4 月

# Cyrillic → Latin, close to how Russian names are spelt in English (Шойгу → shoigu); only the
# consonant skeleton is kept, so the vowels' spelling need not agree.
_TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
    "ь": "", "э": "e", "ю": "yu", "я": "ya",
})

_RUSSIAN_STOP = frozenset("""
а без более бы был была были было быть в вам вас весь во вот все всего всех вы где да даже для до его
ее ей ему если есть еще же за здесь и из или им их к как ко когда который кто ли либо между меня мне
может мы на над надо наш не него нее нет ни них но ну о об однако он она они оно от очень по под
после при про с со так также такой там те тем то того тоже только том тот ту ты у уже хотя чего чей
чем что чтобы эта эти это этого этой этом этот я года году год лет также заявил сообщил сказал ранее долго
""".split())

_CHINESE_STOP = frozenset("""
的 了 在 是 和 与 也 就 都 而 及 或 这 那 他 她 它 们 我 你 之 对 为 以 将 把 被 从 到 于 等 个 说 有 不
一 上 下 中 后 前 但 并 其 该 已 又 还 很 会 能 要 可 让 给 向 由 此 各 每 所 着 过 吗 呢 吧 啊 我们 他们
她们 你们 这个 那个 这些 那些 一个 没有 因为 所以 如果 表示 指出 认为 进行 已经 可以 以及 但是 因此
目前 今天 昨天 此外 同时 其中 不过 之后 之前 以来 方面 问题 情况 时候 这样 那样 以上 以下
""".split())

_ENGLISH_STOP = frozenset(ENGLISH_STOP_WORDS | {"said", "says", "say", "told", "year", "years", "new", "just",
                                                "like", "news", "reuters", "ap", "afp", "mr", "ms", "mrs"})


@dataclass(frozen=True)
class Terms:
    """What one text contributes: words to compare within a language, keys to compare across."""

    words: list[str]
    keys: list[str]
    script: str = ""  # "latin", "cyrillic", "han": the script of most of its words ("" with none)


@dataclass(frozen=True)
class _Lexicon:
    english: dict[tuple[str, ...], str]  # stems → concept
    russian: dict[tuple[str, ...], str]
    capitals: dict[str, str]  # a form written in capitals, matched as written
    chinese: ahocorasick.Automaton  # form → (length, concept)
    chinese_forms: tuple[str, ...]
    english_single: dict[str, str]  # forms of one word: stem → concept
    russian_single: dict[str, str]
    english_firsts: frozenset[str]  # the stems a form of several words starts with
    russian_firsts: frozenset[str]
    russian_short: dict[str, tuple[tuple[str, str, bool], ...]]  # stem → (form, concept, a name's) of one-word
    # forms that stem short (see _russian_concepts)


_local = threading.local()  # PyStemmer objects must not be shared between threads


def _stemmer(language: str) -> Stemmer.Stemmer:
    stemmers = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    if language not in stemmers:
        stemmers[language] = Stemmer.Stemmer(language, 100_000)
    return stemmers[language]


@functools.lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    """The news lexicon, its English and Russian forms stemmed as articles' words are."""
    text = resources.files("briefing").joinpath("data/news_lexicon.tsv").read_text(encoding="utf-8")
    english: dict[tuple[str, ...], str] = {}
    russian: dict[tuple[str, ...], str] = {}
    short: dict[str, list[tuple[str, str, bool]]] = {}
    proper = True  # in the sections of names (countries, places, people, bodies), not of news words
    capitals: dict[str, str] = {}
    chinese = ahocorasick.Automaton()
    forms: list[str] = []
    for line in text.splitlines():
        if line.startswith("# --- "):
            proper = "events and things" not in line
        if not line.strip() or line.startswith("#"):
            continue
        key, en, ru, zh = line.split("\t")
        for form in filter(None, en.split("|")):
            if form.isupper():
                capitals[form] = key
            else:
                english.setdefault(tuple(_english_words(form)), key)
        for form in filter(None, ru.split("|")):
            if form.isupper():
                capitals[form] = key
                continue
            stems = tuple(_russian_words(form))
            if len(stems) < len(form.split()) and not proper:
                continue  # it loses a stop word: Новый год would be every новый (Ван И: a name, written Ван)
            if len(stems) == 1 and (len(stems[0]) <= (4 if proper else 3) or len(stems[0]) < len(form) - 2
                                    or " " in form):
                # stemmed twice, a form can meet another word (Дания and данные are both дан): matched
                # only as that word, see _russian_concepts
                plain = form.split()[0].replace("ё", "е")
                short.setdefault(stems[0], []).append((plain, key, proper and not plain.endswith(_ADJECTIVE)))
            else:
                russian.setdefault(stems, key)
        for form in filter(None, zh.split("|")):
            if chinese.exists(form):
                continue
            chinese.add_word(form, (len(form), key))
            forms.append(form)
    english.pop((), None)
    russian.pop((), None)
    if max(len(k) for k in (*english, *russian)) > _LONGEST:
        raise ValueError("a lexicon form has more words than _LONGEST")
    chinese.make_automaton()
    return _Lexicon(english, russian, capitals, chinese, tuple(forms),
                    {k[0]: v for k, v in english.items() if len(k) == 1},
                    {k[0]: v for k, v in russian.items() if len(k) == 1},
                    frozenset(k[0] for k in english if len(k) > 1), frozenset(k[0] for k in russian if len(k) > 1),
                    {k: tuple(v) for k, v in short.items()})


@functools.lru_cache(maxsize=1)
def _jieba() -> rjieba.Jieba:
    """A cutter that cuts exactly as jieba 0.42 with the lexicon's Chinese forms added, ~8× faster.

    rjieba (jieba-rs, in Rust) cuts by the same method (the dictionary's DAG, the best route by
    log frequency over the total, the same HMM for unknown words); loaded with jieba's own dictionary
    and the same total it gives the same words: tests/test_chinese_cut.py compares the two on real and
    random text. jieba's total counts every line and every ``add_word`` in full (an added word that
    was already there is counted twice); jieba-rs's counts each word once, so a padding entry that no
    Han run can contain (a private-use character) makes up the difference.
    """
    import rjieba

    freq: dict[str, int] = {}
    total = 0
    with _jieba_dictionary().open(encoding="utf-8") as lines:
        for line in lines:
            word, written, *_ = line.split()  # "word freq [tag]", as jieba reads it
            freq[word] = int(written)
            total += int(written)
    for form in _lexicon().chinese_forms:
        if _HAN_RUN.fullmatch(form):
            freq[form] = 1000
            total += 1000
    cutter: rjieba.Jieba = rjieba.Jieba.empty()  # type: ignore[no-untyped-call]  # the stub leaves it untyped
    for word, count in freq.items():
        cutter.add_word(word, count, None)
    once = sum(freq.values())
    if total > once:
        cutter.add_word(_PADDING, total - once, None)
    return cutter


_PADDING = "\ue000"  # never in a run of HAN characters


def _jieba_dictionary() -> Path:
    """jieba's dict.txt, found without importing jieba (its import pulls in pkg_resources)."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("jieba is not installed: its dictionary is what Chinese words are cut by")
    return Path(next(iter(spec.submodule_search_locations))) / "dict.txt"


_jieba_lock = threading.Lock()
_STEMS: dict[str, dict[str, str]] = {"english": {}, "russian": {}}  # word → stem ("": a stop word); a dict
# look-up beats the stemmer's own cache, and one pass both drops stop words and stems


def _stems(words: list[str], language: str, stop: frozenset[str]) -> list[str]:
    """Snowball stems of ``words``, stop words dropped."""
    known = _STEMS[language]
    if not known:
        known.update(dict.fromkeys(stop, ""))
    try:
        return list(filter(None, map(known.__getitem__, words)))  # every word seen before: no Python loop
    except KeyError:
        pass
    table = dict.fromkeys(words, "")
    new = [w for w in table if w not in known]
    stems = _stemmer(language).stemWords(new)
    if language == "russian":  # again: a stem that still ends like a case ending loses it (see _russian_words)
        stems = _stemmer(language).stemWords(stems)
    fresh = dict(zip(new, stems))
    for w in table:
        table[w] = fresh[w] if w in fresh else known[w]
    if len(known) > 1_000_000:
        known.clear()
        known.update(dict.fromkeys(stop, ""))
    known.update(fresh)
    return list(filter(None, map(table.__getitem__, words)))


def _english_words(text: str, tokens: list[str] | None = None) -> list[str]:
    """Snowball stems of the Latin-script words, stop words dropped (``tokens``: already found)."""
    tokens = tokens if tokens is not None else _LATIN_WORD.findall(text.lower())
    return _stems(tokens, "english", _ENGLISH_STOP)


def _russian_words(text: str, tokens: list[str] | None = None) -> list[str]:
    """Snowball stems of the Cyrillic words, stop words dropped."""
    tokens = tokens if tokens is not None else _CYRILLIC_WORD.findall(text.lower().replace("ё", "е"))
    return _stems(tokens, "russian", _RUSSIAN_STOP)


def _chinese_words(runs: list[str]) -> list[str]:
    with _jieba_lock:  # built once, by one thread
        cutter = _jieba()
    words = [w for run in runs for w in cutter.cut(run, True)]
    return [w for w in words if w not in _CHINESE_STOP]


def chinese_words(run: str) -> list[str]:
    """The words jieba cuts from a run of Han characters, stop words dropped: ``analyse(run).words``
    without the rest of ``analyse``'s work (summaries count and weigh Chinese words sentence by sentence)."""
    return _chinese_words([run[:TEXT_CHARS]])


def _concepts(stems: list[str], table: dict[tuple[str, ...], str], single: dict[str, str],
              firsts: frozenset[str]) -> list[str]:
    """Lexicon concepts among the stems: every one-word form, and forms of several consecutive words."""
    out = list(filter(None, map(single.get, stems)))
    if not firsts.isdisjoint(stems):
        n = len(stems)
        for i in itertools.compress(range(n), map(firsts.__contains__, stems)):
            for size in range(min(_LONGEST, n - i), 1, -1):
                key = table.get(tuple(stems[i:i + size]))
                if key is not None:
                    out.append(key)
                    break
    return out


_LONGEST = 4  # words in the lexicon's longest form


def _russian_concepts(stems: list[str], tokens: list[str], text: str, lexicon: _Lexicon) -> list[str]:
    """Lexicon concepts of Russian stems; a form that stems short only where the word is that form.

    Stemmed twice, a form that stems short meets other words: Дания and данные are both ``дан``, Судан
    and суд ``суд``, Армения and армия ``арм``, Газа and газ ``газ``. Such a form counts where the word
    differs from it only in its ending (all but the form's last letter agree: Китая, Китаю for Китай;
    not данным for Дания, not армии for Армения), and a name's (not its adjective's) only where the
    text writes the word with a capital (газа is not Газа).
    """
    out = _concepts(stems, lexicon.russian, lexicon.russian_single, lexicon.russian_firsts)
    short = lexicon.russian_short
    if short.keys().isdisjoint(stems):
        return out
    known = _STEMS["russian"]
    capitals: set[str] | None = None
    for token, times in collections.Counter(tokens).items():
        stem = known.get(token)
        if stem is None:
            stem = next(iter(_russian_words("", [token])), "")
        for form, key, name in short.get(stem, ()):
            if not _inflected(token, form):
                continue
            if name:
                if capitals is None:
                    capitals = {w.lower().replace("ё", "е") for w in _CYRILLIC_NAME.findall(text)}
                if token not in capitals:
                    continue
            out += [key] * times
            break
    return out


_ADJECTIVE = ("ий", "ый", "ой", "ая", "ое", "ие", "ые")  # a name's adjective (китайский) is written lower-case
_ENDINGS = frozenset("""а я у ю е и ы о й ь ой ей ом ем ам ям ах ях ами ями ею ою ий ый ая яя ое ее ые ие ого его
ому ему ым им ых их ыми ими ую юю""".split())


def _inflected(token: str, form: str) -> bool:
    """The token is the form, or the form with a case ending added (Судана) or in place of its last
    letter (Китая, Дании, Газе); not a shorter word (газ for Газа) nor another one (Даниил for Дания)."""
    return token == form or (token.startswith(form) and token[len(form):] in _ENDINGS) or (
        token[:len(form) - 1] == form[:-1] and token[len(form) - 1:] in _ENDINGS)


def _chinese_concepts(text: str, automaton: ahocorasick.Automaton) -> list[str]:
    """Concepts whose Chinese forms occur, the longest match at each place (白俄罗斯 before 俄罗斯)."""
    hits = sorted(((end - length + 1, -length, key) for end, (length, key) in automaton.iter(text)))
    out, reach = [], 0
    for start, neg, key in hits:
        if start >= reach:
            out.append(key)
            reach = start - neg
    return out


@functools.lru_cache(maxsize=100_000)
def _skeleton(name: str) -> str:
    """Consonants of a name in Latin letters, doubled ones once: Trump, Трамп → trmp."""
    folded = unicodedata.normalize("NFKD", name.lower())
    letters = folded.encode("ascii", "ignore").decode().translate(_VOWELS).replace("x", "ks")  # Alexei = Алексей
    return _DOUBLED.sub(r"\1", letters)


def _number(token: str) -> str | None:
    """A number worth matching across texts: two digits or more, thousands separators dropped."""
    if token.isdigit():
        return token if len(token) >= 2 else None
    if _THOUSANDS.match(token):
        return token.replace(",", "")
    token = token.replace(",", ".")
    return token if len(token) >= 3 else None


def _round_values(numbers: list[str], text_numbers: list[str]) -> list[str]:
    """Round numbers of four digits or more as the amount keys write them: 500,000 = 500 тыс = ``#5e+05``,
    1500 = 1,5 тыс = ``#1.5e+03`` (an outlet writes the figure out, another with its scale word). A
    year (1900–2100 without a thousands separator) is no amount."""
    out = []
    for n, raw in zip(numbers, text_numbers):
        if not n.isdigit() or len(n) < 4:
            continue
        value = int(n)
        if (1900 <= value <= 2100 and raw == n) or float(f"{value:.3g}") != value:
            continue
        out.append(f"#{value:.3g}")
    return out


def _amounts(text: str) -> list[str]:
    """Amounts with their scale as one value: 260 亿, 26 billion and 26 млрд are all ``#2.6e+10``."""
    out = []
    for m in _AMOUNT.finditer(text):
        value = float(m.group(1).replace(",", ".")) * _scale(m.group(2).lower())
        out.append(f"#{value:.3g}")
    return out


def _scale(word: str) -> float:
    """The value of a scale word, abbreviated or written out in any case (тыс, тысячи, миллиардов)."""
    return _SCALES.get(word) or _SCALES[next(v for k, v in _RUSSIAN_SCALE if word.startswith(k))]


_RUSSIAN_SCALE = (("тысяч", "тыс"), ("миллиард", "млрд"), ("миллион", "млн"), ("триллион", "трлн"))


def _dates(text: str, lower: str, months: set[str]) -> list[str]:
    """Day and month, however written: the same date in two languages is the same key.

    ``months``: the month names among the text's lower-cased words. A month named alone
    (April, апреля, 4 月) is a key too; short names (may, mar) only next to a day, as they are
    English words as well.
    """
    out = []
    for name in months:
        number = _MONTHS[name]
        if len(name) > 3:
            out.append(f"month:{number}")
        start = 0
        while (i := lower.find(name, start)) >= 0:
            start = i + len(name)
            if (i and lower[i - 1].isalpha()) or (start < len(lower) and lower[start].isalpha()):
                continue  # inside another word
            day = _DAY_AFTER.match(lower, start) or _DAY_BEFORE.search(lower[max(0, i - 6):i])
            if day and 1 <= int(day.group(1)) <= 31:
                out.append(f"date:{number}-{int(day.group(1))}")
    if "月" in text:
        out += [f"date:{int(m)}-{int(d)}" for m, d in _HAN_DATE.findall(text) if 1 <= int(m) <= 12]
        out += [f"month:{int(m)}" for m in _MONTH_NUMBER.findall(text) if 1 <= int(m) <= 12]
    return out


TEXT_CHARS = 2000  # what identifies an event is in the first part of a report; longer texts cost, not help


def analyse(text: str) -> Terms:
    """The text's words (stems; jieba words for Chinese; numbers as ``#n``) and its cross-language keys.

    Only the first ``TEXT_CHARS`` characters are read.
    """
    lexicon = _lexicon()
    text = text[:TEXT_CHARS]
    if ".S." in text or ".K." in text or ".N." in text or "E.U." in text:
        text = _DOTTED.sub(lambda m: "".join(g for g in m.groups() if g), text)
    lower = text.lower()
    latin = _LATIN_WORD.findall(lower)
    other = _NOT_LATIN.search(text) is not None
    has_cyrillic = other and _CYRILLIC_LETTER.search(text) is not None
    if has_cyrillic:
        lower = lower.replace("ё", "е")
    cyrillic = _CYRILLIC_WORD.findall(lower) if has_cyrillic else []
    runs = _HAN_RUN.findall(text) if other else []
    english = _english_words(lower, latin)
    russian = _russian_words(lower, cyrillic) if cyrillic else []
    chinese = _chinese_words(runs) if runs else []
    found = [(n, raw) for raw in _NUMBER.findall(text) if (n := _number(raw))]
    numbers = [n for n, _ in found]
    keys = ["#" + n for n in numbers] + _round_values(numbers, [raw for _, raw in found])
    months = {w for w in latin if w in _MONTHS} if not _MONTH_WORDS.isdisjoint(latin) else set()
    if cyrillic and not _MONTH_WORDS.isdisjoint(cyrillic):
        months.update(w for w in cyrillic if w in _MONTHS)
    if months or runs:
        keys += _dates(text, lower, months)
    if numbers and (runs or not _SCALE_WORDS.isdisjoint(latin) or not _SCALE_WORDS.isdisjoint(cyrillic)):
        keys += _amounts(text)
    keys += ["@" + k for k in _concepts(english, lexicon.english, lexicon.english_single, lexicon.english_firsts)]
    if russian:
        keys += ["@" + k for k in _russian_concepts(russian, cyrillic, text, lexicon)]
    if runs:
        keys += ["@" + k for k in _chinese_concepts(text, lexicon.chinese)]
    names = _LATIN_NAME.findall(text) if not runs else _latin_in_han(text)
    if has_cyrillic:
        names += _CYRILLIC_NAME.findall(text)
    keys += _name_keys(names, lexicon.capitals)
    words = english + russian + chinese + ["#" + n for n in numbers]
    han = sum(map(len, runs)) / 1.5  # Han characters per word, about
    script = max((len(latin), "latin"), (len(cyrillic), "cyrillic"), (han, "han"))
    return Terms(words, keys, script[1] if script[0] else "")


def _name_keys(names: list[str], capitals: dict[str, str]) -> list[str]:
    """Keys of capitalised words: the lexicon's acronyms (WHO, ООН), the name, and its consonant skeleton."""
    out: list[str] = []
    for name in names:
        key = _NAME_KEYS.get(name)
        if key is None:
            key = _NAME_KEYS[name] = _name_key(name, capitals)
            if len(_NAME_KEYS) > 200_000:
                _NAME_KEYS.clear()
        out += key
    return out


_NAME_KEYS: dict[str, tuple[str, ...]] = {}  # names repeat across articles: work each out once


def _name_key(name: str, capitals: dict[str, str]) -> tuple[str, ...]:
    if name in capitals:
        return ("@" + capitals[name],)
    plain = name.replace("’", "'").lower().replace("ё", "е")
    if plain.endswith("'s"):
        plain = plain[:-2]
    if len(plain) < 2 or plain in _ENGLISH_STOP or plain in _RUSSIAN_STOP:
        return ()
    if "\u0400" <= plain[0] <= "\u04ff":
        stem = _russian_words("", [plain])
        if not stem:
            return ()
        skeleton = _skeleton(_case_stripped(plain).translate(_TRANSLIT))
        return ("^" + stem[0], "~" + skeleton) if len(skeleton) >= 3 else ("^" + stem[0],)
    skeleton = _skeleton(plain)
    return (plain, "~" + skeleton) if len(skeleton) >= 3 else (plain,)


_CASE_ENDING = re.compile(r"(?:ого|его|ому|ему|ыми|ими|ами|ями|ом|ем|ым|им|ой|ей|ою|ею|ую|ах|ях|а|я|у|ю|е|ы|и)$")


def _case_stripped(name: str) -> str:
    """A Russian name without its case ending, as English spells the name: Лаврова, Лавровым → лавров,
    Медведева → медведев (Snowball takes -ов and -ев off the name itself: Лавров → лавр, which
    would not meet Lavrov's skeleton)."""
    bare = _CASE_ENDING.sub("", name)
    return bare if len(bare) >= 3 else name


def _latin_in_han(text: str) -> list[str]:
    """In a Chinese text every Latin-script word is a name, an acronym or a quoted title."""
    return [w for w in re.findall(r"[A-Za-z][A-Za-z'’-]+", text)]
