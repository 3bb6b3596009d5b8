"""Stage commands per STAGE-CLI.md: JSON Lines on stdout, errors in place, exit codes, help examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from briefing.cli import main

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
INBOX = ROOT / "examples" / "inbox"
TOPIC = ROOT / "config" / "topics" / "russia_china.yaml"
STORM = "2026-11-22-storm-closes-coast-road.txt"
PIPELINE = "2026-11-03-power-of-siberia-2-talks.txt"


@pytest.fixture
def seeds() -> list[Path]:
    folder = SHARED / "seeds"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    return sorted(folder.glob("*.txt"))


def run(*args: str, input: str | None = None) -> Result:
    # click >= 8.2 keeps stdout and stderr apart; exceptions propagate instead of becoming exit 1.
    return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)


def objects(result: Result) -> list[dict[str, Any]]:
    """Every stdout line parsed as one JSON object (fails if any line is not JSON)."""
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(isinstance(o, dict) for o in out)
    return out


def jsonl(*records: Any) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


# --- extract ---------------------------------------------------------------------

def test_extract_seeds_prints_one_object_per_file_in_input_order(seeds: list[Path]) -> None:
    """extract on the five seeds prints five JSON objects with exactly the contract keys, in argument order."""
    ordered = list(reversed(seeds))  # not sorted: output must follow the arguments
    result = run("extract", *ordered)
    assert result.exit_code == 0, result.stderr
    out = objects(result)
    assert len(out) == 5
    assert [o["id"] for o in out] == [str(p) for p in ordered]
    for o in out:
        assert set(o) == {"id", "path", "title", "published", "text"}
        assert o["path"] == o["id"]
        assert o["title"].strip() and o["text"].strip()
        assert o["published"] is None or isinstance(o["published"], str)


def test_extract_jsonl_bad_records_become_errors_in_place() -> None:
    """A non-JSON line and a record without text become {"id", "error"} in place, and the exit code is 1."""
    good = {"id": "good", "title": "Gas talks", "text": "Russia and China resumed gas talks on Monday."}
    result = run("extract", "--jsonl", "-", input=jsonl(good, "this is not json", {"id": "no-text", "title": "x"}))
    assert result.exit_code == 1
    out = objects(result)
    assert [o["id"] for o in out] == ["good", "line 2", "no-text"]
    assert "error" not in out[0]
    assert (out[0]["title"], out[0]["text"]) == ("Gas talks", good["text"])
    assert [("error" in o) for o in out] == [False, True, True]
    assert all(set(o) == {"id", "error"} for o in out[1:])


def test_logs_go_to_stderr_not_stdout(tmp_path: Path) -> None:
    """Run as a real process, a skipped file is logged on stderr while stdout stays pure JSON Lines."""
    (tmp_path / "a.txt").write_text("Russia and China signed a trade deal on Monday.\n", encoding="utf-8")
    (tmp_path / "b.pdf").write_bytes(b"%PDF-1.4")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFING_")}
    proc = subprocess.run([sys.executable, "-m", "briefing.cli", "extract", str(tmp_path)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["id"] for o in out] == [str(tmp_path / "a.txt")]
    assert "b.pdf" in proc.stderr and "b.pdf" not in proc.stdout


# --- summarize -----------------------------------------------------------------------

def test_summarize_gives_verbatim_sentences(seeds: list[Path]) -> None:
    """summarize --sentences 2 gives at most two sentences per document, each found verbatim in its text."""
    texts = {o["id"]: o["text"] for o in objects(run("extract", *seeds))}
    result = run("summarize", "--sentences", "2", *seeds)
    assert result.exit_code == 0, result.stderr
    out = objects(result)
    assert [o["id"] for o in out] == [str(p) for p in seeds]
    for o in out:
        assert 1 <= len(o["summary"]) <= 2
        for sentence in o["summary"]:
            assert sentence in texts[o["id"]]


def test_summarize_jsonl_record_option_overrides_flag() -> None:
    """A record's own "sentences" wins over --sentences; records without it follow the flag."""
    text = (INBOX / PIPELINE).read_text(encoding="utf-8")
    records = jsonl({"id": "flag", "text": text}, {"id": "own", "text": text, "sentences": 1})
    result = run("summarize", "--sentences", "2", "--jsonl", "-", input=records)
    assert result.exit_code == 0, result.stderr
    flag, own = objects(result)
    assert (flag["id"], len(flag["summary"])) == ("flag", 2)
    assert (own["id"], len(own["summary"])) == ("own", 1)
    assert all(s in text for s in flag["summary"] + own["summary"])


def test_summarize_bad_record_option_is_an_error_in_place() -> None:
    """A record with "sentences": 0 gets an error object, the next record is still summarized, exit 1."""
    text = (INBOX / PIPELINE).read_text(encoding="utf-8")
    result = run("summarize", "--jsonl", "-", input=jsonl({"id": "zero", "text": text, "sentences": 0},
                                                          {"id": "ok", "text": text}))
    assert result.exit_code == 1
    zero, ok = objects(result)
    assert zero["id"] == "zero" and "error" in zero
    assert ok["id"] == "ok" and ok["summary"]


# --- relevance -----------------------------------------------------------------------

def test_relevance_on_inbox_separates_on_and_off_topic() -> None:
    """The storm story is not relevant, the Power of Siberia 2 story is, and evidence has term/side/where/weight."""
    result = run("relevance", "--topic", TOPIC, INBOX)
    assert result.exit_code == 0, result.stderr
    out = {Path(o["id"]).name: o for o in objects(result)}
    assert list(out) == sorted(p.name for p in INBOX.iterdir())
    assert out[STORM]["relevant"] is False
    assert out[PIPELINE]["relevant"] is True
    assert out[PIPELINE]["score"] > out[STORM]["score"]
    assert out[PIPELINE]["evidence"]
    for o in out.values():
        assert {"id", "score", "relevant", "evidence"} <= set(o) <= {"id", "score", "relevant", "evidence", "language", "reason"}
        assert 0.0 <= o["score"] <= 1.0
        for e in o["evidence"]:
            assert set(e) == {"term", "side", "where", "weight"}
            assert isinstance(e["term"], str) and isinstance(e["side"], str) and isinstance(e["where"], str)
            assert isinstance(e["weight"], (int, float))


def test_relevance_without_config_uses_bundled_topic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no --topic and no config file in reach, relevance falls back to the bundled topic."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BRIEFING_CONFIG", raising=False)
    implicit = run("relevance", INBOX / PIPELINE, INBOX / STORM)
    explicit = run("relevance", "--topic", TOPIC, INBOX / PIPELINE, INBOX / STORM)
    assert implicit.exit_code == 0, implicit.stderr
    assert objects(implicit) == objects(explicit)


# --- dedupe ------------------------------------------------------------------------------

def test_dedupe_inbox_groups_the_repost() -> None:
    """dedupe prints one object; the yuan-ruble repost and its original share a duplicates group."""
    result = run("dedupe", INBOX)
    assert result.exit_code == 0, result.stderr
    [out] = objects(result)
    assert set(out) == {"duplicates", "stories"}
    original, repost = (str(INBOX / n) for n in ("2026-11-10-yuan-ruble-trade-settlement.txt",
                                                  "2026-11-11-ruble-yuan-payments-repost.txt"))
    assert any({original, repost} <= set(group) for group in out["duplicates"])
    in_stories = [i for story in out["stories"] for i in story]
    assert sorted(in_stories) == sorted(str(p) for p in INBOX.iterdir())  # each document in one story


def test_dedupe_reports_bad_records_and_exits_1() -> None:
    """dedupe keeps going past a bad record, lists it under "errors", and exits 1."""
    result = run("dedupe", "--jsonl", "-", input=jsonl({"id": "a", "text": "Russia and China met on Monday."},
                                                       "{broken"))
    assert result.exit_code == 1
    [out] = objects(result)
    assert out["stories"] == [["a"]] and out["duplicates"] == []
    assert [e["id"] for e in out["errors"]] == ["line 2"]


# --- usage and docs -------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    [],
    ["extract"],
    ["summarize", "--sentences", "0", str(INBOX / PIPELINE)],
    ["dedupe", str(INBOX / PIPELINE), "--jsonl", "-"],
], ids=["no-arguments", "no-input", "bad-option", "paths-and-jsonl"])
def test_bad_usage_exits_2_with_empty_stdout(args: list[str]) -> None:
    """Bad usage exits with code 2 and writes nothing to stdout."""
    result = run(*args, input="")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Usage" in result.stderr


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_help_has_an_example(name: str) -> None:
    """Every command's --help works and shows an example (docs test)."""
    result = run(name, "--help")
    assert result.exit_code == 0
    assert main.commands[name].help and "Example" in main.commands[name].help
    assert "Example" in result.stdout
