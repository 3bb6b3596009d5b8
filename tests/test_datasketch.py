"""datasketch's internals that briefing/dedupe.py relies on, checked against datasketch itself.

dedupe.py computes MinHash signatures in NumPy with datasketch's seeded permutations (the affine32
scheme of datasketch 2) and cuts them into the bands MinHashLSH would choose, instead of one
MinHash object and one LSH insert per article. An upgrade that changes any of this must fail here,
not quietly change which reprints count as copies.
"""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from briefing.dedupe import DedupeSettings, _minhash_values, _near_pairs, _permutations, shingle_hashes

NUM_PERM = DedupeSettings().num_perm
THRESHOLD = DedupeSettings().near_duplicate

BASE = [
    "Russia and China signed a pipeline agreement in Ulaanbaatar on Tuesday after years of talks over price",
    "The two navies began their seventh joint patrol in the Sea of Japan, the defence ministries said today",
    "Trade between the neighbours rose by a fifth last year as Chinese cars and phones replaced European ones",
    "The foreign ministers met in Beijing to prepare a summit and spoke about the war and about sanctions",
]


def texts() -> list[str]:
    """Each base text, a copy with one word changed, one with a line added, and one cut short."""
    out = []
    for text in BASE:
        words = text.split()
        out += [text, " ".join([*words[:6], "reportedly", *words[7:]]), text + " officials in Moscow added",
                " ".join(words[:10])]
    return out


def signatures(num_perm: int = NUM_PERM) -> np.ndarray:
    return np.stack([_minhash_values(shingle_hashes(t, DedupeSettings().shingle_words), num_perm) for t in texts()])


def datasketch_minhash(hashes: np.ndarray, num_perm: int) -> MinHash:
    m = MinHash(num_perm=num_perm, hashfunc=int)
    m.update_batch(hashes.tolist())
    return m


@pytest.mark.parametrize("num_perm", [NUM_PERM, 128])
def test_signatures_are_what_update_batch_computes(num_perm: int) -> None:
    """The NumPy signature of every text (and of no text) equals datasketch's own MinHash of the same hashes."""
    for text in [*texts(), ""]:
        hashes = shingle_hashes(text, DedupeSettings().shingle_words)
        ours = _minhash_values(hashes, num_perm)
        theirs = datasketch_minhash(hashes, num_perm)
        assert theirs.scheme == "affine32"
        assert ours.dtype == theirs.hashvalues.dtype == np.uint32
        assert np.array_equal(ours, theirs.hashvalues), text


def test_permutations_are_seeded_and_bijective() -> None:
    """Every MinHash (every process, every Dask worker) draws the same permutations; each multiplier is odd,
    so h → a·h + b mod 2³² is a bijection. The first values are pinned: new permutations would regroup
    borderline reprints, which an upgrade must notice."""
    p = _permutations(NUM_PERM)
    again = MinHash(num_perm=NUM_PERM, hashfunc=int).permutations
    assert np.array_equal(p.a, again[0]) and np.array_equal(p.b, again[1])
    assert p.a.shape == p.b.shape == p.empty.shape == (NUM_PERM,)
    assert (p.a % 2 == 1).all()
    assert p.a[:3].tolist() == [3582191691, 4270784983, 1892572953]
    assert p.b[:3].tolist() == [4114104213, 1768615473, 2289927481]
    assert (p.empty == np.iinfo(np.uint32).max).all()


def test_lsh_bands_of_the_default_threshold() -> None:
    """dedupe.py reads MinHashLSH's optimal (b, r) and cuts signatures into b bands of r rows."""
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    assert (lsh.b, lsh.r) == (14, 4)
    assert lsh.hashranges == [(i * lsh.r, (i + 1) * lsh.r) for i in range(lsh.b)]


@pytest.mark.parametrize("threshold", [THRESHOLD, 0.8])
def test_near_pairs_are_minhash_lsh_query_results(threshold: float) -> None:
    """The pairs found by sorting bands are those MinHashLSH finds, kept where MinHash.jaccard ≥ threshold."""
    sigs = signatures()
    template = MinHash(num_perm=NUM_PERM, hashfunc=int)
    minhashes = [MinHash(hashvalues=s, permutations=template.permutations, scheme="affine32") for s in sigs]
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    for i, m in enumerate(minhashes):
        lsh.insert(i, m)
    expected = {(i, j) for i, m in enumerate(minhashes) for j in lsh.query(m)
                if i < j and m.jaccard(minhashes[j]) >= threshold}
    assert expected, "the texts must give some near pairs, or this test checks nothing"
    assert set(_near_pairs(sigs, threshold)) == expected
