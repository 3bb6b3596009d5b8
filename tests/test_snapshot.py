"""The bundled sample inbox's digest, HTML and text, byte for byte: refactors must not change what readers get.

The clock is pinned and the articles go through a real SQLite store, as in a
run. After a change that is meant to alter the digest, regenerate with
``BRIEFING_UPDATE_SNAPSHOTS=1 pytest tests/test_snapshot.py`` and read the diff.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from briefing.config import load_config
from briefing.digest import Window, build_digest
from briefing.ingest import extract_outcome
from briefing.outlets import registry_for
from briefing.relevance import load_topic
from briefing.render import render
from briefing.sources import FetchState, make_source
from briefing.store import Store

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = Path(__file__).parent / "data" / "snapshots"
NOW = datetime(2026, 11, 20, 7, 0, tzinfo=timezone.utc)


def _sample_digest(tmp_path: Path) -> tuple[str, str, str]:
    config = load_config(ROOT / "config" / "briefing.yaml").model_copy(update={"state_dir": tmp_path / "state"})
    registry = registry_for(config)  # the sample inbox's outlets and blocs, as a run reads them
    outcome = make_source(config.sources[0]).fetch(FetchState())
    extracted = extract_outcome(outcome, NOW, registry)
    assert extracted.articles and not extracted.skipped
    store = Store.for_config(config)
    try:
        store.upsert_articles(extracted.articles)
        window = Window(NOW - timedelta(days=config.digest.first_window_days), NOW + timedelta(seconds=1))
        articles = store.articles_seen_between(window.start, window.end)
    finally:
        store.close()
    digest = build_digest(articles, load_topic(config.topic), config.digest, window, NOW + timedelta(seconds=1),
                          dedupe=config.dedupe, registry=registry)
    rendered = render(digest, config.digest.max_stories)
    return rendered.html, rendered.text, rendered.subject


def test_sample_inbox_digest_is_unchanged(tmp_path: Path) -> None:
    html, text, subject = _sample_digest(tmp_path)
    got = {"sample-digest.html": html, "sample-digest.txt": text, "sample-digest.subject": subject + "\n"}
    if os.environ.get("BRIEFING_UPDATE_SNAPSHOTS"):
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        for name, body in got.items():
            (SNAPSHOTS / name).write_text(body, encoding="utf-8")
    for name, body in got.items():
        want = (SNAPSHOTS / name).read_text(encoding="utf-8")
        assert body == want, f"{name} differs from tests/data/snapshots/{name}"
    assert text.count("\n") > 20 and "<html" in html.lower()
