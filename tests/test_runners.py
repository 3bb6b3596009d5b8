"""The digest on a local Dask cluster: the same digest, byte for byte, as on the default thread runner."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from conftest import INBOX, TOPIC

pytestmark = pytest.mark.usefixtures("prefect_server")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def write_config(tmp_path: Path, name: str, **extra: object) -> str:
    config = {"state_dir": "state", "archive_dir": f"archive-{name}", "topic": str(TOPIC),
              "sources": [{"name": "inbox", "folder": str(INBOX)}], **extra}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


def digest_bytes(path: Path, config: str) -> bytes:
    """The archived file with the config's path (which the footer names) put aside: two configs, one digest."""
    data = path.read_bytes()
    for form in {config, str(Path(config).resolve())}:
        data = data.replace(form.encode(), b"CONFIG")
    return data


def test_dask_and_threads_make_the_same_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backfill composed on a local Dask cluster (2 worker processes, batches of 3) equals the default one."""
    import flows.digest as digest_module
    from flows.ingest import ingest_flow

    monkeypatch.setattr(digest_module, "_now", lambda: NOW)  # the page says when it was made
    threads = write_config(tmp_path, "threads", runner={"batch_size": 3})
    dask = write_config(tmp_path, "dask", runner={"kind": "dask", "workers": 2, "batch_size": 3})
    ingest_flow(threads)
    window = {"since": "2026-11-01", "until": "2026-11-27"}
    one = digest_module.digest_flow(threads, **window)
    two = digest_module.digest_flow(dask, **window)
    assert one.status == two.status == "backfill" and one.stories >= 5
    assert digest_bytes(one.path, threads) == digest_bytes(two.path, dask)
    assert digest_bytes(one.path.with_suffix(".txt"), threads) == digest_bytes(two.path.with_suffix(".txt"), dask)
    assert threads.encode() in one.path.read_bytes() or str(Path(threads).resolve()).encode() in one.path.read_bytes()
    assert one.path.parent != two.path.parent


def test_progress_reports_every_stage_to_the_end(tmp_path: Path) -> None:
    """The flows report each stage up to done == total; `--progress` draws them and still prints the path."""
    from click.testing import CliRunner

    from briefing.cli import main
    from flows.briefing import briefing_flow
    from flows.progress import listen

    config = write_config(tmp_path, "progress")
    seen: dict[str, tuple[int, int]] = {}
    with listen(lambda stage, done, total: seen.__setitem__(stage, (done, total))):
        result = briefing_flow(config)
    assert result.status == "archived"
    assert set(seen) == {"fetch", "extract", "relevance", "stories", "write-ups", "render"}
    assert all(done == total for done, total in seen.values()), seen
    assert seen["relevance"] == (13, 13) and seen["write-ups"] == (result.stories, result.stories)

    cli = CliRunner().invoke(main, ["digest", "--config", config, "--since", "2026-11-01", "--progress"])
    assert cli.exit_code == 0, cli.output
    assert "backfill-" in cli.stdout and "relevance" in cli.stderr


def test_dask_workers_on_a_postgres_store_make_the_same_digest(tmp_path: Path, postgres_url: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The several-machines set-up: store on PostgreSQL, compose on Dask; same bytes as SQLite and threads."""
    import flows.digest as digest_module
    from briefing.store import Store
    from flows.ingest import ingest_flow

    monkeypatch.setattr(digest_module, "_now", lambda: NOW)
    local = write_config(tmp_path, "local")
    shared = write_config(tmp_path, "shared", store_url=postgres_url,
                          runner={"kind": "dask", "workers": 2, "batch_size": 3})
    ingest_flow(local)
    assert [h.new for h in ingest_flow(shared)] == [13]
    window = {"since": "2026-11-01", "until": "2026-11-27"}
    one, two = digest_module.digest_flow(local, **window), digest_module.digest_flow(shared, **window)
    assert one.status == two.status == "backfill"
    assert digest_bytes(one.path, local) == digest_bytes(two.path, shared)
    store = Store(postgres_url)
    try:
        assert store.count_articles() == 13 and [d.kind for d in store.digests()] == ["backfill"]
    finally:
        store.close()
    assert not (tmp_path / "state" / "briefing.sqlite").exists() or Store.open_dir(tmp_path / "state").digests()
