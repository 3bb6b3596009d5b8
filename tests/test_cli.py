"""Stage commands per STAGE-CLI.md: JSON Lines on stdout, errors in place, exit codes, help examples."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import INBOX, ROOT, TOPIC

from briefing.cli import main

STORM = "2026-11-22-storm-closes-coast-road.txt"
PIPELINE = "2026-11-03-power-of-siberia-2-talks.txt"


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
        assert set(o) == {"id", "path", "title", "published", "outlet", "lang", "text"}
        assert o["lang"] == "en"
        assert o["path"] == o["id"]
        assert o["title"].strip() and o["text"].strip()
        assert o["published"] is None or isinstance(o["published"], str)


def test_extract_jsonl_bad_records_become_errors_in_place() -> None:
    """A non-JSON line and a record with neither text nor title become {"id", "error"} in place; exit code 1."""
    good = {"id": "good", "title": "Gas talks", "text": "Russia and China resumed gas talks on Monday."}
    result = run("extract", "--jsonl", "-", input=jsonl(good, "this is not json",
                                                        {"id": "no-text", "text": " ", "title": ""}))
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


def test_a_path_of_another_kind_is_an_error_in_place_not_a_traceback(tmp_path: Path) -> None:
    """`briefing relevance x.jsonl` (forgot --jsonl) names the mistake; the other paths are still read."""
    records = tmp_path / "records.jsonl"
    records.write_text('{"id": "a", "text": "x"}\n', encoding="utf-8")
    (tmp_path / "notes.csv").write_text("a,b\n", encoding="utf-8")
    result = run("relevance", str(records), str(tmp_path / "notes.csv"), str(INBOX))
    assert result.exit_code == 1 and "Traceback" not in result.output
    out = objects(result)
    assert out[0] == {"id": str(records), "error": out[0]["error"]} and "--jsonl" in out[0]["error"]
    assert "--jsonl" not in out[1]["error"] and ".txt" in out[1]["error"]
    assert len(out) > 2 and all("error" not in o for o in out[2:])


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
        assert {"id", "score", "relevant", "evidence"} <= set(o) <= {"id", "score", "relevant", "evidence", "language",
                                                                    "reason"}
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


# --- a headline alone is a document (STAGE-CLI) ----------------------------------------------------------

HEADLINE = {"id": "headline", "title": "Xi Jinping and Vladimir Putin sign gas deal in Moscow"}
BODY = {"id": "body", "text": "Heavy rain closed the coast road on Monday. Crews cleared it by the evening."}


def test_a_headline_alone_goes_through_every_stage() -> None:
    """A record with a title and no text is a document for extract, relevance, summarize and dedupe: no error."""
    records = jsonl(HEADLINE, BODY)
    extracted = run("extract", "--jsonl", "-", input=records)
    assert extracted.exit_code == 0, extracted.stdout
    headline, body = objects(extracted)
    assert (headline["id"], headline["title"], headline["text"], headline["lang"]) == (
        "headline", HEADLINE["title"], "", "en")
    assert body["text"] == BODY["text"]

    scored = run("relevance", "--topic", TOPIC, "--jsonl", "-", input=records)
    assert scored.exit_code == 0, scored.stdout
    headline, body = objects(scored)
    assert headline["relevant"] is True and {e["where"] for e in headline["evidence"]} >= {"title"}
    assert body["relevant"] is False

    summaries = run("summarize", "--jsonl", "-", input=records)
    assert summaries.exit_code == 0, summaries.stdout
    headline, body = objects(summaries)
    assert headline == {"id": "headline", "summary": []}  # verbatim sentences only: a headline has none
    assert body["summary"] and all(sent in BODY["text"] for sent in body["summary"])

    grouped = run("dedupe", "--jsonl", "-", input=records + jsonl({**HEADLINE, "id": "other", "title": "Storm ends"}))
    assert grouped.exit_code == 0, grouped.stdout
    [out] = objects(grouped)
    assert sorted(i for story in out["stories"] for i in story) == ["body", "headline", "other"]
    assert out["duplicates"] == []  # two headlines with no text are not one text


def test_extract_lang_names_russian_and_chinese() -> None:
    result = run("extract", "--jsonl", "-", input=jsonl(
        {"id": "ru", "text": "Россия и Китай договорились расширить торговлю зерном через новый мост."},
        {"id": "zh", "text": "中俄两国同意通过新大桥扩大粮食贸易，首批列车将于下月发车。"}))
    assert result.exit_code == 0, result.stdout
    assert [o["lang"] for o in objects(result)] == ["ru", "zh"]



def test_a_records_outlet_and_lang_are_heeded() -> None:
    """STAGE-CLI's "outlet" names the article's outlet; "lang" is the language relevance scores it in."""
    text = "Russia and China agreed on Monday to extend their grain corridor, officials in Moscow said."
    result = run("extract", "--jsonl", "-", input=jsonl(
        {"id": "a", "text": text, "outlet": "tass"}, {"id": "b", "text": text},
        {"id": "c", "text": text, "outlet": 7}))
    out = objects(result)
    assert out[0]["outlet"] == "TASS" and out[1]["outlet"] is None, out
    assert out[2] == {"id": "c", "error": "'outlet' is not a string"}
    result = run("relevance", "--jsonl", "-", input=jsonl(
        {"id": "a", "text": text}, {"id": "b", "text": text, "lang": "de-DE"}))
    first, second = objects(result)
    assert first["language"] == "en" and first["relevant"], first
    assert second["language"] == "de" and not second["relevant"] and second["reason"], second

# --- the README's stage commands, on examples/ ----------------------------------------------------------

def readme_stage_lines() -> list[str]:
    """The README's `.venv/bin/briefing <stage>` lines, as written (comments included)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [line for block in blocks for line in block.splitlines()
            if re.match(r"\.venv/bin/briefing (extract|relevance|summarize|dedupe)\b", line)]


def test_readme_names_every_example_file() -> None:
    """Each stage command has a line in the README, and each examples/*.jsonl is used by one."""
    lines = readme_stage_lines()
    assert {line.split()[1] for line in lines} == {"extract", "relevance", "summarize", "dedupe"}
    examples = sorted(p.name for p in (ROOT / "examples").glob("*.jsonl"))
    assert examples == ["dedupe.jsonl", "extract.jsonl", "relevance.jsonl", "summarize.jsonl"]
    for name in examples:
        assert any(f"examples/{name}" in line for line in lines), name
        records = [json.loads(line) for line in (ROOT / "examples" / name).read_text(encoding="utf-8").splitlines()]
        assert any(not r.get("text") and r.get("title") for r in records), f"{name}: no headline-only record"


@pytest.mark.parametrize("line", readme_stage_lines())
def test_readme_stage_command_runs_as_written(line: str) -> None:
    """The line runs from the checkout (its `.venv/bin/` being this interpreter's): JSON Lines, exit 0, no errors."""
    command = str(Path(sys.executable).parent) + "/" + line.removeprefix(".venv/bin/")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFING_")}
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = [json.loads(row) for row in proc.stdout.splitlines()]
    assert out and all(isinstance(o, dict) and "error" not in o and "errors" not in o for o in out)
    match = re.search(r"--jsonl (\S+)", line)
    if not match:
        return
    records = [json.loads(row) for row in (ROOT / match.group(1)).read_text(encoding="utf-8").splitlines()]
    ids = [r["id"] for r in records]
    if line.split()[1] == "dedupe":
        [groups] = out
        assert sorted(i for story in groups["stories"] for i in story) == sorted(ids)
        assert groups["duplicates"], "the example's reprint is not found"
    else:
        assert [o["id"] for o in out] == ids
    if line.split()[1] == "summarize":
        texts = {r["id"]: r.get("text", "") for r in records}
        assert all(sent in texts[o["id"]] for o in out for sent in o["summary"])


# --- flow commands: how a run went ------------------------------------------------------------------------

def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("command", ["ingest", "run"])
def test_every_source_failing_exits_1_naming_each(tmp_path: Path, command: str) -> None:
    """When every source failed, `ingest` and `run` exit 1 with one stderr line per source and its reason."""
    from prefect.settings import PREFECT_API_URL

    port = closed_port()
    (tmp_path / "briefing.yaml").write_text(
        f"sources:\n  - {{name: dead-a, feed: 'http://127.0.0.1:{port}/a.xml'}}\n"
        f"  - {{name: dead-b, feed: 'http://127.0.0.1:{port}/b.xml'}}\nfetch: {{retries: 0}}\n", encoding="utf-8")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BRIEFING_")},
           "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    proc = subprocess.run([str(Path(sys.executable).parent / "briefing"), command, "--config", "briefing.yaml"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    failures = [line for line in proc.stderr.splitlines() if line.startswith("error: source ")]
    assert [line.split()[2] for line in failures] == ["dead-a", "dead-b"]
    assert all("failed: " in line and "Connect" in line for line in failures), failures


def test_serve_gives_prefect_whole_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Served runs read the retry delay as whole seconds, so Prefect's int `retry_delay` serializes without warning."""
    import flows.deployments as deployments
    from briefing.config import load_config

    monkeypatch.setenv("PREFECT_FLOWS_DEFAULT_RETRIES", "0")  # restored after the test: serve_all sets both
    monkeypatch.setenv("PREFECT_FLOWS_DEFAULT_RETRY_DELAY_SECONDS", "0")
    monkeypatch.setattr(deployments, "serve", lambda *d: None)
    monkeypatch.setattr(deployments, "PREFECT_API_URL", type("S", (), {"value": staticmethod(lambda: "http://x/api")}))
    deployments.serve_all(load_config(ROOT / "config" / "briefing.yaml"))
    delay = os.environ["PREFECT_FLOWS_DEFAULT_RETRY_DELAY_SECONDS"]
    probe = ("import warnings\n"
             "from prefect.client.schemas.objects import FlowRunPolicy\n"
             "from flows.digest import digest_flow\n"
             "policy = FlowRunPolicy(); policy.retry_delay = digest_flow.retry_delay_seconds  # as a served run does\n"
             "with warnings.catch_warnings(record=True) as caught:\n"
             "    warnings.simplefilter('always')\n"
             "    policy.model_dump(mode='json')\n"
             "print([str(w.message) for w in caught])\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PREFECT_FLOWS_DEFAULT_RETRY_DELAY_SECONDS": delay}, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (delay, proc.stdout.strip().splitlines()[-1]) == ("300", "[]")


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
