"""Extractive summaries: verbatim, in order, quotes whole, short articles give their lead, stories say things once."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import INBOX, make_article

from briefing.extract import to_article
from briefing.sources.folder import read_document
from briefing.summarize import keyphrases, summarize

NOW = datetime(2026, 11, 26, tzinfo=timezone.utc)


def files(seeds: list[Path]) -> list[Path]:
    return [*seeds, *sorted(INBOX.iterdir())]


@pytest.mark.parametrize("k", [1, 3, 5])
def test_every_summary_sentence_is_verbatim(seeds: list[Path], k: int) -> None:
    """On the seeds and our samples every chosen sentence is a substring of its article, in document order."""
    for path in files(seeds):
        a = to_article(read_document(path, "x"), NOW)
        summary = summarize([a], k)
        assert 1 <= len(summary) <= k
        positions = [a.text.index(s.text) for s in summary]
        assert positions == sorted(positions), path.name
        assert all(s.article_id == a.id and s.source == a.outlet_name for s in summary)


def test_short_article_returns_its_lead() -> None:
    """A one-sentence article is its own summary, not noise."""
    a = make_article("Russia and China signed a gas deal on Monday.")
    assert [s.text for s in summarize([a], 3)] == ["Russia and China signed a gas deal on Monday."]


def test_quotes_are_kept_whole() -> None:
    """A quotation spanning two sentences is never cut in half."""
    quote = "“We will build it. It will take six years,” the minister said after the talks in Moscow."
    text = ("The two governments agreed on the route of the new pipeline on Tuesday after long talks. "
            + quote + " Officials in Beijing welcomed the agreement and said work would start next year. "
            "Analysts said the deal would give Russia a big new buyer for gas it once sold to Europe.")
    for k in (1, 2, 3):
        for s in summarize([make_article(text)], k):
            assert s.text.count("“") == s.text.count("”")


def test_story_summary_says_each_point_once_and_attributes_it() -> None:
    """Two outlets with the same lead sentence: the story summary uses it once and names its outlet."""
    lead = "Russia and China agreed on Tuesday to build a second gas pipeline through Mongolia."
    a = make_article(lead + " The deal covers 50 billion cubic metres a year. Construction starts in 2027.", "wire")
    b = make_article(lead + " Analysts called it a turning point for Gazprom. Prices will follow oil.", "daily")
    summary = summarize([a, b], 3)
    assert sum(s.text == lead for s in summary) == 1
    assert {s.source for s in summary} == {"wire", "daily"}


def test_keyphrases_name_the_story() -> None:
    """Key phrases are distinctive words of the story, not stop words."""
    a = to_article(read_document(INBOX / "2026-11-03-power-of-siberia-2-talks.txt", "x"), NOW)
    phrases = keyphrases([a])
    assert phrases and all(p not in {"the", "and", "said"} for p in phrases)
    assert any("siberia" in p or "gas" in p or "pipeline" in p for p in phrases)


CONTRACT = ("Gazprom and CNPC signed a supply contract for the Power of Siberia 2 pipeline in Beijing on Wednesday. "
            "The contract covers fifty billion cubic metres of gas a year for thirty years from 2031. "
            "Negotiators had argued for years over the price, which neither company disclosed. "
            "The pipeline will run through Mongolia, which expects transit fees and new jobs along the route. "
            "European buyers once took most of the gas that Russia now hopes to sell to China.")


def test_single_article_summary_is_unchanged() -> None:
    """No sentence opens with a reference and there is one outlet: the summary is the one Briefing always gave."""
    first, second, third = CONTRACT.split(". ")[:3]
    assert [s.text for s in summarize([make_article(CONTRACT)], 1)] == [second + "."]
    assert [s.text for s in summarize([make_article(CONTRACT)], 3)] == [first + ".", second + ".", third + "."]


def test_sentence_vectors_weigh_words_as_scikit_learns_tfidf() -> None:
    """The NumPy TF-IDF (no vectoriser set up per article) gives scikit-learn's sublinear, smoothed cosines."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from briefing.summarize import _TOKEN, ENGLISH_STOP_WORDS, _split_han, _vectors

    texts = ["Russia and China signed a gas deal, a big gas deal, on Monday in Moscow.",
             "The deal covers gas from Siberia; officials in Beijing welcomed it.",
             "普京与习近平在莫斯科会谈，双方签署天然气协议。Gazprom welcomed the deal.",
             "Analysts said prices would follow oil, as they have for years."]

    def words(text: str) -> list[str]:
        return [w for t in _TOKEN.findall(text.lower()) if t not in ENGLISH_STOP_WORDS for w in _split_han(t)]

    ours = _vectors(texts)
    theirs = TfidfVectorizer(analyzer=words, sublinear_tf=True).fit_transform(texts).toarray()
    assert ours is not None
    assert np.allclose(ours @ ours.T, theirs @ theirs.T)
    assert sorted(np.linalg.norm(ours, axis=1).round(9)) == [1.0] * 4


def test_centrality_is_the_damped_random_walks_stationary_distribution() -> None:
    """The power iteration (done in place) lands on the PageRank vector worked out by linear algebra."""
    import numpy as np

    from briefing.summarize import DAMPING, centrality

    rng = np.random.default_rng(7)
    vectors = rng.random((9, 30))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    sim = vectors @ vectors.T
    np.fill_diagonal(sim, 0.0)
    transition = sim / sim.sum(axis=1, keepdims=True)
    exact = np.linalg.solve(np.eye(9) - DAMPING * transition.T, np.full(9, (1 - DAMPING) / 9))
    assert np.allclose(centrality(vectors), exact, atol=1e-6)


def test_a_long_word_before_a_full_stop_is_read_whole() -> None:
    """The word before a stop is looked for near the stop; a longer one is still read from its start."""
    from briefing.sentences import split_sentences

    long = "Tele" + "communications-and-infrastructure-development" * 2
    assert split_sentences(f"He spoke of {long}. Then he left. Mr. Li stayed.") == [
        f"He spoke of {long}.", "Then he left.", "Mr. Li stayed."]
    assert split_sentences("The talks went well. Gen. Smith agreed.") == ["The talks went well.", "Gen. Smith agreed."]


def test_centrality_matches_the_plain_power_iteration() -> None:
    """The batched iteration stops at the same step, with the same bits, as checking after every step."""
    import numpy as np

    from briefing.summarize import DAMPING, centrality

    rng = np.random.default_rng(24)
    for n in (2, 3, 9, 15, 40):
        vectors = rng.random((n, 30)) * (rng.random((n, 30)) < 0.3)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        sim = vectors @ vectors.T
        adjacency = (sim >= 0.0) * sim
        np.fill_diagonal(adjacency, 0.0)
        degree = adjacency.sum(axis=1, keepdims=True)
        transition = np.full_like(adjacency, 1.0 / n)
        np.divide(adjacency, degree, out=transition, where=degree > 0)
        rank = np.full(n, 1.0 / n)
        for _ in range(50):
            new = (transition.T @ rank) * DAMPING + (1 - DAMPING) / n
            if np.abs(new - rank).sum() < 1e-6:
                break
            rank = new
        assert centrality(vectors).tobytes() == new.tobytes()
