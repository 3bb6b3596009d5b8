"""Dates found in scraped text: datelines like ``12:34 GMT21 January 2021``.

Scrapers glue the clock, the zone and the date together, so the parser reads
the three parts with separate patterns instead of one free-form guess
(dateutil's fuzzy mode reads ``GMT21`` as a zone and ``GMT+3`` with POSIX's
inverted sign). Every result is timezone-aware UTC.
"""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timedelta, timezone

from dateutil import parser as _dateutil

MONTHS = {m: i for i, names in enumerate([
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
    ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
    ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
    ("december", "dec")], start=1) for m in names}
# Russian month names, as a date writes them (genitive: "19 ноября") and alone, and their short forms.
MONTHS.update({m: i for i, names in enumerate([
    ("января", "январь", "янв"), ("февраля", "февраль", "фев"), ("марта", "март", "мар"),
    ("апреля", "апрель", "апр"), ("мая", "май"), ("июня", "июнь", "июн"), ("июля", "июль", "июл"),
    ("августа", "август", "авг"), ("сентября", "сентябрь", "сен", "сент"), ("октября", "октябрь", "окт"),
    ("ноября", "ноябрь", "ноя", "нояб"), ("декабря", "декабрь", "дек")], start=1) for m in names})
_MONTH = r"(?P<mon>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAYS = ("monday tuesday wednesday thursday friday saturday sunday "
             "mon tue tues wed thu thur thurs fri sat sun").split()

# Offsets run to ±14 h; minutes only after a colon, so "+323 January" is +3, day 23.
_TIME = re.compile(
    r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::\d{2})?\s*(?P<ampm>[ap]\.?m\.?)?\s*"
    r"(?:(?P<zone>GMT|UTC|Z|МСК|MSK)\s*(?P<off>[+-]\s*(?:1[0-4]|0?\d)(?::[0-5]\d)?)?)?",
    re.IGNORECASE)
_DMY = re.compile(r"(?<!\d)(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<y>\d{4})(?!\d)",
                  re.IGNORECASE)
_MDY = re.compile(_MONTH + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})(?!\d)", re.IGNORECASE)
_ISO = re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2})?"
                  r"(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)")
# Day first, as written across Europe and Russia: 11.11.2026, 09.07.2020.
# Chinese: 2026年11月17日 (the year is needed: "11月17日" alone is a date in a sentence, not a dateline).
_HAN_YMD = re.compile(r"(?<!\d)(?P<y>\d{4})\s*年\s*(?P<mo>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]")
_DIGIT = re.compile(r"\d")
_NUMERIC = re.compile(r"(?<![\d.])(?P<d>\d{1,2})\.(?P<mo>\d{1,2})\.(?P<y>\d{4})(?![\d.])")
# Words a dateline may carry besides the date itself.
_FILLER = set(_WEEKDAYS) | {"updated", "published", "posted", "last", "on", "at", "gmt", "utc",
                            "am", "pm", "a.m.", "p.m.", "date", "time", "msk", "cet", "est",
                            "edt", "pst", "bst", "ist", "z"}
# The same in Russian and Chinese: "19 ноября 2026 г., 18:40 МСК", "2026年11月17日 10:30 来源：…".
_FILLER_OTHER = {"года", "г", "г.", "в", "от", "мск", "обновлено", "опубликовано", "изменено", "дата", "время",
                 "выпуск", "выпуска", "эфир", "эфира",  # a broadcast's stamp: "Выпуск новостей в 18:00 от 27.08.2019"
                 "понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье",
                 "пн", "вт", "ср", "чт", "пт", "сб", "вс", "сегодня", "вчера",
                 "来源", "作者", "记者", "发布", "发布时间", "时间", "更新", "更新时间", "编辑", "北京时间",
                 "星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日", "星期天",
                 "周一", "周二", "周三", "周四", "周五", "周六", "周日"}
_CYRILLIC_WORD = re.compile(r"[а-яёА-ЯЁ][а-яёА-ЯЁ.]*")
_HAN_WORD = re.compile(r"[\u4e00-\u9fff]+")  # a run of Han characters between spaces and punctuation
_HAN_STOP = tuple("。！？")
# Where a Russian or Chinese article's dateline ends, at the start of its first paragraph:
# "МОСКВА, 19 ноября. /ТАСС/.", "БИШКЕК, 19 ноября — РИА Новости.", "本报满洲里11月17日电（记者 赵文博）",
# "新华社北京11月17日电（记者 王某）", "中新网11月17日电", "本报讯（记者 李明）", "央视网消息（新闻联播）：".
_RU_PLACE = r"[А-ЯЁ][А-ЯЁ-]+(?:[ -][А-ЯЁ][А-ЯЁ-]+){0,2}"  # in capitals, as agencies write it
_RU_DATE = r"\d{1,2}\s+[а-яё]{3,8}\.?(?:\s+\d{4}(?:\s*(?:г\.|года))?)?"
_RU_DATELINE = re.compile(
    rf"^{_RU_PLACE},\s*{_RU_DATE}\s*(?:[.,]?\s*/[^/\n]{{1,30}}/\s*\.?|[—–-]\s*[^\W\d_][^.\n—–]{{0,30}}?\.)\s*")
_HAN_PAREN = r"\s*[（(][^（()）\n]{0,30}[)）]"
_HAN_DATELINE = re.compile(
    rf"^(?:[\u4e00-\u9fff]{{0,16}}?\d{{1,2}}月\d{{1,2}}日(?:电|讯)(?:{_HAN_PAREN})?"
    rf"|[\u4e00-\u9fff]{{2,10}}(?:消息|讯)(?:{_HAN_PAREN})?(?=\s*[：:])|[\u4e00-\u9fff]{{2,10}}讯{_HAN_PAREN})"
    r"\s*[：:]?\s*")


def parse_dateline(line: str) -> datetime | None:
    """Return the UTC moment a dateline names, or None if ``line`` is not one.

    A dateline holds a date and at most two other words (weekday names,
    "Updated", zone names and the like do not count).
    """
    found = find_date(line)
    if found is None:
        return None
    when, rest = found
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z.]*", rest) if w.lower().rstrip(".") not in _FILLER
             and w.lower() not in _FILLER]
    if not rest.isascii():  # Cyrillic words and runs of Han characters count as words too
        words += [w for w in _CYRILLIC_WORD.findall(rest) + _HAN_WORD.findall(rest)
                  if w.lower() not in _FILLER_OTHER and w.lower().rstrip(".") not in _FILLER_OTHER]
        if line.rstrip().endswith(_HAN_STOP):
            return None
    if len(words) > 2:
        return None
    # "Talks resume on 9 May 2026." is a sentence: a verb-like lowercase word and a full stop after the date
    if line.rstrip().endswith(".") and not line.rstrip().lower().endswith(("a.m.", "p.m.")) \
            and any(w[0].islower() for w in words):
        return None
    return when


def dateline_end(paragraph: str) -> int:
    """Where a Russian or Chinese dateline opening ``paragraph`` ends (0: none).

    "МОСКВА, 19 ноября. /ТАСС/." and "新华社北京11月17日电（记者 王某）" say where and
    when the agency filed, not what happened: a summary quoting the first sentence
    must not quote them. (English wire datelines are left as they are.)
    """
    first = paragraph[:1]
    if "А" <= first <= "Я" or first == "Ё":
        m = _RU_DATELINE.match(paragraph)
    elif "\u4e00" <= first <= "\u9fff":
        m = _HAN_DATELINE.match(paragraph)
    else:
        return 0
    return m.end() if m and m.end() < len(paragraph) else 0


def find_date(text: str) -> tuple[datetime, str] | None:
    """Find the first date (with an optional clock and zone) in ``text``.

    Returns the moment and the text left once the date and time are removed.
    """
    if not _DIGIT.search(text):  # every date pattern needs digits: most lines asked have none
        return None
    iso = _ISO.search(text)
    if iso:
        try:
            when = _dateutil.isoparse(iso.group(0).replace(" ", "T"))
        except ValueError:
            when = None
        if when is not None:
            return _utc(when), text[:iso.start()] + text[iso.end():]
    time_match = _TIME.search(text)
    rest = text
    hour = minute = 0
    offset = timedelta(0)
    if time_match:
        hour, minute = int(time_match["h"]), int(time_match["m"])
        ampm = (time_match["ampm"] or "").lower().replace(".", "")
        if ampm == "pm" and hour < 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
        if (time_match["zone"] or "").upper() in ("МСК", "MSK"):
            offset = timedelta(hours=3)  # Moscow time, as Russian outlets stamp their items
        if time_match["off"]:
            sign = -1 if time_match["off"].strip().startswith("-") else 1
            h, _, m = time_match["off"].strip()[1:].strip().partition(":")
            offset = sign * timedelta(hours=int(h), minutes=int(m or 0))
        rest = text[:time_match.start()] + " " + text[time_match.end():]
    date_match = _DMY.search(rest) or _MDY.search(rest) or _NUMERIC.search(rest) or _HAN_YMD.search(rest)
    if date_match is None:
        return None
    month = date_match["mo"] if "mo" in date_match.groupdict() else MONTHS[date_match["mon"].lower()]
    try:
        local = datetime(int(date_match["y"]), int(month),
                         int(date_match["d"]), hour if hour < 24 else 0, minute if minute < 60 else 0)
    except ValueError:
        return None
    when = (local - offset).replace(tzinfo=timezone.utc)
    return when, rest[:date_match.start()] + rest[date_match.end():]


def parse_datetime(value: str) -> datetime:
    """Parse ISO-8601, RFC 2822 (feeds, mail) or a dateline into aware UTC.

    A leading weekday name in any language ("mer, 16 nov 2022 …") is ignored.

    Raises:
        ValueError: the string holds no date.
    """
    value = value.strip()
    try:
        return _utc(_dateutil.isoparse(value))
    except ValueError:
        pass
    try:
        return _utc(email.utils.parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError):
        pass
    bare = re.sub(r"^[^\W\d_]{2,12}\.?,\s*", "", value)  # weekday, in whatever language
    if re.search(r"[+-]\d{4}\b|\b(?:GMT|UTC|Z)\b", bare) and not re.search(r"(?:GMT|UTC)\s*[+-]", bare):
        try:
            return _utc(_dateutil.parse(bare))
        except (ValueError, OverflowError):
            pass
    found = find_date(bare)
    if found is None:
        raise ValueError(f"not a date: {value!r}")
    return found[0]


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        return when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)
