"""Language identification on short items: headlines, datelines, one-line deks, names in another script."""

from __future__ import annotations

import hashlib
import json

import pytest
from conftest import SHARED, TOPIC

from briefing import relevance
from briefing.language import _clean, detect_language

WIRE = SHARED / "data" / "wire-dev"
THRESHOLD = 0.995

# Our own short items, (title, text), written for these tests: headlines alone, with a
# dateline of each agency shape, and with a one-sentence dek.
OWN: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("Putin, Xi hold talks in Moscow", ""),
        ("Kremlin hails Mishustin visit to China", ""),
        ("Shoigu visits Beijing, meets Wang Yi", ""),
        ("Taliban seize Kabul", ""),
        ("Rosneft, CNPC sign supply extension", ""),
        ("Russia-China trade hits record $240 bln", ""),
        ("Mishustin in Beijing", "MOSCOW, November 3. /TASS/. Russian Prime Minister Mikhail Mishustin arrived "
                                 "in Beijing on an official visit."),
        ("Xi meets Russian premier", "BEIJING, Nov. 3 (Xinhua) -- Chinese President Xi Jinping met with Russian "
                                     "Prime Minister Mikhail Mishustin."),
        ("Oil climbs", "LONDON (Reuters) - Oil prices rose on Monday as traders weighed new sanctions."),
        ("Gas talks stall", "The two sides failed to agree on a price for the second pipeline."),
        ("Xi Jinping (习近平) meets Putin in Moscow", ""),
        ("Wang Yi 王毅 to visit Moscow next week", ""),
        ("Russian band Кино tours China", ""),
        # The old detector called these Nigerian Pidgin (pcm) or other neighbours.
        ("Russia, Mongolia discuss pipeline route", ""),
        ("Chinese envoy meets Russian deputy FM", ""),
        ("Tianjin port handles Russian grain", ""),
        ("Arctic route: China, Russia eye Northern Sea Route", ""),
        ("Lavrov, Wang discuss Ukraine settlement", ""),
        ("Xi, Putin talk trade, Ukraine", ""),
    ],
    "ru": [
        ("Путин и Си Цзиньпин обсудили поставки газа", ""),
        ("Лавров прибыл в Пекин", ""),
        ("Кремль прокомментировал визит делегации", ""),
        ("Новый газопровод начнет работу в декабре", ""),
        ("На Дальнем Востоке построят новый порт", ""),
        ("Переговоры в Пекине", "МОСКВА, 3 ноября. /ТАСС/. Президент России провел переговоры с председателем КНР."),
        ("Товарооборот вырос", "Товарооборот между странами вырос на треть за девять месяцев."),
        ("Власти Киева (Київ) заявили о новых переговорах", ""),
    ],
    "uk": [
        ("Київ відповів на заяву Москви щодо переговорів", ""),
        ("Україна отримає нову партію енергетичного обладнання", ""),
        ("Прем'єр-міністр анонсував зміни в уряді", ""),
        ("Китай закликав усі сторони до діалогу", ""),
        ("Ціни на пальне знову зросли", ""),
        ("Зустріч у Києві", "КИЇВ, 3 листопада. /Укрінформ/. Президент України провів зустріч з іноземними "
                            "дипломатами."),
    ],
    "zh": [
        ("习近平同普京举行会谈", ""),
        ("两国元首互致贺电", ""),
        ("外交部发言人就APEC会议答记者问", ""),
        ("普京：俄中关系处于历史最好水平", ""),
        # The old detector called these Wu (wuu).
        ("中俄贸易额创历史新高", ""),
        ("李强会见俄罗斯总理", ""),
        ("上海合作组织峰会开幕", ""),
        ("习近平会见俄罗斯总理", "新华社北京11月3日电（记者李明）国家主席习近平3日在人民大会堂会见俄罗斯总理。"),
        ("中俄元首通电话", "央视网消息（新闻联播）：中俄两国元首今天通电话。"),
    ],
    "fr": [
        ("Poutine reçoit le président chinois au Kremlin", ""),
        ("La Chine et la Russie signent un accord sur le gaz", ""),
        ("Xi Jinping attendu à Moscou la semaine prochaine", ""),
        ("Le gouvernement annonce une hausse des impôts", ""),
        ("Appel à la retenue", "PARIS, 3 novembre (AFP) - Le ministre des Affaires étrangères a appelé à la "
                               "retenue."),
        ("Coopération militaire", "Moscou et Pékin promettent de renforcer leur coopération militaire."),
    ],
    "de": [
        ("Putin und Xi sprechen über eine neue Gasleitung", ""),
        ("Russland liefert mehr Öl nach China als je zuvor", ""),
        ("Neue Brücke über den Amur eröffnet", ""),
        ("Kanzler warnt vor wirtschaftlicher Abhängigkeit", ""),
        ("Gespräche in Peking", "BERLIN (dpa) - Die Bundesregierung hat die Gespräche in Peking begrüßt."),
        ("Handel wächst", "Die Handelsbeziehungen zwischen beiden Ländern wachsen weiter."),
    ],
    "es": [
        ("Putin recibe al presidente chino en el Kremlin", ""),
        ("Rusia y China firman un acuerdo energético de largo plazo", ""),
        ("Huelga de transportes paraliza la capital", ""),
        ("Xi Jinping llega a Moscú para una visita de Estado", ""),
        ("Llamado a la moderación", "MADRID, 3 nov (EFE) - El Gobierno español pidió moderación a ambas partes."),
        ("Cooperación militar", "Moscú y Pekín estrechan su cooperación militar."),
    ],
}
OTHERS = [  # scripts and Cyrillic languages that are neither Russian nor Ukrainian
    ("sr", "Србија и Кина потписале споразум о сарадњи"),
    ("kk", "Қазақстан мен Қытай жаңа келісімге қол қойды"),
    ("be", "Беларусь і Кітай падпісалі новае пагадненне"),
    ("bg", "Путин и Си Дзинпин обсъдиха доставките на газ"),
    ("ja", "ロシアと中国が天然ガス協定に署名"),
    ("ko", "러시아와 중국, 가스 협정 체결"),
    ("el", "Η Ρωσία και η Κίνα υπέγραψαν νέα συμφωνία"),
    ("ar", "روسيا والصين توقعان اتفاقية جديدة للغاز"),
]


@pytest.mark.parametrize(("lang", "title", "text"), [(lang, t, x) for lang, items in OWN.items() for t, x in items])
def test_own_short_items(lang: str, title: str, text: str) -> None:
    """Headlines alone, with datelines, with a dek; the answer is the same through the old one-string entry."""
    assert detect_language(title, text) == lang
    assert relevance.detect_language(f"{title}\n\n{text}" if text else title) == lang


@pytest.mark.parametrize(("lang", "title"), OTHERS)
def test_other_scripts_and_cyrillic_languages(lang: str, title: str) -> None:
    assert detect_language(title) == lang


@pytest.mark.parametrize("text", ["", "   ", "2026-11-03 12:00", "— … !", "😀 👍", "12 345 / 6,7 %"])
def test_no_letter_is_undetermined(text: str) -> None:
    assert detect_language(text) == "und"


def test_a_dateline_alone_is_still_read() -> None:
    """Cleaning may leave nothing; the raw text decides then, rather than "und"."""
    assert detect_language("MOSCOW, November 3. /TASS/.") == "en"


@pytest.mark.parametrize(("raw", "kept"), [
    ("MOSCOW, November 3. /TASS/. Russian Prime Minister", "Russian Prime Minister"),
    ("ST. PETERSBURG, October 28. /TASS/. The club", "The club"),
    ("BEIJING, Nov. 3 (Xinhua) -- China and", "China and"),
    ("LONDON (Reuters) - Britain said", "Britain said"),
    ("(Reuters) - The", "The"),
    ("OSLO, 4 March (NTB) - Norway", "Norway"),  # an outlet the patterns never name
    ("Tokyo, March 4 (Kyodo) - Japan", "Japan"),
    ("WASHINGTON, D.C., Jan. 5 (AP) — The", "The"),
    ("МОСКВА, 3 ноября. /ТАСС/. Президент", "Президент"),
    ("КАЗАНЬ, 5 мая. /РИА/. Глава", "Глава"),
    ("新华社北京11月3日电（记者李明）国家主席", "国家主席"),
    ("人民网东京3月4日电 日本", "日本"),
    ("央视网消息（新闻联播）：今天", "今天"),
    ("两国元首互致贺电", "两国元首互致贺电"),  # ends in 电 but is a headline, not a dateline
    ("NATO, EU hold talks", "NATO, EU hold talks"),
    ("US (and China) talk", "US (and China) talk"),
])
def test_datelines_and_tags_are_stripped_by_shape(raw: str, kept: str) -> None:
    assert " ".join(_clean(raw).split()) == kept


def test_urls_numbers_and_handles_are_dropped() -> None:
    cleaned = _clean("see https://example.org/a?b=1 or www.example.com, mail me@example.com or @someone, 3.5 at 12:00")
    assert cleaned.split() == ["see", "or", "mail", "or", "at"]


def test_short_english_wire_item_is_scored() -> None:
    """The bug this module fixes: a TASS-shape English item was 'not scored' as Pidgin."""
    topic = relevance.load_topic(TOPIC)
    r = relevance.score("Top Russian, Chinese diplomats discuss ties",
                        "MOSCOW, December 2. /TASS/. Russian Foreign Minister Sergey Lavrov and Chinese", topic)
    assert r.language == "en" and r.reason is None


# --- the real wire items --------------------------------------------------------


def _held_out(ident: str) -> bool:
    """The half not used to tune the margins (odd last byte of the id's SHA-1)."""
    return hashlib.sha1(ident.encode()).digest()[-1] % 2 == 1


def _wire(lang: str) -> list[dict[str, str]]:
    path = WIRE / f"{lang}.jsonl"
    assert path.is_file(), f"shared wire items missing: {path}"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 500 and all(r["lang"] == lang for r in rows)
    return rows


@pytest.mark.parametrize("with_text", [True, False], ids=["title+text", "title-only"])
@pytest.mark.parametrize("lang", ["en", "zh", "ru"])
def test_real_wire_items(lang: str, with_text: bool) -> None:
    """≥ 99.5% of each file, and of its held-out half alone, comes out as the file's language."""
    rows = _wire(lang)
    wrong = [(r["id"], got) for r in rows
             if (got := detect_language(r["title"], r["text"] if with_text else "")) != lang]
    held = [r for r in rows if _held_out(r["id"])]
    wrong_held = [w for w in wrong if _held_out(w[0])]
    assert 1 - len(wrong) / len(rows) >= THRESHOLD, wrong[:20]
    assert 1 - len(wrong_held) / len(held) >= THRESHOLD, wrong_held[:20]


@pytest.mark.parametrize("text", [
    "MOSCOW, Nov. 3 /TASS/. Talks\nBEIJING, Nov. 3 (Xinhua) -- Talks\n(Reuters) - More",
    "Title\n新华社北京11月3日电（记者 李明）中国\n央视网消息（新闻联播）：内容",
    "see http://x.com/a1 and www.y.org #tag12",
    "1.http://a.b 3/www.x #1.5 1#a #http://x 12www.x 1,000 and 3:30", "mail me@x.com 123user@x 2@3",
    "no datelines here\n\n\nMOSCOW, November 3. /TASS/.", "１２ ٣٤ 5.6.7"])
def test_cleaning_at_line_starts_and_in_two_passes_is_the_one_regex(text: str) -> None:
    from briefing import language

    expected = language._HAN_DATELINE.sub("", text)
    expected = language._NOISE.sub(" ", language._LATIN_DATELINE.sub("", expected))
    assert _clean(text) == expected
