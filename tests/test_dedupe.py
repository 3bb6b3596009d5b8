"""Duplicates (copies of one text) and stories (one event, many texts), on articles built to test each rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

import pytest
from conftest import NOW, TOPIC, make_article
from hypothesis import given, settings
from hypothesis import strategies as st

from briefing.config import DedupeConfig, DigestConfig
from briefing.dedupe import DedupeSettings, duplicate_groups, fingerprint, story_groups, story_model
from briefing.digest import Window, build_digest
from briefing.relevance import load_topic
from briefing.types import Article

WIRE = [
    "Russia and China signed an agreement on Tuesday to build a second gas pipeline through Mongolia, "
    "ending years of talks over the price of the fuel and the volumes Beijing would commit to buy.",
    "Under the deal Gazprom will ship up to 50 billion cubic metres a year to northern China from 2031, "
    "the Russian energy ministry said in a statement after the signing ceremony in Ulaanbaatar.",
    "Chinese officials said the price formula would be linked to oil benchmarks and reviewed every three "
    "years, a concession that Moscow had resisted since the project was first proposed in 2014.",
    "Analysts in Singapore said the agreement gave Beijing cheap long-term supply while giving Russia a "
    "buyer for gas it can no longer sell to Europe, but warned that construction could take six years.",
]
OTHER_EVENT = [
    "Russian and Chinese warships began a joint patrol in the Sea of Japan on Monday, the defence "
    "ministries in Moscow and Beijing said, the seventh such patrol since the two navies began them.",
    "Ten ships including destroyers and a submarine rescue vessel left Vladivostok for the exercise, "
    "which Japan said it would monitor closely after aircraft were sent near Hokkaido.",
    "Officials said the patrol would last three weeks and was not aimed at any third country, while "
    "Tokyo called the repeated patrols near its coast a matter of grave concern.",
]
SAME_EVENT_OTHER_WORDS = [
    "Moscow and Beijing have finally agreed terms for the Power of Siberia 2 pipeline, which will carry "
    "Russian gas across Mongolia to Chinese customers, officials confirmed in Ulaanbaatar on Tuesday.",
    "The agreement commits Gazprom to supply as much as 50 billion cubic metres of gas annually from "
    "2031, with the price tied to oil and reviewed every three years.",
    "Experts cautioned that building the pipeline would take about six years and that the deal leaves "
    "Russia dependent on a single large buyer for its eastern gas.",
]


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


art = partial(make_article, title="Gas deal", first_seen=ago(1))  # the wire story, first seen an hour ago


def body(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs)


@pytest.mark.parametrize("copy", [
    pytest.param(lambda ps: ("Pipeline pact sealed after years of haggling", body(ps)), id="reworded-headline"),
    pytest.param(lambda ps: ("Gas deal", body(ps[:-1])), id="trimmed-tail"),
    pytest.param(lambda ps: ("Gas deal", body(ps) + "\n\nFollow us on Telegram for more news."), id="boilerplate"),
    pytest.param(lambda ps: ("Gas deal", body([ps[0].replace("Tuesday", "Wednesday")] + ps[1:])), id="light-edit"),
    pytest.param(lambda ps: ("GAS DEAL", body(ps).upper().replace(".", "!")), id="case-and-punctuation"),
])
def test_copies_are_duplicates(copy) -> None:
    """A wire story and its republished copy form one duplicate group; the fuller copy is kept."""
    original = art(body(WIRE), "wire")
    title, text = copy(WIRE)
    other = art(text, "paper", title=title, first_seen=ago(0.5))
    groups = duplicate_groups([original, other])
    assert len(groups) == 1 and {a.id for a in groups[0]} == {original.id, other.id}
    assert groups[0][0] is max((original, other), key=lambda a: len(a.text))


def test_same_url_is_a_duplicate_whatever_the_text() -> None:
    """One canonical URL (tracking parameters aside) is one article."""
    a = art(body(WIRE), "feed-a", location="https://news.example/gas?utm_source=rss")
    b = art(body(OTHER_EVENT), "feed-b", location="https://NEWS.example/gas#top")
    assert len(duplicate_groups([a, b])) == 1


def test_same_topic_different_events_stay_apart() -> None:
    """Two Russia–China stories about different events are neither duplicates nor one story."""
    a, b = art(body(WIRE), "wire"), art(body(OTHER_EVENT), "navy", title="Joint patrol")
    assert len(duplicate_groups([a, b])) == 2
    assert len(story_groups([a, b])) == 2


def test_same_event_other_words_is_one_story() -> None:
    """Independent write-ups of one event are one story but not duplicates."""
    a = art(body(WIRE), "wire")
    b = art(body(SAME_EVENT_OTHER_WORDS), "daily", title="Power of Siberia 2 terms agreed")
    c = art(body(OTHER_EVENT), "navy", title="Joint patrol")
    assert len(duplicate_groups([a, b, c])) == 3
    stories = story_groups([a, b, c])
    assert sorted(len(s) for s in stories) == [1, 2]


def test_far_apart_in_time_is_not_one_story() -> None:
    """The same words a month apart are two stories (story_days)."""
    a = art(body(WIRE), "wire")
    b = art(body(SAME_EVENT_OTHER_WORDS), "daily", first_seen=ago(24 * 30))
    assert len(story_groups([a, b])) == 2


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(4)))
def test_grouping_does_not_depend_on_order(order: list[int]) -> None:
    """Dedupe and story grouping give the same partition whatever the input order."""
    items = [art(body(WIRE), "wire"), art(body(WIRE[:-1]), "paper", first_seen=ago(2)),
             art(body(SAME_EVENT_OTHER_WORDS), "daily"), art(body(OTHER_EVENT), "navy", title="Patrol")]
    ordered = [items[i] for i in order]

    def partition(groups):
        return sorted(sorted(a.id for a in g) for g in groups)

    assert partition(duplicate_groups(ordered)) == partition(duplicate_groups(items))
    best = [g[0] for g in duplicate_groups(ordered)]
    assert partition(story_groups(best)) == partition(story_groups([g[0] for g in duplicate_groups(items)]))


@given(st.text(min_size=1, max_size=200))
def test_whitespace_and_case_do_not_change_the_fingerprint(text: str) -> None:
    """The exact-duplicate key ignores spacing and case."""
    assert fingerprint(text) == fingerprint("  " + text.upper().replace(" ", "\n ") + " ")


def test_developing_story_shows_earlier_coverage() -> None:
    """A new article continuing a story from before the window marks it developing; old copies are not news."""
    topic = load_topic(TOPIC)
    earlier = art(body(WIRE), "wire", first_seen=ago(30))
    new = art(body(SAME_EVENT_OTHER_WORDS), "daily", title="Power of Siberia 2 terms agreed", first_seen=ago(2))
    reprint = art(body(WIRE[:-1]), "paper", first_seen=ago(3))
    window = Window(NOW - timedelta(hours=24), NOW)
    d = build_digest([new, reprint], topic, DigestConfig(), window, NOW, earlier=[earlier])
    [story] = d.stories
    assert [a.id for a in story.articles] == [new.id] and [a.id for a in story.earlier] == [earlier.id]
    assert story.first_seen == earlier.first_seen
    only_reprint = build_digest([reprint], topic, DigestConfig(), window, NOW, earlier=[earlier])
    assert only_reprint.stories == (), "a copy of an earlier article is not news"


# --- stories in three languages -------------------------------------------------------
# Our own reports: one event told in English and twice in Chinese, one in Russian twice, and
# events of their own that share a country, a city or the two sides with them.

EN_BRIDGE = ("First freight train crosses new Russia-China rail bridge",
             "The first freight train crossed the new railway bridge between Nizhneleninskoye in Russia and "
             "Tongjiang in China on November 16, carrying 2,600 tonnes of iron ore from the Kimkan mine.\n\n"
             "The 2.2-kilometre bridge over the Amur river can handle 21 million tonnes of cargo a year, "
             "officials of both countries said at a ceremony on the Chinese bank.\n\n"
             "Russian exporters expect coal, timber and fertiliser to follow, while Chinese firms plan to send "
             "machinery and consumer goods north.")
ZH_BRIDGE = ("中俄同江铁路大桥迎来首趟货运列车",
             "11 月 16 日，首趟货运列车驶过连接俄罗斯下列宁斯阔耶和中国同江的铁路大桥，"
             "运载 2600 吨来自金坎矿的铁矿石。\n\n"
             "两国官员在中方桥头举行的仪式上表示，这座横跨黑龙江、全长 2.2 公里的大桥每年可承担 2100 万吨货物运输。\n\n"
             "俄罗斯出口商预计煤炭、木材和化肥将随后通过大桥运往中国，中国企业则计划向北运送机械和日用品。")
ZH_BRIDGE_2 = ("首列货车通过同江中俄跨江铁路桥",
               "据黑龙江省交通部门消息，11 月 16 日上午，一列满载 2600 吨铁矿石的货运列车从俄罗斯驶入同江，"
               "标志着同江中俄铁路大桥正式通车运营。\n\n"
               "该桥设计年过货能力 2100 万吨。同江口岸负责人说，铁矿石之后，煤炭和木材也将经这座大桥进口，"
               "中方的机械设备和日用消费品将出口到俄罗斯远东地区。")
ZH_TYPHOON = ("台风“海燕”在广东湛江登陆",
              "今年第 18 号台风“海燕”于 9 月 3 日凌晨在广东湛江沿海登陆，登陆时中心附近最大风力 14 级。\n\n"
              "广东省已紧急转移 12 万名群众，湛江、茂名等地中小学停课，多趟列车停运。")
EN_RATES = ("China's central bank trims lending rate",
            "China's central bank cut its one-year loan prime rate by 10 basis points to 3.35% on Monday, "
            "the first reduction since August, as Beijing tries to support a slowing property market.\n\n"
            "Economists in Shanghai said further cuts were likely before the end of the year if retail sales "
            "and factory output stay weak.")
EN_SATELLITE = ("China launches new weather satellite",
                "China launched a Fengyun weather satellite from the Jiuquan centre on Monday, the space agency "
                "in Beijing said, to improve typhoon warnings along the country's coast.\n\n"
                "The satellite joins nine others in orbit. Chinese meteorologists said its first images "
                "would be ready within a month.")
EN_NAVY = ("Russian and Chinese warships start drills in the Sea of Japan",
           "Russian and Chinese navies began a five-day exercise in the Sea of Japan on Tuesday, the defence "
           "ministry in Moscow said, with destroyers, a submarine and anti-submarine aircraft taking part.\n\n"
           "Japan said it was watching the drills closely. The two navies have held joint exercises every "
           "year since 2012.")
RU_FORUM_A = ("Мишустин и Ли Цян открыли в Москве российско-китайский бизнес-форум",
              "Председатель правительства России Михаил Мишустин и премьер Госсовета КНР Ли Цян открыли "
              "в Москве российско-китайский бизнес-форум, в котором участвуют около 1200 предпринимателей.\n\n"
              "Мишустин заявил, что товарооборот двух стран по итогам года может превысить 240 млрд долларов. "
              "Ли Цян призвал расширить расчеты в национальных валютах.")
RU_FORUM_B = ("В Москве прошел бизнес-форум Россия – Китай с участием глав правительств",
              "Российско-китайский бизнес-форум собрал в Москве 1200 участников. Выступая на открытии, "
              "Михаил Мишустин сказал, что торговля между Россией и Китаем в этом году может превысить "
              "240 млрд долларов.\n\n"
              "Премьер Госсовета Китая Ли Цян предложил чаще использовать рубли и юани во взаимных расчетах.")
RU_RATE = ("Банк России повысил ключевую ставку до 18%",
           "Совет директоров Банка России повысил ключевую ставку на 200 базисных пунктов, до 18% годовых, "
           "сообщил регулятор в пятницу.\n\n"
           "Аналитики связывают решение с ускорением инфляции и ослаблением рубля.")


def report(name: str, sample: tuple[str, str], hours: float = 1) -> Article:
    title, text = sample
    return art(text, name, title=title, first_seen=ago(hours))


def stories_by_source(articles: list[Article]) -> set[frozenset[str]]:
    return {frozenset(a.source for a in g) for g in story_groups(articles)}


def test_one_event_in_chinese_and_english_is_one_story() -> None:
    """A Chinese and an English report of one event are linked by what needs no translation: the date,
    the tonnage, the capacity (2100 万吨 = 21 million tonnes), Russia and China through the lexicon."""
    window = [report("en-wire", EN_BRIDGE), report("zh-daily", ZH_BRIDGE, hours=5),
              report("navy", EN_NAVY), report("rates", EN_RATES), report("zh-typhoon", ZH_TYPHOON)]
    assert stories_by_source(window) == {frozenset({"en-wire", "zh-daily"}), frozenset({"navy"}),
                                         frozenset({"rates"}), frozenset({"zh-typhoon"})}


def test_two_chinese_reports_of_one_event_are_one_story() -> None:
    """jieba words, not a few giant runs of characters, are what two Chinese write-ups share."""
    window = [report("zh-daily", ZH_BRIDGE), report("zh-local", ZH_BRIDGE_2, hours=3),
              report("zh-typhoon", ZH_TYPHOON)]
    assert stories_by_source(window) == {frozenset({"zh-daily", "zh-local"}), frozenset({"zh-typhoon"})}


def test_two_russian_reports_of_one_event_are_one_story() -> None:
    """Stems make Мишустин / Россией / Китаем the same words in both reports; another Russian event stays apart."""
    window = [report("tass", RU_FORUM_A), report("ria", RU_FORUM_B, hours=2), report("cbr", RU_RATE)]
    assert stories_by_source(window) == {frozenset({"tass", "ria"}), frozenset({"cbr"})}


def test_different_events_sharing_a_country_stay_apart() -> None:
    """China (and Beijing) in every report does not make them one story; neither do Russia and China."""
    window = [report("rates", EN_RATES), report("space", EN_SATELLITE, hours=2), report("navy", EN_NAVY),
              report("en-wire", EN_BRIDGE, hours=3)]
    assert len(story_groups(window)) == 4


def test_a_mixed_window_in_three_languages() -> None:
    """All of the above at once: each event once, whatever the language of its reports."""
    window = [report("en-wire", EN_BRIDGE), report("zh-daily", ZH_BRIDGE, hours=5),
              report("zh-local", ZH_BRIDGE_2, hours=7), report("tass", RU_FORUM_A), report("ria", RU_FORUM_B),
              report("cbr", RU_RATE), report("rates", EN_RATES), report("space", EN_SATELLITE),
              report("navy", EN_NAVY), report("zh-typhoon", ZH_TYPHOON)]
    assert stories_by_source(window) == {
        frozenset({"en-wire", "zh-daily", "zh-local"}), frozenset({"tass", "ria"}), frozenset({"cbr"}),
        frozenset({"rates"}), frozenset({"space"}), frozenset({"navy"}), frozenset({"zh-typhoon"})}


@settings(max_examples=20, deadline=None)
@given(st.permutations(range(10)))
def test_multilingual_grouping_does_not_depend_on_order(order: list[int]) -> None:
    """The communities come out the same whatever order the articles arrive in."""
    window = [report("en-wire", EN_BRIDGE), report("zh-daily", ZH_BRIDGE, hours=5),
              report("zh-local", ZH_BRIDGE_2, hours=7), report("tass", RU_FORUM_A), report("ria", RU_FORUM_B),
              report("cbr", RU_RATE), report("rates", EN_RATES), report("space", EN_SATELLITE),
              report("navy", EN_NAVY), report("zh-typhoon", ZH_TYPHOON)]
    assert stories_by_source([window[i] for i in order]) == stories_by_source(window)


def test_chinese_reprint_with_an_edit_is_a_duplicate() -> None:
    """Chinese shingles are of characters: one changed phrase does not hide a reprint."""
    title, text = ZH_BRIDGE
    edited = text.replace("首趟货运列车", "第一列货车")
    a, b = art(text, "zh-daily", title=title), art(edited, "zh-portal", title=title, first_seen=ago(2))
    assert len(duplicate_groups([a, b])) == 1
    assert len(duplicate_groups([a, art(ZH_BRIDGE_2[1], "zh-local", title=ZH_BRIDGE_2[0])])) == 2


def test_the_shipped_threshold_is_every_default() -> None:
    """The model file's threshold is what the library and the config use unless told otherwise."""
    assert DedupeSettings().same_story == story_model().threshold == DedupeConfig().same_story


# --- cross-validation on the shared SemEval pairs ---------------------------------------

def test_cross_validated_story_pairs_hold_their_floor() -> None:
    """Grouped 5-fold CV (seed 0) of the pair model on the shared SemEval-2022 Task 8 training pairs.

    Each fold's model and threshold are fitted on the other folds only; the floors sit a little under
    the figures bench/story_model.py cv reports (seed 0: en-en 0.83, zh-zh 0.76, zh-en 0.78, ru-ru 0.44
    with its 2 same-story pairs). Needs ../shared/data: missing, it fails.
    """
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "bench"
    sys.path.insert(0, str(bench))
    try:
        import story_model as sm
    finally:
        sys.path.remove(str(bench))
    assert sm.PAIRS_CSV.exists(), f"shared data missing: {sm.PAIRS_CSV}"
    pairs, texts = sm.load_pairs(langs=sm.TARGETS)
    pools = sm.build_pools(pairs, texts)
    result = sm.cross_validate(pools, seed=0, train_langs=sm.TARGETS)
    f1 = {code: sm.prf(result[code]["counts"])[2] for code in sm.TARGETS}
    recall = {code: sm.prf(result[code]["counts"])[1] for code in sm.TARGETS}
    assert f1["en-en"] >= 0.78 and f1["zh-en"] >= 0.72 and f1["zh-zh"] >= 0.62, f1
    assert recall["ru-ru"] == 1.0 and f1["ru-ru"] >= 0.3, f1
    baseline = sm.tfidf_baseline(pools, seed=0)
    assert f1["zh-en"] > sm.prf(baseline["zh-en"])[2] + 0.15, "cross-language keys beat one TF-IDF cosine"


# --- linking: developing stories ---------------------------------------------------------

def _scored(n: int, pairs: dict[tuple[int, int], float]):
    """Scored pairs of ``n`` same-script articles with the given probabilities (the linking rules alone)."""
    import numpy as np

    from briefing.dedupe import _SCALE, ScoredPairs

    articles = [art(f"text {i}", f"outlet-{i}", title=f"Report {i}") for i in range(n)]
    keys = sorted(pairs)
    return ScoredPairs(articles, np.array([i for i, _ in keys], dtype=np.int64),
                       np.array([j for _, j in keys], dtype=np.int64),
                       np.array([round(pairs[k] * _SCALE) for k in keys], dtype=np.int64),
                       np.ones(len(keys), dtype=bool), list(range(n)))


def test_weak_pairs_link_through_shared_neighbours_not_through_busy_articles() -> None:
    """A weak pair links when the two share ``developing_support`` weakly linked neighbours (a developing
    story); two busy articles, each with many weak pairs of their own, do not link by their degree alone."""
    from briefing.dedupe import _story_edges

    support = DedupeSettings().developing_support
    weak = (DedupeSettings().developing + DedupeSettings().same_story) / 2
    knit = support + 2  # each pair of them shares the other `support` articles
    pairs = {(i, j): weak for i in range(knit) for j in range(i + 1, knit)}
    busy = {(0, 1): weak} | {(0, 2 + k): weak for k in range(support + 2)} | \
           {(1, 4 + support + k): weak for k in range(support + 2)}
    assert _story_edges(_scored(knit, pairs), DedupeSettings()).all()
    edges = _story_edges(_scored(6 + 2 * support, busy), DedupeSettings())
    assert not edges.any()


def test_the_weak_tier_reads_its_own_model() -> None:
    """``developing`` links are read from the weak tier's probabilities (the shipped model has one),
    not from the pair model's: the latter's square-rooted key cosine lifts pairs that share a name or two."""
    from dataclasses import replace

    import numpy as np

    from briefing.dedupe import _SCALE, _story_edges, story_model

    assert story_model().developing is not None
    s = DedupeSettings()
    knit = s.developing_support + 2
    weak, low = (s.developing + s.same_story) / 2, s.developing / 2
    scored = _scored(knit, {(i, j): weak for i in range(knit) for j in range(i + 1, knit)})
    assert _story_edges(scored, s).all()
    assert not _story_edges(replace(scored, weak=np.full(len(scored.left), round(low * _SCALE))), s).any()
    lifted = replace(scored, weight=np.full(len(scored.left), round(low * _SCALE)), weak=scored.weight)
    assert _story_edges(lifted, s).all()


def test_a_big_developing_story_takes_in_a_loose_report() -> None:
    """An article left alone with ``developing_attach`` weak pairs into a story of ``developing_size``
    reports joins it; with fewer pairs, or into a smaller story, it stays on its own."""
    from briefing.dedupe import link_stories

    s = DedupeSettings()
    strong, weak = 0.9, (s.developing + s.same_story) / 2
    for size, attach, joins in ((s.developing_size, s.developing_attach, True),
                                (s.developing_size, s.developing_attach - 1, False),
                                (s.developing_size - 1, s.developing_attach + 2, False)):
        pairs = {(i, j): strong for i in range(size) for j in range(i + 1, size)}
        pairs |= {(k, size): weak for k in range(attach)}
        groups = link_stories(_scored(size + 1, pairs), s)
        assert sorted(map(len, groups)) == ([size + 1] if joins else [1, size]), (size, attach)


def test_wikiref_topics_hold_their_floor() -> None:
    """WikiRef220 (shared data): the adjusted Rand index of the stories against each file's topic, on
    all 220 articles and on the held-out split of its topics that no setting was chosen on
    (bench/similarity.py; 0.88 and 0.79 when written). Missing data fails."""
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "bench"
    sys.path.insert(0, str(bench))
    try:
        import similarity
    finally:
        sys.path.remove(str(bench))
    assert (similarity.DATA / "wikiref220").is_dir(), f"shared data missing: {similarity.DATA}"
    ari = {name: value for name, (value, _) in similarity.wikiref(DedupeSettings()).items()}
    assert ari["all"] >= 0.8 and ari["held-out"] >= 0.7, ari


def test_the_default_lsh_bands_are_datasketchs() -> None:
    """dedupe.py keeps MinHashLSH's (bands, rows) of the default settings rather than importing datasketch
    to work them out; they must be the ones datasketch chooses (other settings ask datasketch)."""
    from datasketch import MinHashLSH

    from briefing.dedupe import _bands

    s = DedupeSettings()
    lsh = MinHashLSH(threshold=s.near_duplicate, num_perm=s.num_perm)
    assert _bands(s.near_duplicate, s.num_perm) == (lsh.b, lsh.r)
    assert _bands(0.8, s.num_perm) == (MinHashLSH(threshold=0.8, num_perm=s.num_perm).b,
                                       MinHashLSH(threshold=0.8, num_perm=s.num_perm).r)


# --- the batched paths equal the one-at-a-time ones they replaced (issue 24) ----------------------

def _texts() -> list[str]:
    """Texts of every shape the batched paths split on: empty, shorter than a shingle, Chinese, long."""
    return ["", "один", "two words", "a b c d", "one two three four five", "普京 会见 习近平", " ".join(WIRE),
            body(OTHER_EVENT), body(SAME_EVENT_OTHER_WORDS), "中国和俄罗斯签署了天然气管道协议。" * 20,
            " ".join(f"w{i}" for i in range(3000))]


@pytest.mark.parametrize("chunk", [1, 7, 8192])
@pytest.mark.parametrize("size", [1, 3, 5, 9])
def test_batched_signatures_are_the_one_document_ones(monkeypatch: pytest.MonkeyPatch, chunk: int, size: int) -> None:
    """``_signatures`` over many documents (shingles permuted in chunks) gives each document the MinHash of
    ``_minhash_values(_shingles_of_words(...))``, whatever the chunk size cuts through."""
    import numpy as np

    from briefing import dedupe

    monkeypatch.setattr(dedupe, "_SHINGLE_CHUNK", chunk)
    docs = [dedupe._folded_words(t) for t in _texts()]
    want = np.array([dedupe._minhash_values(dedupe._shingles_of_words(w, size), 64) for w in docs])
    assert np.array_equal(dedupe._signatures(docs, size, 64), want)
    assert np.array_equal(dedupe._signatures(docs[::-1], size, 64), want[::-1])


@pytest.mark.parametrize("batch", [1, 50, 1 << 21])
def test_pair_cosines_are_scipys_to_the_bit(monkeypatch: pytest.MonkeyPatch, batch: int) -> None:
    """``_cosines`` adds the same float32 products in the same way as the row copies it replaced, so the
    pair probabilities (and the stories) cannot move: every pair, self-pairs and empty rows included."""
    import numpy as np

    from briefing import dedupe

    monkeypatch.setattr(dedupe, "_COSINE_BATCH", batch)
    articles = [make_article(t, f"s{i}", title=t[:40] or "x") for i, t in enumerate(_texts())]
    space = dedupe.story_space(articles)
    n = len(articles)
    left, right = (x.ravel() for x in np.meshgrid(np.arange(n), np.arange(n)))
    for m in (space.words, space.keys):
        want = np.asarray(m[left].multiply(m[right]).sum(axis=1), dtype=np.float64).ravel()
        assert np.array_equal(dedupe._cosines(m, left, right), want)
        flipped = np.asarray(m[right].multiply(m[left]).sum(axis=1), dtype=np.float64).ravel()
        assert np.array_equal(dedupe._cosines(m, right, left), flipped)
    assert dedupe._cosines(space.words, left[:0], right[:0]).shape == (0,)
