"""Story summaries across media blocs, sentences that lean on the one before, key phrases as the text writes them."""

from __future__ import annotations

import importlib
from dataclasses import replace

import pytest
from conftest import make_article

from briefing.outlets import bloc_of, bundled_registry
from briefing.summarize import keyphrases, summarize
from briefing.types import Article

summarize_module = importlib.import_module("briefing.summarize")  # the package exports a function of that name

# One event told three times: a Russian state agency at length, a Chinese state agency and a Western wire briefly.
TASS_TEXT = (
    "Russia and China opened a new road bridge across the Amur river on Monday, linking Blagoveshchensk and Heihe. "
    "The bridge across the Amur river will carry lorries between Blagoveshchensk and Heihe around the clock. "
    "Officials in Blagoveshchensk said the Amur bridge would double lorry traffic between the two river cities. "
    "The regional governor said the bridge across the Amur would bring new trade to Blagoveshchensk and Heihe. "
    "Customs posts on both banks of the Amur river have been enlarged for the bridge traffic to Heihe."
)
XINHUA_TEXT = (
    "A cross-border highway bridge connecting Heihe in Heilongjiang province with Russia opened to traffic on Monday. "
    "Local authorities expect the crossing to lift bilateral trade in soybeans, timber and machinery."
)
REUTERS_TEXT = (
    "Analysts cautioned that sanctions and weak demand could keep freight volumes on the new crossing modest. "
    "Western diplomats see the bridge as a symbol of a partnership that has grown closer since 2022."
)


def outlet(text: str, name: str) -> Article:
    return replace(make_article(text, name.lower().replace(" ", "-")), outlet=name)


def story() -> list[Article]:
    return [outlet(TASS_TEXT, "TASS"), outlet(XINHUA_TEXT, "Xinhua"), outlet(REUTERS_TEXT, "Reuters")]


def blocs_quoted(articles: list[Article], k: int) -> set[str]:
    registry = bundled_registry()
    return {bloc_of(s.source, registry) for s in summarize(articles, k)}


def test_a_three_bloc_story_is_quoted_from_several_blocs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three blocs report one event: the summary quotes at least two, each sentence named after its outlet."""
    articles = story()
    assert {bloc_of(a.outlet or "", bundled_registry()) for a in articles} == {
        "Russian state media", "Chinese state media", "Western media"}
    summary = summarize(articles, 3)
    assert len(blocs_quoted(articles, 3)) >= 2
    by_id = {a.id: a for a in articles}
    assert all(s.source == by_id[s.article_id].outlet and s.text in by_id[s.article_id].text for s in summary)
    monkeypatch.setattr(summarize_module, "BLOC_BONUS", 0.0)  # the same story without the bonus: one bloc's voice
    assert blocs_quoted(articles, 3) == {"Russian state media"}


def test_a_single_bloc_story_is_plain_mmr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two outlets of one bloc: the bloc bonus changes nothing, whatever its size."""
    ria = XINHUA_TEXT.replace("Heilongjiang province", "Amur region")
    articles = [outlet(TASS_TEXT, "TASS"), outlet(ria, "RIA Novosti")]
    assert {bloc_of(a.outlet or "", bundled_registry()) for a in articles} == {"Russian state media"}
    plain = summarize(articles, 3)
    monkeypatch.setattr(summarize_module, "BLOC_BONUS", 10.0)
    assert summarize(articles, 3) == plain


PRONOUN_TEXT = (
    "Chinese shipping lines sent a record number of container ships along the Arctic route this summer. "
    "The Arctic route cuts the voyage from Shanghai to Rotterdam by about ten days compared with Suez. "
    "They also point to the cost of icebreaker escorts on the Arctic route, which the shipping lines call too high. "
    "Insurers charge higher premiums for ships that sail the Arctic route without an ice-class hull. "
    "Однако арктический маршрут остаётся открытым для судов лишь несколько месяцев в году. "
    "此外，中国航运企业计划明年增加经北极航线的航次和集装箱船数量。"
)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_a_sentence_opening_with_a_reference_never_stands_alone(k: int) -> None:
    """"They also…", "Однако…", "此外…": quoted right after the sentence before them, or not at all."""
    article = make_article(PRONOUN_TEXT)
    order = [s for s in summarize_module.candidates(article)]
    summary = [s.text for s in summarize([article], k)]
    assert summary
    for n, text in enumerate(summary):
        if text.startswith(("They also", "Однако", "此外")):
            before = next(c.text for c, d in zip(order, order[1:]) if d.text == text)
            assert n > 0 and summary[n - 1] == before, summary


def test_the_central_pronoun_sentence_comes_with_its_antecedent() -> None:
    """The most central sentence opens with "They": with room for two, it is quoted after the one it leans on."""
    article = make_article(PRONOUN_TEXT)
    they = next(s for s in summarize_module.candidates(article) if s.text.startswith("They also"))
    assert they.text in [s.text for s in summarize([article], 3)]
    assert they.text not in [s.text for s in summarize([article], 1)]


def test_a_story_sentence_opening_with_a_reference_follows_its_antecedent() -> None:
    """In a story (MMR), too, an opener is placed right after the sentence before it."""
    a = outlet(PRONOUN_TEXT, "Reuters")
    b = outlet("Он сказал, что суда пойдут по Северному морскому пути в июле. "
               "Российские власти рассчитывают на рост транзита китайских грузов в Арктике.", "TASS")
    for k in (1, 2, 3, 4, 5):
        summary = summarize([a, b], k)
        texts = [s.text for s in summary]
        for n, s in enumerate(summary):
            if summarize_module._opens_with_reference(s.text):
                assert n > 0 and summary[n - 1].article_id == s.article_id, texts


@pytest.mark.parametrize(("text", "expected"), [
    ("They also point to fees.", True), ("He said so on Monday.", True), ("However, trade fell.", True),
    ("This shows a shift.", True), ("Но торговля упала.", True), ("Он сказал это.", True),
    ("他表示欢迎。", True), ("但是贸易下降。", True), ("“This is a turning point,” he said.", True),
    ("This week the talks resumed.", False), ("Russia and China signed a deal.", False),
    ("Россия и Китай подписали соглашение.", False), ("中俄两国签署协议。", False), ("At the summit, Xi spoke.", False),
])
def test_openers_by_language(text: str, expected: bool) -> None:
    assert summarize_module._opens_with_reference(text) is expected


PATROL_TEXT = (
    "Russian and Chinese warships sailed through the Sea of Japan on Tuesday at the start of a joint patrol. "
    "The ships will leave the Sea of Japan for the western Pacific later this week, the defence ministry said. "
    "Japan tracked the joint patrol from the air as the group crossed the Sea of Japan near Hokkaido. "
    "Russia's Northern Sea Route is not part of the joint patrol this year."
)


def test_key_phrases_are_written_as_in_the_text() -> None:
    """Names whole and in their case ("Sea of Japan"), never a lowercase fragment ("sea japan", "russia's northern")."""
    phrases = keyphrases([make_article(PATROL_TEXT, title="Warships begin a joint patrol")])
    assert "Sea of Japan" in phrases, phrases
    assert all(p in PATROL_TEXT or p in "Warships begin a joint patrol" for p in phrases), phrases
    assert not {"sea japan", "russia's northern", "northern sea"} & {p.lower() for p in phrases}


def test_key_phrases_take_the_most_frequent_form() -> None:
    """A word capitalised only where it opens a sentence is shown as the text usually writes it."""
    text = ("Pipelines carry most of the gas. The new pipelines cross the border at two points. "
            "Both pipelines were built by state companies and the pipelines run for thousands of kilometres.")
    assert "pipelines" in keyphrases([make_article(text)])


def test_no_key_phrases_when_nothing_is_said() -> None:
    """Only stop words: no phrase, so the digest drops the line."""
    assert keyphrases([make_article("It is what it is, and so it was.", title="")]) == []
