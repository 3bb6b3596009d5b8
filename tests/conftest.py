"""Shared fixtures and helpers: one Prefect temporary server per session, paths to shared data,
loopback SMTP servers, articles made from a text, a store from before the later migrations."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from briefing.extract import article_id, content_hash
from briefing.store import Store
from briefing.types import Article

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BRIEFING_SHARED_DIR", ROOT.parent / "shared"))
SEEDS = SHARED / "seeds"
INBOX = ROOT / "examples" / "inbox"
TOPIC = ROOT / "config" / "topics" / "russia_china.yaml"
NOW = datetime(2026, 11, 26, 6, tzinfo=timezone.utc)

# The files that take longest, longest first. `make test` runs two pytest-xdist workers, each file whole on one
# of them (--dist loadfile: a module's fixtures are made once); a worker takes the next file when it is nearly
# done, so starting with the long ones keeps both busy to the end instead of leaving one to finish a long file
# alone. A file missing here only runs later; a new slow one belongs here (see `make test`'s --durations).
LONGEST_FIRST = ("test_lifetime.py", "test_secrets.py", "test_schedule.py", "test_runners.py", "test_crash.py",
                 "test_dead_hosts.py", "test_cli.py", "test_wheel.py", "test_flows.py", "test_email.py",
                 "test_properties.py", "test_feed_fixtures.py", "test_errors.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, the long files are handed out first (the sort is stable: the rest keep their order)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
        items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def free_port() -> int:
    """A loopback TCP port nothing listens on (yet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_article(text: str, source: str = "wire", *, title: str = "T", location: str | None = None,
                 first_seen: datetime = NOW, published: datetime | None = None) -> Article:
    """The Article extraction would make of this text: id and hash from the text, as the store sees them.

    ``location`` defaults to a URL of its own per text and source, so two texts are never one document.
    """
    digest = content_hash(text)
    where = location if location is not None else f"https://{source}.example/{digest[:8]}"
    return Article(article_id(source, digest), source, where, title, text, digest, first_seen, published)


@pytest.fixture(scope="session")
def seeds() -> list[Path]:
    files = sorted(SEEDS.glob("*.txt"))
    if not files:
        pytest.fail(f"shared seeds not found at {SEEDS} (CI always has ../shared)")
    return files


@pytest.fixture(scope="session")
def prefect_server():
    """The real Prefect temporary server, started once for the whole session (per pytest-xdist worker).

    Started as ``flows.server.OwnedServer``, which holds its port from before uvicorn starts: Prefect's harness
    picks a free port and lets uvicorn bind it later, so two workers starting at once could pick the same one
    and share a server. It also ends with the session's process, however that ends.
    """
    from prefect.testing import utilities

    from flows.server import OwnedServer

    harness = utilities.prefect_test_harness(server_startup_timeout=120)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(utilities, "SubprocessASGIServer", OwnedServer)
        harness.__enter__()
    try:
        yield
    finally:
        harness.__exit__(None, None, None)


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
    port = free_port()
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


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store on a real SQLite file, and on the throwaway PostgreSQL server (a module's own ``store`` wins)."""
    url = (f"sqlite:///{tmp_path / 'briefing.sqlite'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    with closing(Store(url)) as opened:
        yield opened


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database on the session's PostgreSQL server."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_server.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"


# --- SMTP ------------------------------------------------------------------------------

class Inbox:
    """What a loopback SMTP server was sent: (recipients, message) per mail, and each envelope sender."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.senders: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.senders.append(envelope.mail_from)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., tuple[Inbox, int]]]:
    """Start a real SMTP server on loopback: ``inbox, port = smtp_server()``; each stops when the test ends.

    ``port``: the port to listen on (one a config already names, e.g. after a run against no server);
    ``inbox``: the handler (an Inbox that misbehaves); other keywords go to aiosmtpd's Controller
    (``tls_context=``, ``authenticator=`` ...).
    """
    controllers: list[Controller] = []

    def start(port: int | None = None, inbox: Inbox | None = None, **options: Any) -> tuple[Inbox, int]:
        handler = Inbox() if inbox is None else inbox
        port = port or free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return handler, port

    yield start
    for controller in reversed(controllers):
        controller.stop()


# --- stores ------------------------------------------------------------------------------

@pytest.fixture
def legacy_store(tmp_path: Path) -> Path:
    """A SQLite store made when 0001_initial was the only migration (no digest kinds, locks, teasers or
    outlets), holding one delivered digest: id 1, 2026-11-01 07:00 to 11-02 07:00, 4 stories, 9 articles."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE migrations (name VARCHAR(100) PRIMARY KEY, applied DATETIME NOT NULL);
            INSERT INTO migrations VALUES ('0001_initial', '2026-11-01 00:00:00');
            CREATE TABLE articles (id VARCHAR(40) PRIMARY KEY, source VARCHAR(200) NOT NULL, location TEXT NOT NULL,
                title TEXT NOT NULL, text TEXT NOT NULL, content_hash VARCHAR(64) NOT NULL, published DATETIME,
                first_seen DATETIME NOT NULL);
            CREATE INDEX ix_articles_first_seen ON articles (first_seen);
            CREATE TABLE digests (id INTEGER PRIMARY KEY AUTOINCREMENT, window_start DATETIME NOT NULL,
                window_end DATETIME NOT NULL, created DATETIME NOT NULL, delivered BOOLEAN NOT NULL,
                delivered_at DATETIME, archive_path TEXT, stories INTEGER NOT NULL, articles INTEGER NOT NULL);
            INSERT INTO digests VALUES (1, '2026-11-01 07:00:00', '2026-11-02 07:00:00', '2026-11-02 07:00:00',
                1, '2026-11-02 07:00:00', 'd.html', 4, 9);
        """)
    conn.close()  # the connection's `with` commits but does not close
    return path
