"""Dead and slow hosts cost a lookup, not the run; SIGTERM and SIGINT stop a run within seconds.

A loopback feed of 2,000 teasers links to hosts under ``.invalid`` (reserved:
they never resolve), most to one host, a few to others. Each host is looked
up once per run and given up on after ``fetch.host_failures`` failures in a
row; every entry is kept with its own text. A host that refuses connections
is given up on the same way (feed URLs too), and ``fetch.run_budget`` stops
page fetches without losing an entry.

Then the real ``briefing ingest`` (a subprocess talking to the session's
Prefect server) is stopped by SIGTERM or SIGINT while a feed server holds
its request, and by SIGTERM while it stores: it ends with 128 + the signal,
its flow run is marked crashed (or cancelled), what it committed is kept,
and a rerun stores all 2,000.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from test_crash import RUN_TIMEOUT, SilentServer, query, read_only, run, start, stored_count, wait_until, write_config
from werkzeug import Request, Response

from briefing.config import FetchConfig, SourceConfig
from briefing.sources.feed import fetch_all

ENTRIES = 2000
FEW = ("news-1.invalid", "news-2.invalid", "news-3.invalid", "news-4.invalid")  # 5 entries each
MOST = "news-0.invalid"  # the other 1,980
EXIT_BOUND = 30  # seconds: "it ended", generously; the figures are printed, not asserted


def _host(n: int) -> str:
    return FEW[n // 7 % len(FEW)] if n % 7 == 0 and n < 7 * 5 * len(FEW) else MOST


def _teaser(n: int) -> str:
    return f"Russian and Chinese officials discussed rail freight quotas at the border, note {n}."


def teaser_feed(count: int = ENTRIES, host: Any = _host) -> bytes:
    """RSS of ``count`` short entries (teasers, so their pages are wanted) linking to ``host(n)``."""
    items = "".join(
        f"<item><title>Rail freight note {n}</title><link>http://{host(n)}/story/{n}</link>"
        f"<guid isPermaLink=\"false\">dead-{n}</guid><pubDate>Mon, 02 Nov 2026 08:00:00 GMT</pubDate>"
        f"<description>{escape(_teaser(n))}</description></item>" for n in range(count))
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Wire</title>"
            f"<link>http://{MOST}/</link><description>made-up wire</description>{items}</channel></rss>").encode()


def _lines(caplog: pytest.LogCaptureFixture, pattern: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if re.search(pattern, r.getMessage())]


# --- the fetcher ------------------------------------------------------------------------

def test_dead_hosts_are_looked_up_once_and_every_entry_keeps_its_text(httpserver, caplog) -> None:
    """2,000 teasers on unresolvable hosts: all 2,000 items with their own text, one line per dead host."""
    httpserver.expect_request("/feed.xml").respond_with_data(teaser_feed(), content_type="application/rss+xml")
    policy = FetchConfig(allow_private_hosts=False)
    assert policy.host_failures == 3
    caplog.set_level(logging.INFO, logger="briefing.sources.feed")
    started = time.monotonic()
    [outcome] = fetch_all([SourceConfig(name="wire", feed=httpserver.url_for("/feed.xml"))], {}, policy)
    took = time.monotonic() - started

    assert outcome.error is None
    assert len(outcome.items) == ENTRIES
    assert {i.location for i in outcome.items} == {f"http://{_host(n)}/story/{n}" for n in range(ENTRIES)}
    for item in outcome.items:
        n = int(item.location.rsplit("/", 1)[1])
        assert (item.kind, item.body) == ("text", _teaser(n)), "the entry's own text, not a page"

    per_host = {h: sum(1 for n in range(ENTRIES) if _host(n) == h) for h in (MOST, *FEW)}
    assert per_host == {MOST: 1980, **{h: 5 for h in FEW}}
    for host, count in per_host.items():
        lookups = _lines(caplog, rf"not fetched.*: cannot resolve host {re.escape(host)}\b")
        assert len(lookups) == policy.host_failures, f"{host}: tried {policy.host_failures} times, then skipped"
        assert len(_lines(caplog, rf"not fetched.*host {re.escape(host)} unreachable \(")) == count - 3
        [line] = _lines(caplog, rf"^host {re.escape(host)} unreachable:")
        assert line == (f"host {host} unreachable: {count - 3:,} page fetches skipped, "
                        "entries kept with their own text")
    assert len(httpserver.log) == 1
    print(f"fetch_all of {ENTRIES} dead-host teasers: {took:.2f} s")


def test_a_host_refusing_connections_is_given_up_on_for_pages_and_feeds(httpserver, caplog) -> None:
    """Connection refused counts like a failed lookup; the feed URLs on that host are skipped too."""
    with socket.socket() as s:  # a port nothing listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    httpserver.expect_request("/feed.xml").respond_with_data(
        teaser_feed(40, host=lambda n: f"127.0.0.1:{closed}"), content_type="application/rss+xml")
    dead_feeds = [SourceConfig(name=f"gone{i}", feed=f"http://127.0.0.1:{closed}/feed{i}.xml") for i in range(5)]
    policy = FetchConfig(allow_private_hosts=True, retries=0, host_failures=2)
    caplog.set_level(logging.INFO, logger="briefing.sources.feed")
    [good, *gone] = fetch_all([SourceConfig(name="wire", feed=httpserver.url_for("/feed.xml")), *dead_feeds],
                              {}, policy)

    assert len(good.items) == 40 and all(i.kind == "text" for i in good.items)
    assert all(o.error for o in gone)
    refused = [o for o in gone if "ConnectError" in (o.error or "")]
    skipped = [o for o in gone if "unreachable" in (o.error or "")]
    pages_refused = _lines(caplog, r"not fetched.*ConnectError")
    assert len(refused) + len(pages_refused) == 2, "two failures in a row, then the host is given up on"
    assert len(refused) + len(skipped) == 5
    [line] = _lines(caplog, rf"^host 127\.0\.0\.1:{closed} unreachable:")
    assert f"{40 - len(pages_refused):,} page fetches skipped, entries kept with their own text" in line
    if skipped:
        assert f"{len(skipped)} feed fetch" in line


def test_run_budget_stops_page_fetches_but_keeps_every_entry(httpserver, caplog) -> None:
    """Pages that take longer than the run's budget are given up; their entries keep the feed's text."""
    release = threading.Event()

    def slow_page(request: Request) -> Response:
        release.wait(5)
        return Response("<html><body><p>late</p></body></html>", content_type="text/html")

    base = httpserver.url_for("").rstrip("/").removeprefix("http://")
    httpserver.expect_request("/feed.xml").respond_with_data(teaser_feed(20, host=lambda n: base),
                                                            content_type="application/rss+xml")
    httpserver.expect_request(re.compile("^/story/")).respond_with_handler(slow_page)
    policy = FetchConfig(allow_private_hosts=True, run_budget=0.5, retries=0)
    caplog.set_level(logging.INFO, logger="briefing.sources.feed")
    try:
        [outcome] = fetch_all([SourceConfig(name="wire", feed=httpserver.url_for("/feed.xml"))], {}, policy)
    finally:
        release.set()
    assert len(outcome.items) == 20
    assert [i.body for i in outcome.items] == [_teaser(n) for n in range(20)]
    [line] = _lines(caplog, r"^fetch\.run_budget")
    assert line == "fetch.run_budget of 0.5 s spent: 20 page fetches skipped, entries kept with their own text"


# --- the real command, stopped -------------------------------------------------------------

def _flow_run_states(config: str) -> list[str]:
    """State types of this config's ingest flow runs on the session's server, oldest first."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas import filters as f
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=f.FlowFilter(name=f.FlowFilterName(any_=["ingest"])),
                                     sort=FlowRunSort.START_TIME_ASC)
    return [r.state.type.value for r in runs if r.parameters.get("config_path") == config and r.state]


def _ended_within(proc: subprocess.Popen[bytes], log: Path, bound: float) -> float:
    """Seconds from now until the process ends; fails (and kills it) past ``bound``."""
    started = time.monotonic()
    try:
        proc.wait(timeout=bound)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        pytest.fail(f"still running {bound} s after the signal: {log.read_text()[-3000:]}")
    return time.monotonic() - started


def _stored(db: Path) -> int:
    return query(db, "SELECT count(*) FROM articles")[0][0]


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_ingest_held_by_a_silent_host(tmp_path: Path, httpserver, signum: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The run waits on a feed host that never answers: the signal ends it; the rerun stores all 2,000."""
    # On a loaded CI machine the session's Prefect server may take longer than the 7 s grace to record the crash.
    monkeypatch.setenv("BRIEFING_STOP_GRACE_SECONDS", "25")
    if signal.getsignal(signum) is signal.SIG_IGN:  # inherited by the child, which then keeps ignoring it
        pytest.skip(f"{signal.Signals(signum).name} is ignored in this test process")
    served = threading.Event()

    def wire(request: Request) -> Response:
        served.set()
        return Response(teaser_feed(), content_type="application/rss+xml")

    httpserver.expect_request("/feed.xml").respond_with_handler(wire)
    silent = SilentServer()
    try:
        config = write_config(
            tmp_path / "briefing.yaml", schedule={"lock_wait_seconds": 10},
            fetch={"allow_private_hosts": False, "retries": 0, "deadline": 600, "read_timeout": 600},
            sources=[{"name": "wire", "feed": httpserver.url_for("/feed.xml")},
                     {"name": "silent", "feed": f"http://127.0.0.1:{silent.port}/feed.xml"}])
        db = tmp_path / "state" / "briefing.sqlite"
        log = tmp_path / "stopped.log"
        proc = start("ingest", config, log)
        try:
            wait_until(lambda: silent.connected.is_set() and served.is_set(), proc, log)
            time.sleep(0.5)  # the 2,000 page fetches are done or under way; the silent feed holds the run
            assert proc.poll() is None, f"the run ended before the signal: {log.read_text()[-3000:]}"
            proc.send_signal(signum)
            took = _ended_within(proc, log, EXIT_BOUND)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
    finally:
        silent.close()  # the rerun finds the port closed: refused at once
    output = log.read_text()
    assert proc.returncode == 128 + signum, output[-3000:]
    name = signal.Signals(signum).name
    # Said as it unwinds, or by the watchdog when Prefect's own cleanup outlasts the grace period (a loaded machine).
    assert f"stopped by {name}" in output, output[-3000:]
    assert _flow_run_states(config)[-1] in ("CRASHED", "CANCELLED"), output[-3000:]
    assert _stored(db) == 0, "stopped while fetching: nothing was committed yet"
    assert query(db, "SELECT name FROM locks") == [], "the lock was released on the way out"

    rerun = run("ingest", "--config", config)
    lines = {line.split(":")[0]: line for line in rerun.stdout.splitlines()}
    assert lines["wire"].startswith(f"wire: ok, {ENTRIES} new of {ENTRIES}"), rerun.stdout
    assert _stored(db) == ENTRIES
    assert _flow_run_states(config)[-1] == "COMPLETED"
    print(f"{signal.Signals(signum).name} to exit: {took:.2f} s")


@pytest.mark.usefixtures("prefect_server")
def test_sigterm_while_storing_keeps_the_committed_batches(tmp_path: Path, httpserver,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM once a batch is committed: exit 143, whole batches kept, the rerun adds exactly the rest."""
    monkeypatch.setenv("BRIEFING_STOP_GRACE_SECONDS", "25")
    from flows.ingest import STORE_BATCH

    for attempt, count in enumerate((ENTRIES, 3 * ENTRIES)):  # a bigger feed if the run outran the signal
        base = tmp_path / f"attempt{attempt}"
        base.mkdir()
        httpserver.clear()
        httpserver.expect_request("/feed.xml").respond_with_data(teaser_feed(count),
                                                                content_type="application/rss+xml")
        config = write_config(base / "briefing.yaml", schedule={"lock_wait_seconds": 10},
                              fetch={"allow_private_hosts": False},
                              sources=[{"name": "wire", "feed": httpserver.url_for("/feed.xml")}])
        db = base / "state" / "briefing.sqlite"
        log = base / "stopped.log"
        at_signal = _signal_once_stored(start("ingest", config, log), db, log, count)
        if at_signal is not None:
            break
    else:
        pytest.fail("every ingest finished before the signal")
    proc, took = at_signal
    output = log.read_text()
    assert proc.returncode == 143, output[-3000:]
    assert _flow_run_states(config)[-1] in ("CRASHED", "CANCELLED"), output[-3000:]
    kept = _stored(db)
    assert 0 < kept < count and kept % STORE_BATCH == 0, f"whole batches only: {kept}"

    rerun = run("ingest", "--config", config)
    assert f"wire: ok, {count - kept} new of {count}" in rerun.stdout, rerun.stdout
    assert query(db, "SELECT count(*), count(DISTINCT location) FROM articles") == [(count, count)]
    print(f"SIGTERM while storing: {kept} of {count} committed, exit after {took:.2f} s")


def _signal_once_stored(proc: subprocess.Popen[bytes], db: Path, log: Path,
                        total: int) -> tuple[subprocess.Popen[bytes], float] | None:
    """SIGTERM as soon as some articles are committed: (the process, seconds to exit), or None if the run
    stored everything before it could be stopped midway."""
    conn: sqlite3.Connection | None = None
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
                proc.send_signal(signal.SIGTERM)
                took = _ended_within(proc, log, EXIT_BOUND)
                # All stored: the signal came as the run finished, so it may have ended either way.
                return (proc, took) if _stored(db) < total else None
            time.sleep(0.002)
    finally:
        if conn is not None:
            conn.close()
    proc.wait(timeout=RUN_TIMEOUT)
    return None
