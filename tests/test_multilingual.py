"""Russian and Chinese pages: their debris goes by the same rules of shape as English debris, datelines
do not reach a summary, an English member heads a story, Chinese key phrases are words.

The sample texts are written for these tests (not the inbox's): a Russian agency item and a Chinese
newspaper item about one invented event, each with the debris its kind of site prints around it.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from briefing.clean import clean_text, derive_title
from briefing.dates import dateline_end, parse_dateline
from briefing.digest import choose_lead
from briefing.summarize import keyphrases, summarize
from briefing.types import Article, Relevance

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)

RUSSIAN_PAGE = """\
Главная / Экономика / Энергетика
2 декабря 2026, 09:05 МСК
Поделиться: ВКонтакте | Одноклассники | Дзен
Версия для печати
Комментарии (12)

ХАБАРОВСК, 2 декабря. /Восточный телеграф/. Россия и Китай запустили паромную линию через Амур между \
Благовещенском и Хэйхэ, сообщили в министерстве транспорта края. Первый рейс перевёз сорок грузовиков с \
соевыми бобами и удобрениями.

По расчётам перевозчика, паром сократит время доставки грузов на китайский берег с трёх суток до шести \
часов. Зимой, когда река замерзает, линию заменит ледовая переправа.

«Пропускная способность перехода вырастет вдвое уже в следующем году», — сказал журналистам заместитель \
министра транспорта края Олег Сомов.

Фото: Иван Крылов / Восточный телеграф
Смотрите также:
Мост через Амур закрыли на ремонт
Экспорт сои в Китай вырос на треть
Автор: Мария Лесная
Все права защищены. Перепечатка без согласия редакции запрещена.
"""

CHINESE_PAGE = """\
当前位置：首页 > 财经 > 口岸
2026年12月2日 08:40 | 来源：江北日报
字号：大 中 小 | 打印 | 收藏

本报黑河12月2日电（记者 孙立平）黑龙江黑河至俄罗斯布拉戈维申斯克的跨江轮渡日前正式开通，\
首航运送了四十辆满载大豆和化肥的货车。

据介绍，轮渡开通后，货物过江时间将由三天缩短至六小时。冬季江面封冻期间，将启用冰上浮箱通道保障运输。

上图：首航货车驶上轮渡甲板。（资料图）

业内人士认为，跨江通道扩容将进一步带动中俄农产品贸易，黑河口岸年过货量有望翻番。

延伸阅读：
- 黑河口岸冬季运输方案出台
- 中俄大豆贸易量持续增长
（责任编辑：周晓梅）
【版权声明】本网所有内容均为原创，未经授权禁止转载。
"""


def article(id_: str, title: str, text: str) -> Article:
    return Article(id=id_, source="test", location=f"{id_}.txt", title=title, text=text, content_hash=id_,
                   first_seen=NOW)


# --- debris --------------------------------------------------------------------


def test_russian_debris_is_dropped_and_the_body_kept() -> None:
    cleaned = clean_text(RUSSIAN_PAGE, title="Россия и Китай запустили паром через Амур")
    text = cleaned.text
    for debris in ("МСК", "Поделиться", "Версия для печати", "Комментарии", "Фото:", "Смотрите также",
                   "Мост через Амур", "Экспорт сои", "Автор:", "Все права защищены", "/Восточный телеграф/"):
        assert debris not in text, debris
    assert len(cleaned.paragraphs) == 3
    assert cleaned.paragraphs[0].startswith("Россия и Китай запустили паромную линию")
    assert "Олег Сомов." in cleaned.paragraphs[2]
    assert cleaned.published == datetime(2026, 12, 2, 6, 5, tzinfo=timezone.utc)  # МСК is UTC+3
    reasons = dict((line, reason) for reason, line in cleaned.dropped)
    assert reasons["Версия для печати"] == "widget"
    assert reasons["Смотрите также:"] == reasons["Экспорт сои в Китай вырос на треть"] == "related"
    assert reasons["ХАБАРОВСК, 2 декабря. /Восточный телеграф/."] == "dateline"


def test_chinese_debris_is_dropped_and_the_body_kept() -> None:
    cleaned = clean_text(CHINESE_PAGE, title="黑河至布拉戈维申斯克跨江轮渡开通")
    text = cleaned.text
    for debris in ("当前位置", "字号", "来源：江北日报", "上图", "资料图", "延伸阅读", "黑河口岸冬季运输方案出台",
                   "中俄大豆贸易量持续增长", "责任编辑", "版权声明", "本报黑河", "孙立平"):
        assert debris not in text, debris
    assert [p[:6] for p in cleaned.paragraphs] == ["黑龙江黑河至", "据介绍，轮渡", "业内人士认为"]
    assert cleaned.published == datetime(2026, 12, 2, 8, 40, tzinfo=timezone.utc)
    reasons = dict((line, reason) for reason, line in cleaned.dropped)
    assert reasons["上图：首航货车驶上轮渡甲板。（资料图）"] == "caption"
    assert reasons["（责任编辑：周晓梅）"] == "byline"
    assert reasons["延伸阅读："] == "related"


def test_a_chinese_page_without_a_given_title_gives_up_its_headline() -> None:
    page = "中俄跨江轮渡正式开通\n\n" + CHINESE_PAGE
    cleaned = clean_text(page)
    assert cleaned.title == "中俄跨江轮渡正式开通"
    assert "中俄跨江轮渡正式开通" not in cleaned.text


@pytest.mark.parametrize("line", [
    "Пекин и Москва подпишут соглашение 9 мая 2027 года.",
    "会议将于2026年12月9日在哈尔滨举行。",
    "Поделитесь мнением о переговорах в Пекине",
])
def test_body_lines_in_russian_and_chinese_are_not_debris(line: str) -> None:
    first = "Стороны обсудили торговлю и логистику на границе двух стран в ходе долгих переговоров."
    last = "Итоги встречи министры подведут на следующей неделе, когда эксперты закончат расчёты."
    cleaned = clean_text(f"{first}\n\n{line}\n\n{last}")
    assert line in cleaned.paragraphs
    assert parse_dateline(line) is None


# --- datelines -----------------------------------------------------------------


@pytest.mark.parametrize("paragraph, rest", [
    ("新华社哈尔滨12月2日电（记者 王某 李某）中俄界河航运会议在哈尔滨举行。", "中俄界河航运会议在哈尔滨举行。"),
    ("中新网12月2日电 据俄媒报道，跨境轮渡开通。", "据俄媒报道，跨境轮渡开通。"),
    ("本报讯（记者 陈文）黑河口岸过货量创新高。", "黑河口岸过货量创新高。"),
    ("МОСКВА, 2 декабря. /ТАСС/. Лавров прибыл в Пекин.", "Лавров прибыл в Пекин."),
    ("ВЛАДИВОСТОК, 2 декабря — РИА Новости. Порт принял рекордный груз.", "Порт принял рекордный груз."),
])
def test_russian_and_chinese_datelines_end_where_the_news_starts(paragraph: str, rest: str) -> None:
    assert paragraph[dateline_end(paragraph):] == rest


@pytest.mark.parametrize("paragraph", [
    "Москва и Пекин договорились о новых рейсах.",
    "俄罗斯总统普京发来贺电：祝贺轮渡开通。",
    "MOSCOW, Nov 3 (Reuters) - English wire datelines are left as they are.",
])
def test_sentences_are_no_datelines(paragraph: str) -> None:
    assert dateline_end(paragraph) == 0


def test_a_summary_never_quotes_a_chinese_dateline_even_in_stored_text() -> None:
    """Text stored before the cleaner took datelines out still loses it in the summary."""
    text = ("本报黑河12月2日电（记者 孙立平）黑龙江黑河至俄罗斯布拉戈维申斯克的跨江轮渡日前正式开通，"
            "首航运送了四十辆货车。"
            "\n\n据介绍，轮渡开通后，货物过江时间将由三天缩短至六小时，冬季将启用冰上浮箱通道。"
            "\n\n业内人士认为，跨江通道扩容将进一步带动中俄农产品贸易，黑河口岸年过货量有望翻番。"
            "\n\n黑河市政府表示，将在明年春季前完成口岸联检大楼的改造工程，并增加查验通道。")
    quoted = summarize([article("zh", "跨江轮渡开通", text)], sentences=3)
    assert len(quoted) == 3  # Chinese sentences are long enough to quote: counted in words, not spaces
    assert quoted[0].text.startswith("黑龙江黑河至")
    assert not any("本报" in s.text or "记者" in s.text for s in quoted)


# --- headlines and key phrases -----------------------------------------------------------


def test_an_english_member_heads_the_story_else_the_best_original() -> None:
    ru = article("ru", "Россия и Китай запустили паром через Амур", clean_text(RUSSIAN_PAGE).text)
    zh = article("zh", "黑河至布拉戈维申斯克跨江轮渡开通", clean_text(CHINESE_PAGE).text)
    en = article("en", "Russia and China open an Amur river ferry",
                 "A ferry line across the Amur between Blagoveshchensk and Heihe opened on Tuesday, "
                 "cutting the crossing for lorries from three days to six hours.")
    scored = {"ru": Relevance(0.9, True), "zh": Relevance(0.8, True), "en": Relevance(0.5, True)}
    assert choose_lead([ru, zh, en], scored) is en  # scored lower, but the digest is read in English
    assert choose_lead([zh, ru], scored) is ru  # no English member: the best-scored original
    assert choose_lead([zh, ru], {**scored, "zh": Relevance(0.95, True, language="zh")}) is zh


def test_chinese_key_phrases_are_words() -> None:
    zh = article("zh", "黑河至布拉戈维申斯克跨江轮渡开通", clean_text(CHINESE_PAGE).text)
    phrases = keyphrases([zh])
    assert len(phrases) == 5
    assert all(2 <= len(p) <= 8 and " " not in p for p in phrases), phrases
    assert {"轮渡", "黑河"} & set(phrases)


def test_a_chinese_lead_gives_a_short_title() -> None:
    lead = "黑龙江黑河至俄罗斯布拉戈维申斯克的跨江轮渡日前正式开通，首航运送了四十辆满载大豆和化肥的货车。"
    assert derive_title(lead) == "黑龙江黑河至俄罗斯布拉戈维申斯克的跨江轮渡日前正式开通"
