"""Sentence segmentation, shared by relevance and summaries so both see the same units.

pysbd handles abbreviations ("U.S.", "Gen.", "No. 2") without downloaded data.
Sentences come back verbatim: summaries quote them exactly.
"""

from __future__ import annotations

from functools import lru_cache

import pysbd


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(paragraph: str) -> list[str]:
    """The paragraph's sentences, stripped, in order; empty pieces dropped."""
    if not paragraph.strip():
        return []
    return [s.strip() for s in _segmenter().segment(paragraph) if s.strip()]
