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
    assert one.path.read_bytes() == two.path.read_bytes()
    assert one.path.with_suffix(".txt").read_bytes() == two.path.with_suffix(".txt").read_bytes()
    assert one.path.parent != two.path.parent
