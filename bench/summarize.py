"""Summary quality and speed on third-party data (run by hand; reads ../shared/data/summarization).

    python bench/summarize.py
    python bench/summarize.py --repeat 7 --worst 10

Data: the 100 aligned BBC News Summary pairs (20 per category). An article file has
its title, a blank line, then blank-line-separated paragraphs with one sentence per
line; the summary file is the gold extractive summary, one sentence per line, and
every gold sentence is a line of its article. ``k`` is the number of gold lines.

The Article that the summarizers see joins the lines of a paragraph with single
spaces and the paragraphs with blank lines, as a cleaned news page would look.
The original lines are the sentence boundaries of the gold set only.

Systems, each asked for ``k`` sentences:

* ``ours``         ``briefing.summarize.summarize([article], k)``.
* ``Lead-k``       the first k original lines. The gold boundaries make this the
                   strongest form of the lead baseline.
* ``Lead-k pysbd`` the first k pysbd sentences over the paragraphs: the segmentation
                   sumy gets (ours uses ``briefing.sentences``, a rule-based splitter).
* ``LexRank`` and ``TextRank`` from sumy. The document is an ``ObjectDocumentModel``
                   built from pysbd sentences, as the issue prescribes. Words come from ``re.findall(r"\\w+")``,
                   there is no stemmer (``null_stemmer``), and the stop words are sumy's
                   bundled English list. Nothing needs NLTK data.
* ``Random-k``     k random lines in document order (seeded): a floor.

Quality: ROUGE-1/2/L F-measure (``rouge_score``, Porter stemmer) between a system's
sentences joined by "\\n" and the gold lines joined by "\\n", averaged over the 100
articles. Sentence precision/recall: the share of chosen sentences that are gold
sentences, and the share of gold sentences that were chosen, matching normalised
text (NFKC, straight quotes, folded whitespace, lower case). Both are macro-averaged.
A sentence that pysbd split or merged differently from the data's lines cannot match.

Speed, as the issue defines it: marginal seconds per article = (time for N articles
− time for 1) / (N − 1). This is measured for ours and for sumy LexRank (including
building its document) in the same process, after imports and a warm-up pass. Each
is the median of ``--repeat`` rounds, and the two systems' rounds are interleaved.
The pysbd segmentation that both of them do is also timed alone, for reference.
CPU (process) time and wall time are both printed. The table shows CPU time, because
wall time counts whatever else the machine is running.

It also checks that every sentence ours returns is a verbatim substring of the
article text, and it prints per-category results and diagnostics: summary length,
position of the chosen sentences, and segmentation mismatches. With ``--worst N``
it lists the article ids (never text) where ours trails the best other system most.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import random
import re
import statistics
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import click
import pysbd
from rouge_score import rouge_scorer
from sumy.models.dom import ObjectDocumentModel, Paragraph
from sumy.models.dom import Sentence as SumySentence
from sumy.nlp.stemmers import null_stemmer
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer
from sumy.utils import get_stop_words

from briefing.extract import article_id, content_hash
from briefing.summarize import summarize
from briefing.types import Article

_PYSBD = pysbd.Segmenter(language="en", clean=False)


def pysbd_sentences(paragraph: str) -> list[str]:
    """pysbd, as the issue prescribes for sumy (ours uses briefing.sentences)."""
    return [s.strip() for s in _PYSBD.segment(paragraph) if s.strip()]

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "summarization" / "bbc-news-summary-aligned-100"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
METRICS = ("rouge1", "rouge2", "rougeL")
# The module, not the function: briefing/__init__ exports a function of the same name.
ours_module = importlib.import_module("briefing.summarize")


@dataclass(frozen=True)
class Doc:
    ident: str  # "<category>/<NNN>"
    category: str
    lines: tuple[str, ...]  # the article's sentences as the data gives them, in order
    gold: tuple[str, ...]
    article: Article

    @property
    def k(self) -> int:
        return len(self.gold)


def load(data: Path) -> list[Doc]:
    docs = []
    for path in sorted((data / "article").glob("*/*.txt")):
        category = path.parent.name
        head, _, rest = path.read_text(encoding="utf-8").replace("\r\n", "\n").partition("\n")
        blocks = [[ln.strip() for ln in b.split("\n") if ln.strip()] for b in re.split(r"\n\s*\n", rest)]
        blocks = [b for b in blocks if b]
        body = "\n\n".join(" ".join(b) for b in blocks)
        h = content_hash(body)
        article = Article(id=article_id("bbc", h), source="bbc", location=str(path), title=head.strip(),
                          text=body, content_hash=h, first_seen=NOW)
        summary = data / "summary" / category / path.name
        gold = tuple(ln.strip() for ln in summary.read_text(encoding="utf-8").splitlines() if ln.strip())
        docs.append(Doc(f"{category}/{path.stem}", category, tuple(ln for b in blocks for ln in b), gold, article))
    return docs


# --- systems -------------------------------------------------------------------------------------

class RegexTokenizer:
    """What sumy needs of a tokenizer, without NLTK: pysbd sentences, \\w+ words."""

    language = "english"

    @staticmethod
    def to_sentences(paragraph: str) -> tuple[str, ...]:
        return tuple(pysbd_sentences(paragraph))

    @staticmethod
    def to_words(sentence: str) -> tuple[str, ...]:
        return tuple(re.findall(r"\w+", sentence))


TOKENIZER = RegexTokenizer()


def sumy_document(article: Article) -> ObjectDocumentModel:
    return ObjectDocumentModel([
        Paragraph([SumySentence(s, TOKENIZER) for s in TOKENIZER.to_sentences(p)])
        for p in article.paragraphs
    ])


System = Callable[[Doc, int], list[str]]  # (article, k) → k sentences


def sumy_system(cls: type) -> System:
    summarizer = cls(null_stemmer)
    summarizer.stop_words = get_stop_words("english")

    def run(doc: Doc, k: int) -> list[str]:
        return [str(s) for s in summarizer(sumy_document(doc.article), k)]
    return run


def ours(doc: Doc, k: int) -> list[str]:
    return [s.text for s in summarize([doc.article], k)]


def lead_lines(doc: Doc, k: int) -> list[str]:
    return list(doc.lines[:k])


def lead_pysbd(doc: Doc, k: int) -> list[str]:
    return [s for p in doc.article.paragraphs for s in pysbd_sentences(p)][:k]


def random_k(doc: Doc, k: int) -> list[str]:
    rng = random.Random(f"{doc.ident}")  # string seeds hash deterministically
    picked = sorted(rng.sample(range(len(doc.lines)), min(k, len(doc.lines))))
    return [doc.lines[i] for i in picked]


def segment_only(doc: Doc, k: int) -> list[str]:
    """Not a system: the pysbd segmentation that sumy pays, timed alone."""
    return [s for p in doc.article.paragraphs for s in pysbd_sentences(p)]


# --- scoring -------------------------------------------------------------------------------------

_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).translate(_QUOTES)).strip().lower()


@dataclass
class Result:
    rouge: dict[str, float]  # F-measures, plus "rougeLsum"
    sent_p: float
    sent_r: float
    words: int
    returned: int
    off_line: int  # chosen sentences that are not one of the data's lines
    positions: list[float]  # relative character offset of each chosen sentence in the text


SCORER = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
LSUM = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True)  # order-insensitive across sentences


def evaluate(doc: Doc, chosen: list[str]) -> Result:
    target, prediction = "\n".join(doc.gold), "\n".join(chosen)
    scores = SCORER.score(target, prediction)
    rouge = {m: scores[m].fmeasure for m in METRICS}
    rouge["rougeLsum"] = LSUM.score(target, prediction)["rougeLsum"].fmeasure
    gold = {norm(g) for g in doc.gold}
    picked = {norm(c) for c in chosen}
    hits = len(gold & picked)
    lines = {norm(ln) for ln in doc.lines}
    text = doc.article.text
    positions = [max(text.find(c), 0) / max(len(text), 1) for c in chosen]
    return Result(rouge, hits / len(picked) if picked else 0.0, hits / len(gold) if gold else 0.0,
                  sum(len(c.split()) for c in chosen), len(chosen), sum(norm(c) not in lines for c in chosen),
                  positions)


def mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else float("nan")


# --- speed ---------------------------------------------------------------------------------------

def _clock(fn: System, docs: list[Doc]) -> tuple[float, float]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    for doc in docs:
        fn(doc, doc.k)
    return time.perf_counter() - wall, time.process_time() - cpu


def marginal(systems: dict[str, System], docs: list[Doc], repeat: int) -> dict[str, dict]:
    """(T(N) − T(1)) / (N − 1) per system, medians of interleaved rounds, wall and CPU seconds."""
    for fn in systems.values():  # warm-up: caches, lazy imports, the pysbd segmenter
        for doc in docs:
            fn(doc, doc.k)
    one: dict[str, list[tuple[float, float]]] = {name: [] for name in systems}
    many: dict[str, list[tuple[float, float]]] = {name: [] for name in systems}
    for _ in range(repeat):
        for name, fn in systems.items():
            one[name].append(_clock(fn, docs[:1]))
            many[name].append(_clock(fn, docs))
    out = {}
    n = len(docs)
    for name in systems:
        t1 = [statistics.median(t[i] for t in one[name]) for i in (0, 1)]
        tn = [statistics.median(t[i] for t in many[name]) for i in (0, 1)]
        out[name] = {"wall": (tn[0] - t1[0]) / (n - 1), "cpu": (tn[1] - t1[1]) / (n - 1),
                     "wall_n": tn[0], "cpu_n": tn[1], "wall_1": t1[0], "cpu_1": t1[1]}
    return out


# --- report --------------------------------------------------------------------------------------

@click.command()
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path), default=DATA,
              show_default=True, help="The bbc-news-summary-aligned-100 folder.")
@click.option("--repeat", default=5, show_default=True, help="Timing rounds per system (median).")
@click.option("--worst", default=0, show_default=True, help="List the N article ids where ours trails most.")
def main(data: Path, repeat: int, worst: int) -> None:
    """Ours vs Lead-k, sumy LexRank and TextRank on 100 BBC articles: ROUGE, sentence P/R, speed."""
    docs = load(data)
    if len(docs) < 2:
        raise click.ClickException(f"need at least 2 articles under {data}")
    source = Path(ours_module.__file__)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    click.echo(f"{len(docs)} articles from {data}")
    click.echo(f"briefing/summarize.py sha256 {digest}")
    click.echo(f"k: mean {mean(d.k for d in docs):.2f} (min {min(d.k for d in docs)}, max {max(d.k for d in docs)}); "
               f"lines per article: mean {mean(len(d.lines) for d in docs):.1f}; "
               f"k/lines: mean {mean(d.k / len(d.lines) for d in docs):.2f}")

    systems: dict[str, System] = {
        "ours": ours,
        "Lead-k": lead_lines,
        "Lead-k pysbd": lead_pysbd,
        "LexRank (sumy)": sumy_system(LexRankSummarizer),
        "TextRank (sumy)": sumy_system(TextRankSummarizer),
        "Random-k": random_k,
    }
    outputs = {name: [fn(d, d.k) for d in docs] for name, fn in systems.items()}
    results = {name: [evaluate(d, out) for d, out in zip(docs, outs)] for name, outs in outputs.items()}

    # Verbatim check: each of ours' sentences must be a substring of the text it came from.
    violations = [(d.ident, s) for d, outs in zip(docs, outputs["ours"]) for s in outs if s not in d.article.text]
    short = sum(len(outs) < d.k for d, outs in zip(docs, outputs["ours"]))

    speed = marginal({"ours": ours, "LexRank (sumy)": systems["LexRank (sumy)"],
                      "pysbd split only": segment_only}, docs, repeat)

    width = max(len(n) for n in systems)
    click.echo("\nMean over articles (ROUGE F-measure; sentence P/R by normalised exact match; "
               "ms/article = marginal CPU time)")
    click.echo(f"| {'system':<{width}} |   R-1 |   R-2 |   R-L | sent-P | sent-R | ms/article |")
    click.echo(f"|{'-' * (width + 2)}|------:|------:|------:|-------:|-------:|-----------:|")
    for name, rs in results.items():
        ms = f"{speed[name]['cpu'] * 1000:.2f}" if name in speed else "–"
        click.echo(f"| {name:<{width}} | {mean(r.rouge['rouge1'] for r in rs):.3f} "
                   f"| {mean(r.rouge['rouge2'] for r in rs):.3f} | {mean(r.rouge['rougeL'] for r in rs):.3f} "
                   f"|  {mean(r.sent_p for r in rs):.3f} |  {mean(r.sent_r for r in rs):.3f} | {ms:>10} |")

    click.echo(f"\nSpeed: (T(N) − T(1)) / (N − 1), N = {len(docs)}, median of {repeat} interleaved rounds")
    for name, s in speed.items():
        click.echo(f"  {name:<{max(width, 16)}}  cpu {s['cpu'] * 1000:7.2f} ms/article"
                   f"  wall {s['wall'] * 1000:7.2f} ms/article"
                   f"   (T(N) cpu {s['cpu_n']:.3f} s, T(1) cpu {s['cpu_1'] * 1000:.2f} ms)")
    click.echo("  (pysbd split only: the sentence segmentation both of them do, timed alone)")
    ratio_cpu = speed["LexRank (sumy)"]["cpu"] / speed["ours"]["cpu"]
    ratio_wall = speed["LexRank (sumy)"]["wall"] / speed["ours"]["wall"]
    click.echo(f"  ratio sumy-LexRank / ours: {ratio_cpu:.2f}× (cpu), {ratio_wall:.2f}× (wall)")

    click.echo(f"\nVerbatim check (ours): {sum(len(o) for o in outputs['ours'])} sentences, "
               f"{len(violations)} not a substring of the article text; "
               f"{short} articles got fewer than k sentences")
    for ident, s in violations[:5]:
        click.echo(f"  {ident}: {len(s)} chars")

    click.echo("\nDiagnostics (means over articles): words in summary / gold words; relative position "
               "of chosen sentences (0 = start of text); chosen sentences that are not one of the data's lines; "
               "ROUGE-Lsum; sentence precision when asked for 3 sentences (a digest's size)")
    gold_words = [sum(len(g.split()) for g in d.gold) for d in docs]
    gold_pos = mean(mean(evaluate(d, list(d.gold)).positions) for d in docs)
    click.echo(f"  {'gold':<{width}}  length 1.00  position {gold_pos:.2f}")
    for name, rs in results.items():
        click.echo(f"  {name:<{width}}  length {mean(r.words / g for r, g in zip(rs, gold_words)):.2f}"
                   f"  position {mean(mean(r.positions) for r in rs):.2f}"
                   f"  off-line {sum(r.off_line for r in rs)}/{sum(r.returned for r in rs)}"
                   f"  R-Lsum {mean(r.rouge['rougeLsum'] for r in rs):.3f}"
                  f"  sent-P@3 {mean(evaluate(d, systems[name](d, min(3, d.k))).sent_p for d in docs):.3f}")
    pysbd = [{norm(s) for p in d.article.paragraphs for s in pysbd_sentences(p)} for d in docs]
    reachable = sum(norm(g) in ps for d, ps in zip(docs, pysbd) for g in d.gold)
    total_gold = sum(d.k for d in docs)
    click.echo(f"  gold sentences that pysbd reproduces exactly: {reachable}/{total_gold} "
               f"(the ceiling of sent-R for systems on pysbd sentences)")
    lo, hi = getattr(ours_module, "MIN_WORDS", None), getattr(ours_module, "MAX_WORDS", None)
    if lo is not None and hi is not None:
        outside = sum(not lo <= len(g.split()) <= hi for d in docs for g in d.gold)
        click.echo(f"  gold sentences outside ours' length filter [{lo}, {hi}] words: {outside}/{total_gold}")
    lead_share = sum(norm(g) in {norm(x) for x in d.lines[:d.k]} for d in docs for g in d.gold)
    click.echo(f"  gold sentences within the first k lines: {lead_share}/{total_gold}; "
               f"first line in gold: {sum(norm(d.lines[0]) in {norm(g) for g in d.gold} for d in docs)}/{len(docs)}")

    categories = sorted({d.category for d in docs})
    click.echo("\nBy category: R-1 / R-2 / R-L")
    click.echo(f"| {'system':<{width}} | " + " | ".join(f"{c:^18}" for c in categories) + " |")
    click.echo(f"|{'-' * (width + 2)}|" + "|".join("-" * 20 for _ in categories) + "|")
    for name, rs in results.items():
        cells = []
        for c in categories:
            sub = [r for d, r in zip(docs, rs) if d.category == c]
            cells.append(" / ".join(f"{mean(r.rouge[m] for r in sub):.3f}"[1:] for m in METRICS))
        click.echo(f"| {name:<{width}} | " + " | ".join(f"{x:^18}" for x in cells) + " |")

    click.echo("\nOurs against each system, R-2 per article: wins-ties-losses by category (tie: |Δ| < 0.005)")
    click.echo(f"| {'vs':<{width}} | " + " | ".join(f"{c:^13}" for c in categories) + " | all      |")
    for name in results:
        if name == "ours":
            continue
        cells, total = [], [0, 0, 0]
        for c in categories:
            wtl = [0, 0, 0]
            for d, a, b in zip(docs, results["ours"], results[name]):
                if d.category == c:
                    delta = a.rouge["rouge2"] - b.rouge["rouge2"]
                    wtl[0 if delta >= 0.005 else 1 if delta > -0.005 else 2] += 1
            total = [t + x for t, x in zip(total, wtl)]
            cells.append("-".join(map(str, wtl)))
        click.echo(f"| {name:<{width}} | " + " | ".join(f"{x:^13}" for x in cells)
                   + f" | {'-'.join(map(str, total)):<8} |")

    if hashlib.sha256(source.read_bytes()).hexdigest()[:12] != digest:
        click.echo("\nwarning: briefing/summarize.py changed during the run; the results are of the version "
                   f"imported at the start ({digest})", err=True)

    if worst:
        others = [n for n in results if n not in ("ours", "Random-k")]
        gaps = []
        for i, d in enumerate(docs):
            best = max(others, key=lambda n: results[n][i].rouge["rouge2"])
            gaps.append((results[best][i].rouge["rouge2"] - results["ours"][i].rouge["rouge2"], d, best, i))
        click.echo(f"\nWorst {worst} for ours (R-2 gap to the best other system; ids only)")
        for gap, d, best, i in sorted(gaps, key=lambda g: -g[0])[:worst]:
            r = results["ours"][i]
            click.echo(f"  {d.ident}  k={d.k}/{len(d.lines)}  ours R-2 {r.rouge['rouge2']:.3f}  "
                       f"{best} {results[best][i].rouge['rouge2']:.3f}  (gap {gap:.3f}; ours sent-P {r.sent_p:.2f}, "
                       f"returned {r.returned}, off-line {r.off_line})")


if __name__ == "__main__":
    main()
