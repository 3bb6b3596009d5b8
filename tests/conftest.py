"""Shared fixtures: one Prefect temporary server per session, paths to shared data."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
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
        pytest.fail(f"shared seeds not found at {SEEDS} (CI always has ../shared)")
    return files


@pytest.fixture(scope="session")
def prefect_server():
    """The real Prefect temporary server, started once for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server on loopback (Debian's binaries), for the whole session; else skip."""
    initdbs = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not initdbs:
        pytest.skip("PostgreSQL server binaries not installed (/usr/lib/postgresql/*/bin)")
    bindir = initdbs[-1].parent
    home = Path(tempfile.mkdtemp(prefix="briefing-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(home, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = home / "data"
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
                   check=True, capture_output=True)
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w", "-o", options,
                    "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database on the session's PostgreSQL server."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_server.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"
