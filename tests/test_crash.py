"""Crash safety: `briefing ingest` and `briefing digest` killed with SIGKILL, then run again.

Each run is the real `briefing` command in a subprocess of its own session,
talking to the session's Prefect server; the whole process group is killed,
so nothing gets to clean up. The store is watched through a read-only SQLite
connection (WAL lets it read while the run writes).

- Ingest killed midway (some batches committed, not all): the rerun takes over
  the dead run's lock and stores every article exactly once; a third run adds nothing.
- Digest killed between render and send (the SMTP server never answers): the
  archive and an undelivered ledger row remain; the rerun delivers one message
  holding every story of the lost one, and a third run sends nothing.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from contextlib import closing
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import lxml.html
import pytest
import yaml
from conftest import INBOX, TOPIC
from test_schedule import BIN, child_env

pytestmark = pytest.mark.usefixtures("prefect_server")

RUN_TIMEOUT = 240  # seconds a `briefing` run may take before the test gives up on it


# --- helpers -------------------------------------------------------------------------

_WORDS = {
    "subject": ["The harbour council", "A regional water board", "The transport ministry", "Local growers",
                "A coalition of shipyards", "The city's planning office", "Rail unions", "A panel of engineers",
                "The provincial assembly", "Fishing cooperatives", "A group of small lenders", "The port authority",
                "Teachers in the valley towns", "The energy regulator", "A consortium of bakeries"],
    "verb": ["approved", "questioned", "postponed", "reworked", "published", "rejected", "funded", "reviewed",
             "extended", "criticised", "endorsed", "measured", "audited", "debated", "mapped"],
    "object": ["a plan to dredge the northern channel", "new limits on night freight", "the budget for bridge repairs",
               "a survey of flood defences", "rules for seasonal workers", "the timetable for the coastal line",
               "a pilot scheme for electric ferries", "the price of grain storage", "a study of river silt",
               "a scheme to reopen the old quarry", "plans for a second grain terminal",
               "the cost of replacing signal boxes", "a register of abandoned wells", "wage talks at the depot"],
    "tail": ["after months of delay", "despite objections from residents", "ahead of the winter season",
             "following a heated session", "with a narrow majority", "for the third year running",
             "under pressure from suppliers", "without setting a date", "in a closed meeting",
             "as costs kept rising", "after an independent review", "while inspectors looked on"],
}


def _sentence(rng: random.Random) -> str:
    return (f"{rng.choice(_WORDS['subject'])} {rng.choice(_WORDS['verb'])} {rng.choice(_WORDS['object'])} "
            f"{rng.choice(_WORDS['tail'])}, according to figure {rng.randrange(10_000, 99_999)}.")


def _article(number: int) -> tuple[str, str]:
    """A distinct made-up article: a title line and three paragraphs of prose."""
    rng = random.Random(number)
    title = (f"{rng.choice(_WORDS['subject'])} {rng.choice(_WORDS['verb'])} {rng.choice(_WORDS['object'])} "
             f"(no. {number})")
    paragraphs = [" ".join(_sentence(rng) for _ in range(rng.randint(2, 4))) for _ in range(3)]
    return title, "\n\n".join(paragraphs)


def make_inbox(folder: Path, count: int, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for n in range(start, start + count):
        title, body = _article(n)
        path = folder / f"{n:06d}.txt"
        path.write_text(f"{title}\n\n{body}\n", encoding="utf-8")
        paths.append(path.resolve())
    return paths


def rss(base: str, count: int, start: int) -> bytes:
    """An RSS feed of ``count`` full-text entries with their own GUIDs and links."""
    from xml.sax.saxutils import escape

    items = []
    for n in range(start, start + count):
        title, body = _article(n)
        html = "".join(f"<p>{escape(p)}</p>" for p in body.split("\n\n"))
        items.append(f"<item><title>{escape(title)}</title><link>{base}/news/{n}</link>"
                     f"<guid isPermaLink=\"false\">crash-test-{n}</guid>"
                     f"<pubDate>Mon, 02 Nov 2026 08:00:00 GMT</pubDate>"
                     f"<description>{escape(html)}</description></item>")
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Wire</title>"
            f"<link>{base}/</link><description>made-up wire</description>{''.join(items)}</channel></rss>").encode()


def write_config(path: Path, **values: Any) -> str:
    config = {"state_dir": "state", "archive_dir": "archive", "topic": str(TOPIC), **values}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


def start(command: str, config: str, log: Path) -> subprocess.Popen[bytes]:
    """`briefing COMMAND` in a session of its own, so its whole process group can be killed."""
    with log.open("wb") as out:
        return subprocess.Popen([str(BIN / "briefing"), command, "--config", config], env=child_env(),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def wait_until(condition: Any, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``condition`` while the run goes on; fail if the run ends first or makes no progress."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while not condition():
        assert proc.poll() is None, f"the run ended early: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"the run made no progress: {log.read_text()[-3000:]}"
        time.sleep(0.05)


def stored_count(conn: sqlite3.Connection | None) -> int:
    """Articles a running ingest has committed so far (0 before the store exists or while it migrates)."""
    if conn is None:
        return 0
    try:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError:  # not migrated yet, or a checkpoint in the way
        return 0


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the run's process group and reap it (a zombie would still look alive to the lock)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def crashed(flow_name: str, config: str) -> int:
    """Mark the killed run's flow run Crashed; returns how many were marked.

    Nothing is left to report a SIGKILLed run's end, so the server shows it Running;
    left so, it would count among the running runs that other tests wait for.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas import filters as f
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    running = f.FlowRunFilter(state=f.FlowRunFilterState(type=f.FlowRunFilterStateType(any_=[StateType.RUNNING])))
    with get_client(sync_client=True) as client:
        runs = [r for r in client.read_flow_runs(flow_filter=f.FlowFilter(name=f.FlowFilterName(any_=[flow_name])),
                                                 flow_run_filter=running)
                if r.parameters.get("config_path") == config]
        for r in runs:
            client.set_flow_run_state(r.id, Crashed(message="killed with SIGKILL by the test"), force=True)
    return len(runs)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(BIN / "briefing"), *args], env=child_env(), capture_output=True, text=True,
                            check=False, timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return result


def read_only(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(read_only(db)) as conn:
        return conn.execute(sql).fetchall()


# --- ingest killed midway ---------------------------------------------------------------

def _kill_ingest_midway(config: str, db: Path, total: int, log: Path) -> tuple[int, int] | None:
    """Start `briefing ingest`, SIGKILL its group once some articles are committed.

    Returns (articles stored at the kill, the killed pid), or None when the run
    finished (or stored everything) before it could be killed.
    """
    proc = start("ingest", config, log)
    conn: sqlite3.Connection | None = None
    killed = False
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        while proc.poll() is None:
            assert time.monotonic() < deadline, f"ingest made no progress: {log.read_text()[-3000:]}"
            if conn is None and db.with_name(db.name + "-wal").exists():
                conn = read_only(db)
            stored = stored_count(conn)
            if stored >= total:
                break
            if stored:
                os.killpg(proc.pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(0.002)
    finally:
        if conn is not None:
            conn.close()
        kill_group(proc)
    if not killed:
        return None
    assert proc.returncode == -signal.SIGKILL, log.read_text()[-3000:]
    stored = query(db, "SELECT count(*) FROM articles")[0][0]
    return (stored, proc.pid) if stored < total else None


def test_ingest_killed_midway_stores_every_article_once_on_rerun(tmp_path: Path, httpserver) -> None:
    """SIGKILL between two committed batches: the rerun takes over the lock and adds exactly the rest."""
    from werkzeug import Request, Response

    from flows.ingest import ingest_flow

    feed_entries = 300
    feed_requests: list[str] = []

    for attempt, files in enumerate((3000, 9000)):  # a bigger inbox if the first run outran the kill
        base = tmp_path / f"attempt{attempt}"
        base.mkdir()
        paths = make_inbox(base / "inbox", files)
        body = rss(httpserver.url_for("").rstrip("/"), feed_entries, start=10_000_000)
        etag = f'"wire-{attempt}"'

        def feed(request: Request, body: bytes = body, etag: str = etag) -> Response:
            feed_requests.append(request.headers.get("If-None-Match", ""))
            if request.headers.get("If-None-Match") == etag:
                return Response(status=304, headers={"ETag": etag})
            return Response(body, content_type="application/rss+xml", headers={"ETag": etag})

        httpserver.clear()
        httpserver.expect_request(f"/feed{attempt}.xml").respond_with_handler(feed)
        config = write_config(
            base / "briefing.yaml", schedule={"lock_wait_seconds": 10},
            # Loopback feed; full-text entries, so no linked page is fetched.
            fetch={"allow_private_hosts": True, "teaser_words": 0, "retries": 0},
            sources=[{"name": "inbox", "folder": str(base / "inbox")},
                     {"name": "wire", "feed": httpserver.url_for(f"/feed{attempt}.xml")}])
        db = base / "state" / "briefing.sqlite"
        total = files + feed_entries
        killed = _kill_ingest_midway(config, db, total, base / "killed.log")
        if killed is not None:
            break
    else:
        pytest.fail("every ingest finished before it could be killed midway")
    stored_at_kill, pid = killed
    assert 0 < stored_at_kill < total, "the kill landed midway"
    assert crashed("ingest", config) == 1, "the killed run was left Running on the Prefect server"
    [(host, holder_pid)] = query(db, "SELECT host, pid FROM locks WHERE name = 'ingest'")
    assert (host, holder_pid) == (socket.gethostname(), pid), "the killed run left its lock behind"

    second = run("ingest", "--config", config)
    new = {line.split(":")[0]: line for line in second.stdout.splitlines()}
    assert set(new) == {"inbox", "wire"}, second.stdout
    added = sum(int(line.split(", ")[1].split(" new")[0]) for line in new.values())
    assert added == total - stored_at_kill, f"the rerun adds exactly what the killed run had not stored: {new}"
    assert query(db, "SELECT name FROM locks") == [], "the stale lock was taken over and released"

    assert query(db, "SELECT count(*), count(DISTINCT id) FROM articles") == [(total, total)]
    assert query(db, "SELECT location FROM articles GROUP BY location HAVING count(*) > 1") == []
    locations = {row[0] for row in query(db, "SELECT location FROM articles")}
    feed_links = {httpserver.url_for(f"/news/{n}") for n in range(10_000_000, 10_000_000 + feed_entries)}
    assert locations == {str(p) for p in paths} | feed_links

    third = {h.source: (h.status, h.new) for h in ingest_flow(config)}  # in-process: one process start less
    assert third == {"inbox": ("ok", 0), "wire": ("not-modified", 0)}
    assert query(db, "SELECT count(*) FROM articles") == [(total,)]
    assert feed_requests[-1] == etag, "the third run asked with the stored ETag"
    print(f"ingest: {total} articles, {stored_at_kill} stored at the kill, {total} after the rerun")


# --- digest killed between render and send -------------------------------------------------

class SilentServer:
    """A loopback TCP listener that accepts connections and never says a word (no SMTP greeting)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connected = threading.Event()
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:  # closed
            return
        self.conns.append(conn)
        self.connected.set()

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.sock.close()


def headlines(html: str) -> list[str]:
    doc = lxml.html.fromstring(html)
    return [" ".join(p.text_content().split()) for p in doc.find_class("headline")]


def ledger(config: str) -> list[list[str]]:
    """`briefing digests`, in-process (it needs no Prefect): id, window, stories, status, kind, archive."""
    from click.testing import CliRunner

    from briefing.cli import main

    result = CliRunner().invoke(main, ["digests", "--config", config])
    assert result.exit_code == 0, result.output
    return [line.split("\t") for line in result.output.splitlines()]


def email_config(port: int) -> dict[str, Any]:
    # A long timeout: the send waits for the greeting until it is killed.
    return {"sender": "briefing@example.org", "to": ["analyst@example.org"], "smtp_host": "127.0.0.1",
            "smtp_port": port, "security": "none", "retries": 0, "timeout_seconds": 600}


def test_digest_killed_before_the_send_is_delivered_once_by_the_next_run(tmp_path: Path, smtp_server) -> None:
    """SIGKILL while the send waits for the server: archived, recorded undelivered; the rerun delivers it once."""
    from flows.digest import digest_flow
    from flows.ingest import ingest_flow

    settings: dict[str, Any] = {"sources": [{"name": "inbox", "folder": str(INBOX)}],
                                "schedule": {"lock_wait_seconds": 10}}
    silent = SilentServer()
    config = write_config(tmp_path / "briefing.yaml", **settings, email=email_config(silent.port))
    ingest_flow(config)
    db = tmp_path / "state" / "briefing.sqlite"
    log = tmp_path / "killed.log"
    proc = start("digest", config, log)
    try:
        while not silent.connected.wait(0.2):
            assert proc.poll() is None, f"the digest ended before its send: {log.read_text()[-3000:]}"
        assert proc.poll() is None, "killed inside the send"
        kill_group(proc)
    finally:
        if proc.poll() is None:
            kill_group(proc)
        silent.close()
    assert proc.returncode == -signal.SIGKILL
    assert crashed("digest", config) == 1, "the killed run was left Running on the Prefect server"

    [html] = (tmp_path / "archive").glob("digest-*.html")
    assert html.with_suffix(".txt").exists() and html.with_suffix(".eml").exists()
    lost = headlines(html.read_text(encoding="utf-8"))
    assert lost, "the killed digest had stories"
    [row] = ledger(config)
    killed_id = row[0]
    assert (row[3], row[4], row[5]) == ("NOT delivered", "regular", str(html))
    assert query(db, "SELECT name, pid FROM locks") == [("digest", proc.pid)]

    inbox, port = smtp_server()
    write_config(tmp_path / "briefing.yaml", **settings, email=email_config(port))
    second = run("digest", "--config", config)
    assert "digest delivered" in second.stderr, second.stderr[-3000:]
    assert len(inbox.messages) == 1
    message: EmailMessage = inbox.messages[0][1]
    sent = message.get_body(("html",))
    assert sent is not None
    assert set(lost) <= set(headlines(sent.get_content())), "every story of the killed digest was delivered"
    rows = {r[0]: r for r in ledger(config)}
    [new_id] = set(rows) - {killed_id}
    assert (rows[new_id][3], rows[new_id][4]) == ("delivered", "regular")
    assert rows[killed_id][3] == f"superseded by #{new_id}", "not shown as a digest still to send"
    assert query(db, "SELECT name FROM locks") == [], "the killed digest's lock was taken over and released"

    assert digest_flow(config).status == "empty", "nothing new since the delivered digest"
    assert len(inbox.messages) == 1, "nothing sent twice"
    print(f"digest: {len(lost)} stories killed before the send, delivered in #{new_id}; ledger {rows}")
