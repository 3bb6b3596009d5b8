"""Sentence splitting survives news text: abbreviations, initials, quotes, decimals, Chinese."""

from __future__ import annotations

import pytest
from conftest import SHARED

from briefing.sentences import split_sentences


@pytest.mark.parametrize("text, expected", [
    ("Mr. Smith met Gen. Li in the U.S. capital. They talked.", ["Mr. Smith met Gen. Li in the U.S. capital.",
                                                                  "They talked."]),
    ("J. K. Rowling spoke on Jan. 5 about 3.5 million books. Fans cheered!", [
        "J. K. Rowling spoke on Jan. 5 about 3.5 million books.", "Fans cheered!"]),
    ('He said: "No." Then he left.', ['He said: "No."', "Then he left."]),
    ("Is it over? “Not yet,” she said.", ["Is it over?", "“Not yet,” she said."]),
    ("中俄举行会谈。双方签署协议。", ["中俄举行会谈。", "双方签署协议。"]),
    ("one line\nanother line", ["one line", "another line"]),
    ("   ", []),
])
def test_splits(text: str, expected: list[str]) -> None:
    """Each case splits where a reader would, and pieces are verbatim."""
    assert split_sentences(text) == expected


def test_reproduces_gold_sentence_lines() -> None:
    """On the BBC set (one sentence per line), at least 98% of lines come back exactly."""
    root = SHARED / "data" / "summarization" / "bbc-news-summary-aligned-100" / "article"
    if not root.is_dir():
        pytest.fail(f"shared summarization data not found at {root}")
    total = exact = 0
    for path in sorted(root.rglob("*.txt")):
        for block in path.read_text(encoding="utf-8", errors="replace").split("\n\n")[1:]:
            gold = [ln.strip() for ln in block.splitlines() if ln.strip()]
            total += len(gold)
            exact += len(set(gold) & set(split_sentences(" ".join(gold))))
    assert exact / total >= 0.98
