"""rjieba, loaded with jieba's dictionary, cuts Chinese exactly as jieba does (briefing/words.py)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import jieba
import pytest

from briefing import words

WIRE_ZH = Path(__file__).resolve().parents[2] / "shared" / "data" / "wire-dev" / "zh.jsonl"


@pytest.fixture(scope="module")
def reference() -> jieba.Tokenizer:
    """jieba itself, with the lexicon's Chinese forms added as words.py used to add them."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for form in words._lexicon().chinese_forms:
        if words._HAN_RUN.fullmatch(form):
            tokenizer.add_word(form, 1000)
    return tokenizer


def _runs() -> list[str]:
    """Every Han run of the shared Chinese wire items (../shared: CI always has it, so no skip)."""
    runs: list[str] = []
    for line in WIRE_ZH.read_text(encoding="utf-8").splitlines():
        runs += [run for v in json.loads(line).values() if isinstance(v, str) for run in words._HAN_RUN.findall(v)]
    assert len(runs) > 10_000
    return runs


def test_real_runs_cut_as_jieba_cuts(reference: jieba.Tokenizer) -> None:
    runs = _runs()
    cutter = words._jieba()
    assert [cutter.cut(r, True) for r in runs] == [reference.lcut(r, HMM=True) for r in runs]


def test_random_and_spliced_runs_cut_as_jieba_cuts(reference: jieba.Tokenizer) -> None:
    """Strings no dictionary route favours exercise the HMM for unknown words; splices cut words in two."""
    runs = _runs()
    rng = random.Random(5)
    chars = sorted(set("".join(runs)))
    texts = ["".join(rng.choices(chars, k=rng.randint(1, 60))) for _ in range(5000)]
    texts += [rng.choice(runs)[rng.randint(0, 3):] + rng.choice(runs)[:rng.randint(1, 30)] for _ in range(5000)]
    cutter = words._jieba()
    assert [cutter.cut(t, True) for t in texts] == [reference.lcut(t, HMM=True) for t in texts]


def test_the_lexicon_keeps_names_whole() -> None:
    assert "普京" in words.chinese_words("普京会见习近平") and "习近平" in words.chinese_words("普京会见习近平")
