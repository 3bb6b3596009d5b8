"""`briefing feeds import` (OPML) and `briefing feeds check` against a real loopback server."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner
from conftest import TOPIC

from briefing.cli import main
from briefing.config import load_config

OPML = """<?xml version="1.0"?><opml version="2.0"><head><title>subs</title></head><body>
<outline text="World"><outline text="Example Wire" type="rss" xmlUrl="{a}"/>
<outline title="Other Desk" xmlUrl="{b}"/><outline text="a folder, no feed"/></outline>
<outline text="Example Wire" xmlUrl="https://example.org/world.xml?utm_source=opml"/></body></opml>"""


def setup(tmp_path: Path, a: str, b: str) -> tuple[Path, Path]:
    config = tmp_path / "briefing.yaml"
    config.write_text(yaml.safe_dump({"topic": str(TOPIC), "sources": [
        {"name": "own", "feed": "https://example.org/world.xml"}]}), encoding="utf-8")
    opml = tmp_path / "subs.opml"
    opml.write_text(OPML.format(a=a, b=b), encoding="utf-8")
    return config, opml


def test_import_adds_new_feeds_once_with_unique_names(tmp_path: Path) -> None:
    """OPML feeds land in feeds.yaml with unique names; known URLs (canonically equal) are not repeated."""
    config, opml = setup(tmp_path, "https://a.example/rss", "https://b.example/atom")
    runner = CliRunner()
    first = runner.invoke(main, ["feeds", "import", str(opml), "--config", str(config)])
    assert first.exit_code == 0, first.output
    loaded = load_config(config, environ={})
    assert [(s.name, s.feed) for s in loaded.sources] == [
        ("own", "https://example.org/world.xml"), ("example-wire", "https://a.example/rss"),
        ("other-desk", "https://b.example/atom")]
    again = runner.invoke(main, ["feeds", "import", str(opml), "--config", str(config)])
    assert again.exit_code == 0 and "0 feeds added, 3 already configured" in again.stderr
    assert len(load_config(config, environ={}).sources) == 3


def test_import_rejects_non_opml(tmp_path: Path) -> None:
    """A file that is not OPML is a config error (exit 2) naming the file."""
    config, _ = setup(tmp_path, "https://a.example/rss", "https://b.example/atom")
    bad = tmp_path / "bad.opml"
    bad.write_text("<html><body>nope</body></html>", encoding="utf-8")
    result = CliRunner().invoke(main, ["feeds", "import", str(bad), "--config", str(config)])
    assert result.exit_code == 2 and str(bad) in result.stderr


def test_check_prints_status_table(httpserver, tmp_path: Path) -> None:
    """feeds check fetches each feed once and prints status, items, last-modified, error; exit 1 on failure."""
    httpserver.expect_request("/ok.xml").respond_with_data(
        '<rss version="2.0"><channel><title>t</title><item><guid>1</guid><title>A</title>'
        "<description>Text of the item.</description></item></channel></rss>",
        content_type="application/rss+xml", headers={"Last-Modified": "Tue, 24 Nov 2026 08:00:00 GMT"})
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=404)
    config = tmp_path / "briefing.yaml"
    config.write_text(yaml.safe_dump({"topic": str(TOPIC), "fetch": {"retries": 0}, "sources": [
        {"name": "good", "feed": httpserver.url_for("/ok.xml")},
        {"name": "bad", "feed": httpserver.url_for("/gone.xml")}]}), encoding="utf-8")
    result = CliRunner().invoke(main, ["feeds", "check", "--config", str(config)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["feed", "status", "items", "last-modified", "error"]
    assert lines[1].split()[:3] == ["good", "ok", "1"] and "Tue, 24 Nov 2026 08:00:00 GMT" in lines[1]
    assert lines[2].split()[:3] == ["bad", "failed", "0"] and lines[2].endswith("HTTP 404 Not Found")
