"""Shared fixtures: one Prefect temporary server per session, paths to shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BRIEFING_SHARED_DIR", ROOT.parent / "shared"))
SEEDS = SHARED / "seeds"
INBOX = ROOT / "examples" / "inbox"
TOPIC = ROOT / "config" / "topics" / "russia_china.yaml"


@pytest.fixture(scope="session")
def seeds() -> list[Path]:
    files = sorted(SEEDS.glob("*.txt"))
    if not files:
        pytest.skip(f"shared seeds not found at {SEEDS}")
    return files


@pytest.fixture(scope="session")
def prefect_server():
    """The real Prefect temporary server, started once for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
