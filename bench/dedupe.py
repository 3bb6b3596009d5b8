"""Dedupe + story clustering at scale: N synthetic articles with planted duplicates and stories.

Run by hand (not in CI), from the checkout with the project installed::

    python bench/dedupe.py -n 100000            # the target: < 60 s and < 2 GiB on 2 cores
    python bench/dedupe.py -n 10000 --repeat 3  # median seconds of 3 pipeline rounds
    python bench/dedupe.py -n 1000 --tracemalloc --json out.json
    python bench/dedupe.py -n 20000 --profile   # pyinstrument of the pipeline (not of generation)

What it does:

1. Generates N English-looking news articles (200–600 words; a function-word list plus a
   50,000-word synthetic vocabulary drawn with a Zipf law; every text also mentions its story's
   "event" vocabulary: people, places, an organisation, numbers, topic words). They come from
   ``--sources`` outlets and are spread over 14 days (``published`` and ``first_seen`` are
   timezone-aware UTC; 5% have no ``published``). Planted, with the ground truth kept:

   * duplicate families (``--dup-share`` of all articles, originals and copies counted): an original
     plus 1–3 copies published by other sources within a day. Each copy is one of
     ``exact`` (the same title and text), ``headline`` (a new title, same text), ``trim`` (the last
     10–20% of the words dropped), ``words`` (3–8 words replaced), ``boilerplate`` (a "Follow us
     on …" line added) or ``mixed`` (a new title, a trimmed tail, changed words and boilerplate);
   * stories (``--story-share`` of all articles are originals in a story of 2–6 texts): separate
     texts written with different sentences that share the event vocabulary, published within 2
     days of each other. Every other original is its own story (with its own event vocabulary).

2. Runs the real pipeline, articles ordered by ``first_seen``::

       groups = duplicate_groups(articles, DedupeSettings())
       stories = story_groups([g[0] for g in groups], DedupeSettings())

   Each step is timed (wall and CPU seconds) and followed by ``ru_maxrss``, the process high-water
   mark (it includes the generated articles; "after generation" is printed as the baseline).
   ``--tracemalloc`` adds a second, traced round that reports each step's peak of Python
   allocations above what was allocated when the step began (slow; its seconds are not used).

3. Scores the result against the ground truth, counting pairs of articles:

   * duplicates: recall = planted duplicate pairs (one family) that land in one duplicate group;
     precision = pairs grouped together that are planted duplicates. Also per copy kind: the share
     of copies grouped with their original.
   * stories: an article's story is its duplicate group's story. Recall and precision of pairs
     against the planted stories, where copies belong to their original's story; and the same for
     "distinct-text" pairs only (pairs of one story that are not one duplicate family).

Prints a table; ``--json FILE`` also writes all numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
import numpy as np

import briefing.dedupe
from briefing.dedupe import DedupeSettings, duplicate_groups, story_groups
from briefing.extract import article_id, content_hash
from briefing.types import Article

START = datetime(2025, 3, 1, tzinfo=timezone.utc)
DAYS = 14
TOPIC_RATE = 0.06  # default share of a text's words drawn from its event's 10-25 topic words
COPY_KINDS = ("exact", "headline", "trim", "words", "boilerplate", "mixed")
COPY_WEIGHTS = (0.20, 0.10, 0.20, 0.20, 0.15, 0.15)
BOILERPLATE = (
    "Follow us on X, Facebook and Instagram for the latest news.",
    "Follow us on Telegram and WhatsApp to get breaking news first.",
    "Sign up for our morning newsletter and follow us on social media.",
    "Follow us on Google News and never miss a story.",
)

# Function words, roughly by frequency; a Zipf law picks among them.
_FUNCTION = (
    "the of and to a in that is was for on with as by at from it he said his an be has are have "
    "this which but not were had they will their its been who after more also would than one or "
    "she her about when other into over we there up can all some new last two first year could "
    "out while them only before because most between during against under since three where those "
    "any both such many much through still very then these may should our what just being four "
    "each however even so whether him without around among until across told per off next again"
).split()

_ONSETS = ("b c d f g h j k l m n p r s t v w z br cr dr fr gr pr tr st sh ch th pl bl cl gl sl sp "
           "sk sn sw tw qu").split()
_VOWELS = "a e i o u a e i o a e ai ea ou io ia ee oo".split()
_CODAS = ("", "", "", "n", "r", "s", "l", "t", "m", "nd", "st", "ck", "ng", "rt", "x")


# --- synthetic news ------------------------------------------------------------------

def _pseudo_words(rng: np.random.Generator, count: int, syllables: tuple[int, int]) -> list[str]:
    """``count`` distinct pronounceable lower-case words."""
    out: dict[str, None] = {}
    while len(out) < count:
        batch = 2 * (count - len(out)) + 16
        k = rng.integers(syllables[0], syllables[1] + 1, size=batch)
        parts = zip(rng.integers(len(_ONSETS), size=(batch, 4)).tolist(),
                    rng.integers(len(_VOWELS), size=(batch, 4)).tolist(),
                    rng.integers(len(_CODAS), size=(batch, 4)).tolist())
        for n, (o, v, c) in zip(k.tolist(), parts):
            out.setdefault("".join(_ONSETS[o[j]] + _VOWELS[v[j]] + _CODAS[c[j]] for j in range(n)), None)
            if len(out) == count:
                break
    return list(out)


def _zipf_cdf(n: int, s: float = 1.07, q: float = 2.7) -> np.ndarray:
    weights = 1.0 / (np.arange(n) + q) ** s
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


@dataclass
class Event:
    """What one story is about: the names, numbers and words every text of it uses."""

    tokens: list[str]  # most prominent first
    cdf: np.ndarray  # which token a mention picks
    topic: np.ndarray  # the story's own content words (object array)

    def pick(self, rng: np.random.Generator, k: int) -> list[str]:
        return [self.tokens[i] for i in np.searchsorted(self.cdf, rng.random(k))]


@dataclass
class Events:
    """Many events in flat arrays: event i's tokens are ``tokens[token_off[i]:token_off[i + 1]]`` (most
    prominent first), its topic words ``topic[topic_off[i]:topic_off[i + 1]]`` (ids into the vocabulary)."""

    tokens: np.ndarray  # object array of str
    token_off: np.ndarray
    topic: np.ndarray
    topic_off: np.ndarray


_ORG_SUFFIXES = (" Group", " Holdings", " Ministry", " Union", " Institute", " Party", " Bank")
_MAX_SENTENCES = 75  # 600 words in sentences of at least 8
_capital = np.frompyfunc(lambda w: w[:1].upper() + w[1:], 1, 1)
_full_stop = np.frompyfunc(lambda w: w.rstrip(",") + ".", 1, 1)


@dataclass
class Writer:
    rng: np.random.Generator
    topic_rate: float = TOPIC_RATE
    vocab: np.ndarray = field(init=False)
    vocab_cdf: np.ndarray = field(init=False)
    function: np.ndarray = field(init=False)
    function_cdf: np.ndarray = field(init=False)
    first: list[str] = field(init=False)
    last: list[str] = field(init=False)
    places: list[str] = field(init=False)
    orgs: list[str] = field(init=False)

    def __post_init__(self) -> None:
        words = _pseudo_words(self.rng, 50_000 + 3_000 + 20_000 + 5_000 + 3_000, (1, 4))
        self.rng.shuffle(words)
        words.sort(key=len)  # short words are the frequent ones
        content, rest = words[:50_000], words[50_000:]
        order = self.rng.permutation(len(content))  # but not strictly by length
        head = sorted(order[:2000])
        content = [content[i] for i in head] + [content[i] for i in order[2000:]]
        self.vocab = np.array(content, dtype=object)
        self.vocab_cdf = _zipf_cdf(len(content))
        self.function = np.array(_FUNCTION, dtype=object)
        self.function_cdf = _zipf_cdf(len(_FUNCTION), 1.0, 1.5)
        self.rng.shuffle(rest)
        cap = [w.capitalize() for w in rest]
        self.first, self.last = cap[:3_000], cap[3_000:23_000]
        self.places, self.orgs = cap[23_000:28_000], cap[28_000:31_000]
        self._first_cdf, self._last_cdf = _zipf_cdf(3_000, 0.9), _zipf_cdf(20_000, 0.8)
        self._place_cdf, self._org_cdf = _zipf_cdf(5_000, 1.0), _zipf_cdf(3_000, 0.9)
        self._table = np.concatenate([self.vocab, self.function])  # content word ids, then function words

    def events(self, count: int) -> Events:
        """``count`` events at once: what each story is about (bulk draws, one Python pass to name them)."""
        r = self.rng
        people_n, places_n, numbers_n = r.integers(2, 5, count), r.integers(1, 3, count), r.integers(2, 4, count)
        first = np.searchsorted(self._first_cdf, r.random((count, 4)))
        last = np.searchsorted(self._last_cdf, r.random((count, 4)))
        place = np.searchsorted(self._place_cdf, r.random((count, 2)))
        org = np.searchsorted(self._org_cdf, r.random(count))
        suffix = r.integers(len(_ORG_SUFFIXES), size=count)
        fmt = r.integers(4, size=(count, 3))
        a, b, c = r.integers(1, 99, (count, 3)), r.integers(0, 999, (count, 3)), r.integers(2, 99, (count, 3))
        d, e = r.integers(0, 9, (count, 3)), r.integers(11, 999, (count, 3))
        topic_n = r.integers(10, 26, count)
        topic_off = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(topic_n, out=topic_off[1:])
        topic = r.integers(200, 20_000, size=int(topic_off[-1]))
        tokens: list[str] = []
        token_n = np.empty(count, dtype=np.int64)
        fl, ll, pl, ol, fm = first.tolist(), last.tolist(), place.tolist(), org.tolist(), fmt.tolist()
        al, bl, cl, dl, el = a.tolist(), b.tolist(), c.tolist(), d.tolist(), e.tolist()
        for i, (np_, nq, nn, t0) in enumerate(zip(people_n.tolist(), places_n.tolist(), numbers_n.tolist(),
                                                  topic_off[:-1].tolist())):
            people = [f"{self.first[fl[i][k]]} {self.last[ll[i][k]]}" for k in range(np_)]
            places = [self.places[pl[i][k]] for k in range(nq)]
            numbers = [(f"{al[i][k]},{bl[i][k]:03d}", f"{cl[i][k]} percent", f"${al[i][k]}.{dl[i][k]} billion",
                        f"{el[i][k]}")[fm[i][k]] for k in range(nn)]
            words = self.vocab[topic[t0:t0 + 3]].tolist()
            row = [people[0], places[0], words[0], self.orgs[ol[i]] + _ORG_SUFFIXES[suffix[i]], *people[1:],
                   *places[1:], *words[1:3], *numbers]
            tokens += row
            token_n[i] = len(row)
        token_off = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(token_n, out=token_off[1:])
        return Events(np.array(tokens, dtype=object), token_off, topic, topic_off)

    def _draw(self, article_event: np.ndarray, sizes: np.ndarray, events: Events) -> np.ndarray:
        """``sizes[i]`` words for each article (flat): function words (42%), its event's topic words
        (``topic_rate``), else the general vocabulary (as ``_words``, for many articles at once)."""
        r = self.rng
        total = int(sizes.sum())
        ev = np.repeat(article_event, sizes)
        content = np.searchsorted(self.vocab_cdf, r.random(total))
        topic_n = np.diff(events.topic_off)[ev]
        topic = events.topic[events.topic_off[ev] + (r.random(total) * topic_n).astype(np.int64)]
        function = len(self.vocab) + np.searchsorted(self.function_cdf, r.random(total))
        u = r.random(total)
        ids = np.where(u < 0.42, function, np.where(u < 0.42 + self.topic_rate, topic, content))
        return self._table[ids]

    def _picks(self, article_event: np.ndarray, events: Events) -> np.ndarray:
        """One event token for each entry of ``article_event``, the first ones most often (as ``Event.pick``)."""
        size = np.diff(events.token_off)[article_event]
        u = self.rng.random(len(article_event))
        place = np.empty(len(article_event), dtype=np.int64)
        for n in np.unique(size).tolist():
            mine = size == n
            place[mine] = np.searchsorted(_zipf_cdf(n, 1.0, 1.0), u[mine])
        return events.tokens[events.token_off[article_event] + place]

    def titles(self, article_event: np.ndarray, events: Events) -> list[str]:
        """A headline per article: 4–8 words with two of its event's tokens put in (as ``title``)."""
        r = self.rng
        count = len(article_event)
        sizes = r.integers(4, 9, count)
        words = self._draw(article_event, sizes, events).tolist()
        picks = self._picks(np.repeat(article_event, 2), events).tolist()
        where = r.random((count, 2))
        out, at = [], 0
        for i, n in enumerate(sizes.tolist()):
            ws = words[at:at + n]
            at += n
            ws.insert(int(where[i, 0] * (n + 1)), picks[2 * i])
            ws.insert(int(where[i, 1] * (n + 2)), picks[2 * i + 1])
            line = " ".join(ws)
            out.append(line[:1].upper() + line[1:])
        return out

    def texts(self, article_event: np.ndarray, events: Events) -> list[str]:
        """A text per article (as ``text``): sentences of 8–28 words up to 200–600 words, 5% of words
        followed by a comma, 55% of sentences naming one or two of the event's tokens, paragraphs of 2–5
        sentences. Drawn for all the articles at once and joined by one ``str.join``."""
        r = self.rng
        count = len(article_event)
        target = r.integers(200, 601, count)
        lengths = r.integers(8, 29, (count, _MAX_SENTENCES))
        made = lengths.cumsum(axis=1)
        sentences = (made < target[:, None]).sum(axis=1) + 1
        sentence_len = lengths[np.arange(_MAX_SENTENCES) < sentences[:, None]]
        sentence_event = np.repeat(article_event, sentences)
        start = np.zeros(len(sentence_len), dtype=np.int64)
        np.cumsum(sentence_len[:-1], out=start[1:])
        end = start + sentence_len - 1
        words = self._draw(sentence_event, sentence_len, events)
        comma = np.flatnonzero(r.random(len(words)) < 0.05)
        words[comma] = words[comma] + ","
        named = r.random(len(start)) < 0.55
        twice = named & (r.random(len(start)) >= 0.7)
        which = np.r_[np.flatnonzero(named), np.flatnonzero(twice)]
        spot = start[which] + (r.random(len(which)) * sentence_len[which]).astype(np.int64)
        words[spot] = self._picks(sentence_event[which], events)
        words[start] = _capital(words[start])
        words[end] = _full_stop(words[end])
        gap = np.full(len(words), " ", dtype=object)
        groups = r.integers(2, 6, (count, _MAX_SENTENCES)).cumsum(axis=1)
        first = np.zeros(count, dtype=np.int64)
        np.cumsum(sentences[:-1], out=first[1:])
        breaks = (first[:, None] + groups - 1)[groups < sentences[:, None]]
        gap[end[breaks]] = "\n\n"
        gap[end[first + sentences - 1]] = "\0"
        out = np.empty(2 * len(words), dtype=object)
        out[0::2], out[1::2] = words, gap
        return "".join(out.tolist()).split("\0")[:-1]

    def event(self, events: Events, i: int) -> Event:
        """Event ``i`` of the table as an ``Event``, for the copy edits."""
        tokens = events.tokens[events.token_off[i]:events.token_off[i + 1]].tolist()
        topic = self.vocab[events.topic[events.topic_off[i]:events.topic_off[i + 1]]]
        return Event(tokens, _zipf_cdf(len(tokens), 1.0, 1.0), topic)

    def _words(self, k: int, event: Event) -> list[str]:
        """Function words (42%), the event's topic words (``topic_rate``), else the general vocabulary."""
        r = self.rng
        content = self.vocab[np.searchsorted(self.vocab_cdf, r.random(k))]
        topic = event.topic[r.integers(len(event.topic), size=k)]
        function = self.function[np.searchsorted(self.function_cdf, r.random(k))]
        u = r.random(k)
        return np.where(u < 0.42, function, np.where(u < 0.42 + self.topic_rate, topic, content)).tolist()

    def title(self, event: Event) -> str:
        words = self._words(int(self.rng.integers(4, 9)), event)
        for token in event.pick(self.rng, 2):
            words.insert(int(self.rng.integers(0, len(words) + 1)), token)
        return " ".join(words)[:1].upper() + " ".join(words)[1:]

    def edit(self, kind: str, title: str, text: str, event: Event) -> tuple[str, str]:
        """A copy of (title, text) with ``kind``'s edits."""
        r = self.rng
        if kind in ("headline", "mixed"):
            title = self.title(event)
        if kind in ("trim", "mixed"):
            words = text.split(" ")
            keep = int(len(words) * (1 - r.uniform(0.10, 0.20)))
            text = " ".join(words[:keep]).rstrip(",") + "."
        if kind in ("words", "mixed"):
            words = text.split(" ")
            for i in r.choice(len(words), size=int(r.integers(3, 9)), replace=False):
                tail = "".join(c for c in words[i][-1:] if not c.isalnum())
                lead = "\n\n" if words[i].startswith("\n") else ""
                words[i] = lead + str(self.vocab[int(np.searchsorted(self.vocab_cdf, r.random()))]) + tail
            text = " ".join(words)
        if kind in ("boilerplate", "mixed"):
            text += "\n\n" + BOILERPLATE[int(r.integers(len(BOILERPLATE)))]
        return title, text


@dataclass
class Truth:
    family: list[int]  # planted duplicate family of each article (its original's number)
    story: list[int]  # planted story of each article
    kind: list[str]  # "original" or the copy's kind


@dataclass
class Source:
    name: str
    host: str


def _article(src: Source, serial: int, title: str, text: str, published: datetime, tracked: bool,
             delay_minutes: float, has_date: bool) -> Article:
    h = content_hash(text)
    slug = "-".join(title.lower().split()[:5]).replace(",", "").replace("$", "")
    query = "?utm_source=rss&utm_medium=feed" if tracked else ""
    location = f"https://{src.host}/{published:%Y/%m/%d}/{slug}-{serial}.html{query}"
    seen = published + timedelta(minutes=delay_minutes)
    return Article(article_id(src.name, h), src.name, location, title, text, h, seen,
                   published if has_date else None)


_CHUNK = 20_000  # articles written at a time (their words are drawn as one array)


def generate(n: int, dup_share: float, story_share: float, sources: int, seed: int,
             topic_rate: float = TOPIC_RATE) -> tuple[list[Article], Truth]:
    """N articles and what was planted in them; every draw is from one seeded generator, mostly in bulk
    (1M articles in minutes, where one draw per word took hours)."""
    rng = np.random.default_rng(seed)
    writer = Writer(rng, topic_rate)
    outlets = [Source(f"outlet-{i:04d}", f"www.{w}-news.example") for i, w in
               enumerate(_pseudo_words(np.random.default_rng(seed + 1), sources, (2, 3)))]
    copies_per_family = [1, 2, 3]
    mean_copies = 0.80 * 1 + 0.15 * 2 + 0.05 * 3
    families = round(n * dup_share / (1 + mean_copies))
    per_family = rng.choice(copies_per_family, size=families, p=[0.80, 0.15, 0.05]).tolist()
    n_copies = sum(per_family)
    n_originals = n - n_copies
    if n_originals < 2 or families > n_originals:
        raise click.BadParameter("too few articles for these shares")
    wanted = round(n * story_share)
    multi = rng.integers(2, 7, wanted // 2 + 1)  # enough: each story has at least 2 texts
    multi = multi[:int(np.searchsorted(multi.cumsum(), wanted)) + 1] if wanted else multi[:0]
    if len(multi) and multi.sum() > n_originals:
        multi = multi[:-1]
    sizes = np.r_[multi, np.ones(n_originals - int(multi.sum()), dtype=np.int64)]
    rng.shuffle(sizes)

    events = writer.events(len(sizes))
    story = np.repeat(np.arange(len(sizes)), sizes)
    span = timedelta(days=DAYS)
    anchor = rng.random(len(sizes)) * (DAYS - 2)
    offset = np.where(sizes[story] > 1, anchor[story] + 2 * rng.random(len(story)), DAYS * rng.random(len(story)))
    source = rng.integers(len(outlets), size=len(story))
    for s in np.flatnonzero(sizes > 1).tolist():  # the texts of one story come from different outlets
        at = int(np.searchsorted(story, s))
        source[at:at + sizes[s]] = rng.choice(len(outlets), size=int(sizes[s]), replace=sizes[s] > len(outlets))
    tracked, delay, dated = rng.random(len(story)) < 0.1, rng.uniform(5, 360, len(story)), rng.random(len(story)) > 0.05
    articles: list[Article] = []
    for at in range(0, len(story), _CHUNK):
        part = story[at:at + _CHUNK]
        for i, (title, text) in enumerate(zip(writer.titles(part, events), writer.texts(part, events)), at):
            articles.append(_article(outlets[source[i]], i, title, text, START + timedelta(days=float(offset[i])),
                                     bool(tracked[i]), float(delay[i]), bool(dated[i])))
    truth = Truth(list(range(len(articles))), story.tolist(), ["original"] * len(articles))
    serial = len(articles)
    originals = len(articles)
    for original, copies in zip(rng.choice(originals, size=families, replace=False).tolist(), per_family):
        base = articles[original]
        event = writer.event(events, truth.story[original])
        taken = {base.source}
        for _ in range(copies):
            kind = COPY_KINDS[int(rng.choice(len(COPY_KINDS), p=COPY_WEIGHTS))]
            title, text = writer.edit(kind, base.title, base.text, event)
            src = next(s for s in (outlets[int(i)] for i in rng.permutation(len(outlets))) if s.name not in taken)
            taken.add(src.name)
            when = (base.published or base.first_seen) + timedelta(hours=float(rng.uniform(0, 24)))
            articles.append(_article(src, serial, title, text, when, bool(rng.random() < 0.1),
                                     float(rng.uniform(5, 360)), bool(rng.random() > 0.05)))
            truth.family.append(original)
            truth.story.append(truth.story[original])
            truth.kind.append(kind)
            serial += 1
    del span
    order = sorted(range(len(articles)), key=lambda i: (articles[i].first_seen, articles[i].id))
    remap = {old: new for new, old in enumerate(order)}
    articles = [articles[i] for i in order]
    truth = Truth([remap[truth.family[i]] for i in order], [truth.story[i] for i in order],
                  [truth.kind[i] for i in order])
    return articles, truth


# --- measuring -----------------------------------------------------------------------

def maxrss_mib() -> float:
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value / 2**20 if sys.platform == "darwin" else value / 1024


@dataclass
class Step:
    wall_s: float
    cpu_s: float
    maxrss_mib: float
    traced_peak_mib: float | None = None


def timed(fn: Callable[[], Any]) -> tuple[Any, Step]:
    tracing = tracemalloc.is_tracing()
    if tracing:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    step = Step(time.perf_counter() - wall, time.process_time() - cpu, maxrss_mib())
    if tracing:
        step.traced_peak_mib = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    return out, step


def run_pipeline(articles: list[Article], settings: DedupeSettings) -> tuple[list, list, dict[str, Step]]:
    groups, dup = timed(lambda: duplicate_groups(articles, settings))
    stories, story = timed(lambda: story_groups([g[0] for g in groups], settings))
    return groups, stories, {"duplicates": dup, "stories": story}


# --- scoring -------------------------------------------------------------------------

def _pairs(counts: Counter) -> int:
    return sum(c * (c - 1) // 2 for c in counts.values())


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def score(articles: list[Article], truth: Truth, groups: list[list[Article]],
          stories: list[list[Article]]) -> dict[str, Any]:
    index = {a.id: i for i, a in enumerate(articles)}
    if len(index) != len(articles):
        raise click.ClickException("article ids are not unique")
    dup = [-1] * len(articles)
    for g, members in enumerate(groups):
        for a in members:
            dup[index[a.id]] = g
    if min(dup) < 0 or sum(len(g) for g in groups) != len(articles):
        raise click.ClickException("duplicate groups do not partition the articles")
    group_story = {}
    for s, members in enumerate(stories):
        for a in members:
            group_story[dup[index[a.id]]] = s
    if len(group_story) != len(groups):
        raise click.ClickException("story groups do not cover the duplicate groups")
    pred_story = [group_story[g] for g in dup]

    n = len(articles)
    fam, sto = truth.family, truth.story
    dup_true = _pairs(Counter(fam))
    dup_pred = _pairs(Counter(dup))
    dup_tp = _pairs(Counter(zip(dup, fam)))
    story_true = _pairs(Counter(sto))
    story_pred = _pairs(Counter(pred_story))
    story_tp = _pairs(Counter(zip(pred_story, sto)))
    # "distinct-text" pairs: one planted story but not one planted family
    fam_in_pred_story = _pairs(Counter(zip(pred_story, fam)))
    distinct_true = story_true - dup_true
    distinct_tp = story_tp - fam_in_pred_story
    distinct_pred = story_pred - fam_in_pred_story
    kinds: dict[str, list[int]] = {}
    for i in range(n):
        if truth.kind[i] != "original":
            kinds.setdefault(truth.kind[i], []).append(dup[i] == dup[fam[i]])
    sizes = Counter(len(s) for s in stories)
    originals = Counter(s for s, k in zip(sto, truth.kind) if k == "original")
    return {
        "articles": n,
        "planted_copies": sum(k != "original" for k in truth.kind),
        "planted_families": sum(1 for c in Counter(fam).values() if c > 1),
        "planted_stories_multi": sum(1 for c in originals.values() if c > 1),
        "articles_in_multi_stories": sum(c for c in originals.values() if c > 1),
        "dup_groups": len(groups),
        "dup_groups_multi": sum(len(g) > 1 for g in groups),
        "stories": len(stories),
        "stories_multi": sum(len(s) > 1 for s in stories),
        "largest_story": max(sizes),
        "dup_pairs_true": dup_true, "dup_pairs_predicted": dup_pred, "dup_pairs_correct": dup_tp,
        "dup_recall": _ratio(dup_tp, dup_true), "dup_precision": _ratio(dup_tp, dup_pred),
        "dup_recall_by_kind": {k: sum(v) / len(v) for k, v in sorted(kinds.items())},
        "story_pairs_true": story_true, "story_pairs_predicted": story_pred, "story_pairs_correct": story_tp,
        "story_recall": _ratio(story_tp, story_true), "story_precision": _ratio(story_tp, story_pred),
        "distinct_pairs_true": distinct_true, "distinct_pairs_predicted": distinct_pred,
        "distinct_pairs_correct": distinct_tp,
        "distinct_recall": _ratio(distinct_tp, distinct_true),
        "distinct_precision": _ratio(distinct_tp, distinct_pred),
    }


# --- report --------------------------------------------------------------------------

def _pct(x: float | None) -> str:
    return "   –" if x is None else f"{100 * x:5.1f}%"


def report(result: dict[str, Any]) -> None:
    q, a = result["quality"], result["args"]
    print(f"articles={q['articles']} sources={a['sources']} seed={a['seed']} mean words={result['mean_words']:.0f} "
          f"text={result['text_mib']:.0f} MiB; generated in {result['generate_s']:.1f} s")
    print(f"planted: {q['planted_copies']} copies in {q['planted_families']} duplicate families; "
          f"{q['articles_in_multi_stories']} originals in {q['planted_stories_multi']} multi-text stories")
    print(f"measured: {result['dedupe_module']} (sha256 {result['dedupe_sha256']}); load average "
          f"{result['loadavg_before'][0]:.1f} before, {result['loadavg_after'][0]:.1f} after, {result['cpus']} CPUs")
    print(f"maxrss: after imports {result['maxrss_imports_mib']:.0f} MiB, "
          f"after generation {result['maxrss_generated_mib']:.0f} MiB")
    print()
    rounds = result["rounds"]
    head = f"{'step':<11} {'wall s':>8} {'cpu s':>8} {'articles/s':>11} {'maxrss MiB':>11}"
    if result.get("traced"):
        head += f" {'traced peak MiB':>16}"
    print(head)
    print("-" * len(head) + (f"  median of {len(rounds)} rounds" if len(rounds) > 1 else ""))
    for name in ("duplicates", "stories", "total"):
        wall = statistics.median(r[name]["wall_s"] for r in rounds)
        cpu = statistics.median(r[name]["cpu_s"] for r in rounds)
        line = f"{name:<11} {wall:8.2f} {cpu:8.2f} {q['articles'] / wall:11,.0f} {rounds[0][name]['maxrss_mib']:11.0f}"
        if result.get("traced"):
            peak = result["traced"][name]["traced_peak_mib"]
            line += f" {peak:16.0f}"
        print(line)
    print()
    print(f"duplicates: {q['dup_groups']} groups ({q['dup_groups_multi']} with copies); pairs planted "
          f"{q['dup_pairs_true']}, grouped {q['dup_pairs_predicted']}, right {q['dup_pairs_correct']}: "
          f"recall {_pct(q['dup_recall'])}, precision {_pct(q['dup_precision'])}")
    print("  copies grouped with their original, by kind: "
          + ", ".join(f"{k} {_pct(v).strip()}" for k, v in q["dup_recall_by_kind"].items()))
    print(f"stories: {q['stories']} ({q['stories_multi']} with 2+ texts, largest {q['largest_story']}); "
          f"pairs planted {q['story_pairs_true']}, grouped {q['story_pairs_predicted']}, right "
          f"{q['story_pairs_correct']}: recall {_pct(q['story_recall'])}, precision {_pct(q['story_precision'])}")
    print(f"  distinct-text pairs only (not one duplicate family): planted {q['distinct_pairs_true']}, "
          f"grouped {q['distinct_pairs_predicted']}, right {q['distinct_pairs_correct']}: "
          f"recall {_pct(q['distinct_recall'])}, precision {_pct(q['distinct_precision'])}")
    total = statistics.median(r["total"]["wall_s"] for r in rounds)
    peak = result["maxrss_pipeline_mib"]
    print()
    print(f"target (< 60 s, < 2048 MiB): {total:.1f} s {'met' if total < 60 else 'MISSED'}, "
          f"peak RSS {peak:.0f} MiB {'met' if peak < 2048 else 'MISSED'} "
          f"(the pipeline added {peak - result['maxrss_generated_mib']:.0f} MiB to the generated articles)")


# --- command -------------------------------------------------------------------------

@click.command(help=__doc__.split("\n\n")[0])
@click.option("-n", "count", default=100_000, show_default=True, help="Articles in all, copies included.")
@click.option("--dup-share", default=0.10, show_default=True,
              help="Share of articles in a planted duplicate family (originals and copies).")
@click.option("--story-share", default=0.20, show_default=True,
              help="Share of articles that are originals in a story of 2-6 texts.")
@click.option("--topic-rate", default=TOPIC_RATE, show_default=True,
              help="Share of a text's words drawn from its event's topic words (how alike a story's texts are).")
@click.option("--sources", default=400, show_default=True, help="Number of outlets.")
@click.option("--seed", default=1, show_default=True)
@click.option("--repeat", default=1, show_default=True, help="Pipeline rounds; seconds are the median.")
@click.option("--tracemalloc", "trace", is_flag=True, help="Add a traced round for tracemalloc peaks (slow).")
@click.option("--profile", "profile", is_flag=True, help="Profile one round with pyinstrument (text to stderr).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write JSON here.")
def main(count: int, dup_share: float, story_share: float, topic_rate: float, sources: int, seed: int,
         repeat: int, trace: bool, profile: bool, json_path: Path | None) -> None:
    after_imports = maxrss_mib()
    load_before = os.getloadavg()
    settings = DedupeSettings()
    started = time.perf_counter()
    articles, truth = generate(count, dup_share, story_share, sources, seed, topic_rate)
    generate_s = time.perf_counter() - started
    generated = maxrss_mib()

    rounds, quality = [], None
    for _ in range(max(1, repeat)):
        groups, stories, steps = run_pipeline(articles, settings)
        steps["total"] = Step(sum(s.wall_s for s in steps.values()), sum(s.cpu_s for s in steps.values()),
                              maxrss_mib())
        rounds.append({k: asdict(v) for k, v in steps.items()})
        if quality is None:
            quality = score(articles, truth, groups, stories)
        del groups, stories
    pipeline_rss = rounds[0]["total"]["maxrss_mib"]  # before scoring, which allocates too

    traced = None
    if trace:
        tracemalloc.start()
        _, _, steps = run_pipeline(articles, settings)
        tracemalloc.stop()
        steps["total"] = Step(0, 0, 0, max(s.traced_peak_mib or 0 for s in steps.values()))
        traced = {k: asdict(v) for k, v in steps.items()}

    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
        run_pipeline(articles, settings)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False), file=sys.stderr)

    result = {
        "args": dict(n=count, dup_share=dup_share, story_share=story_share, topic_rate=topic_rate,
                     sources=sources, seed=seed, repeat=repeat),
        "settings": asdict(settings),
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
        "dedupe_module": briefing.dedupe.__file__,
        "dedupe_sha256": hashlib.sha256(Path(briefing.dedupe.__file__).read_bytes()).hexdigest()[:16],
        "generate_s": generate_s,
        "mean_words": sum(len(a.text.split()) for a in articles) / len(articles),
        "text_mib": sum(len(a.text) for a in articles) / 2**20,
        "maxrss_imports_mib": after_imports, "maxrss_generated_mib": generated,
        "maxrss_pipeline_mib": pipeline_rss,
        "rounds": rounds, "traced": traced, "quality": quality,
    }
    report(result)
    if json_path:
        json_path.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
