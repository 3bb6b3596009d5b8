"""The flows end to end on the real Prefect temporary server, a real SQLite file and a real SMTP server."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import INBOX, TOPIC, free_port

from briefing.store import Store

pytestmark = pytest.mark.usefixtures("prefect_server")


def write_config(tmp_path: Path, folder: Path, **extra: object) -> str:
    config = {"state_dir": "state", "archive_dir": "archive", "topic": str(TOPIC),
              "sources": [{"name": "inbox", "folder": str(folder)}], **extra}
    path = tmp_path / "briefing.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


def test_samples_digest_then_nothing_new(tmp_path: Path) -> None:
    """make-run path: a digest of the on-topic samples, near-duplicates merged; a rerun makes none."""
    from flows.briefing import briefing_flow

    config = write_config(tmp_path, INBOX)
    first = briefing_flow(config)
    assert first.status == "archived" and first.path is not None and first.path.exists()
    html = first.path.read_text(encoding="utf-8")
    text = first.path.with_suffix(".txt").read_text(encoding="utf-8")
    assert "Strong winds and heavy rain" not in text, "off-topic storm story is left out"
    assert "EU ministers agree to shift farm subsidies" not in text, "passing mention is left out"
    # head + coverage (the text part wraps at 72 columns, so a long title may break across lines)
    assert " ".join(text.split()).count("Russia and China move almost all bilateral trade into rubles and yuan") == 2
    assert "Also published by" in text
    assert "<table" in html and 'style="' in html and "<style" not in html.split("</head>")[1]
    index = (tmp_path / "archive" / "index.html").read_text(encoding="utf-8")
    assert first.path.name in index

    second = briefing_flow(config)
    assert second.status == "empty"
    assert sorted(p.name for p in (tmp_path / "archive").glob("digest-*.html")) == [first.path.name]


def test_seeds_digest_has_all_five_clean(tmp_path: Path, seeds: list[Path]) -> None:
    """The five seeds: one digest with all five, no debris; a second run ingests 0 and makes no digest."""
    from flows.briefing import briefing_flow
    from flows.ingest import ingest_flow

    config = write_config(tmp_path, seeds[0].parent)
    result = briefing_flow(config)
    assert result.status == "archived" and result.articles == 5
    text = result.path.with_suffix(".txt").read_text(encoding="utf-8")
    html = result.path.read_text(encoding="utf-8")
    for stamp in ("21 Jan 2021", "23 Jan 2020", "9 Jul 2020", "4 Sep 2016"):
        assert stamp in text
    for debris in ("Listen Live", "Get short URL", "Community standards", "Leave a Reply", "Post a Comment",
                   "68.3%", "award-winning", "Real Agenda News is independent"):
        assert debris not in text and debris not in html
    store = Store.open_dir(tmp_path / "state")
    assert store.count_articles() == 5
    store.close()

    healths = ingest_flow(config)
    assert [(h.status, h.new) for h in healths] == [("ok", 0)]
    assert briefing_flow(config).status == "empty"


def test_manual_window_dry_run_records_nothing(tmp_path: Path) -> None:
    """digest --since/--until --dry-run: text on return, no archive, no ledger entry."""
    from flows.digest import digest_flow
    from flows.ingest import ingest_flow

    config = write_config(tmp_path, INBOX)
    ingest_flow(config)
    result = digest_flow(config, since="2000-01-01T00:00:00Z", dry_run=True)
    assert result.status == "dry-run" and "Power of Siberia 2 talks resume" in (result.text or "")
    assert not (tmp_path / "archive").exists()
    store = Store.open_dir(tmp_path / "state")
    assert store.digests() == []
    store.close()
    empty = digest_flow(config, since="2000-01-01T00:00:00Z", until="2000-01-02T00:00:00Z", dry_run=True)
    assert empty.status == "empty"


def test_delivery_over_smtp(tmp_path: Path, smtp_server) -> None:
    """With email configured the digest goes out as text + HTML alternatives and is ledgered delivered."""
    from flows.briefing import briefing_flow

    handler, port = smtp_server()
    config = write_config(tmp_path, INBOX, email={
        "sender": "briefing@example.org", "to": ["analyst@example.org", "desk@example.org"],
        "smtp_host": "127.0.0.1", "smtp_port": port, "security": "none"})
    result = briefing_flow(config)
    assert result.status == "delivered"
    assert len(handler.messages) == 1
    sender, (rcpts, msg) = handler.senders[0], handler.messages[0]
    assert sender == "briefing@example.org" and rcpts == ["analyst@example.org", "desk@example.org"]
    assert msg["Subject"].startswith("Russia–China Relations Digest") or "Digest" in msg["Subject"]
    types = [part.get_content_type() for part in msg.walk()]
    assert "text/plain" in types and "text/html" in types
    store = Store.open_dir(tmp_path / "state")
    last = store.last_delivered()
    store.close()
    assert last is not None and last.delivered and last.stories == result.stories


def test_undelivered_digest_keeps_its_window_open(tmp_path: Path) -> None:
    """SMTP down: the digest is archived, the flow fails loudly, and the next run covers the window again."""
    from briefing.exceptions import DeliveryError
    from flows.briefing import briefing_flow

    config = write_config(tmp_path, INBOX, email={
        "sender": "briefing@example.org", "to": ["analyst@example.org"], "smtp_host": "127.0.0.1",
        "smtp_port": free_port(), "security": "none", "retries": 1, "retry_delay_seconds": 0,
        "timeout_seconds": 5})
    with pytest.raises(DeliveryError):
        briefing_flow(config)
    store = Store.open_dir(tmp_path / "state")
    [record] = store.digests()
    assert not record.delivered and Path(record.archive_path).exists()
    assert store.last_delivered() is None
    store.close()


def test_missing_folder_is_reported_not_fatal(tmp_path: Path) -> None:
    """A source that cannot be read is a failed source in the health report; the others still ingest."""
    from flows.ingest import ingest_flow

    config = {"state_dir": "state", "archive_dir": "archive", "topic": str(TOPIC),
              "sources": [{"name": "gone", "folder": str(tmp_path / "nope")},
                          {"name": "inbox", "folder": str(INBOX)}]}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    healths = {h.source: h for h in ingest_flow(str(path))}
    assert healths["gone"].status == "failed" and "not found" in (healths["gone"].error or "")
    assert healths["inbox"].status == "ok" and healths["inbox"].new == 13
