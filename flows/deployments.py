"""Scheduled runs: the deployments ``briefing serve`` serves, with schedules from the config.

* ``ingest/scheduled`` — every ``schedule.ingest_every_minutes`` (or ``ingest_cron``);
* ``digest/<schedule.digest_name>`` — on ``schedule.digest_cron`` in ``schedule.timezone``;
  triggered by hand with ``--param since=… --param until=…`` it is a backfill;
* ``briefing/manual`` — ingest then digest, no schedule: the "run now" button.

Each deployment admits one run at a time (a Prefect deployment concurrency
limit: later digests queue, a second ingest is cancelled); the store's locks
also cover runs started outside Prefect's server (``briefing run``).
``prefect.yaml`` declares the same deployments for work pools and workers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval, Schedule
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.types.entrypoint import EntrypointType

from briefing import children
from briefing.config import Config, ScheduleConfig
from briefing.exceptions import ConfigError, ServerError
from flows.briefing import briefing_flow
from flows.digest import digest_flow
from flows.ingest import ingest_flow

ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)
SKIP_IF_RUNNING = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)


def ingest_schedule(s: ScheduleConfig) -> Schedule | None:
    """Cron if given, else the interval, anchored on a local midnight so runs land on :00 and :30."""
    if s.ingest_cron:
        return _cron(s.ingest_cron, s.timezone, "schedule.ingest_cron")
    if s.ingest_every_minutes is None:
        return None
    midnight = datetime(2026, 1, 1, tzinfo=ZoneInfo(s.timezone))
    return Interval(timedelta(minutes=s.ingest_every_minutes), anchor_date=midnight, timezone=s.timezone)


def digest_schedule(s: ScheduleConfig) -> Schedule:
    return _cron(s.digest_cron, s.timezone, "schedule.digest_cron")


def _cron(expression: str, timezone: str, key: str) -> Schedule:
    try:
        return Cron(expression, timezone=timezone)
    except ValueError as exc:
        raise ConfigError(f"{exc} (five fields: minute hour day month weekday, e.g. '0 7 * * 1-5')",
                          key=key) from exc


def build_deployments(config: Config) -> list[RunnerDeployment]:
    """The three deployments, their parameters pointing at this config file."""
    s = config.schedule
    params = {"config_path": str(config.path)}
    ingest = ingest_schedule(s)
    # Imported as modules (flows.digest:…), not loaded as script files: flows/briefing.py run as a
    # script would shadow the briefing package, and module paths work from any working directory.
    module = EntrypointType.MODULE_PATH
    deployments = [
        ingest_flow.to_deployment(
            name="scheduled", schedules=[ingest] if ingest else None, parameters=params,
            concurrency_limit=SKIP_IF_RUNNING, tags=["briefing"], entrypoint_type=module,
            description="Fetch every source and store the new articles."),
        digest_flow.to_deployment(
            name=s.digest_name, schedules=[digest_schedule(s)], parameters=params,
            concurrency_limit=ONE_AT_A_TIME, tags=["briefing"], entrypoint_type=module,
            description="The digest since the last delivered one; with since/until, a backfill of that window."),
        briefing_flow.to_deployment(
            name="manual", parameters=params, concurrency_limit=ONE_AT_A_TIME, tags=["briefing"],
            entrypoint_type=module,
            description="Ingest every source, then make and deliver the digest, now."),
    ]
    return [d for d in deployments if isinstance(d, RunnerDeployment)]  # sync calls: never coroutines


def serve_all(config: Config, port: int = 4200) -> None:
    """Serve the deployments until stopped (Ctrl-C or SIGTERM: in-flight runs finish first).

    Without ``PREFECT_API_URL`` a local Prefect server is started beside it on
    ``port`` (or one already answering there is used), so one command runs the
    whole schedule and its UI. Served runs retry ``schedule.retries`` times.
    """
    deployments = build_deployments(config)
    # Read by each served run's process when it defines the flows (runs start in subprocesses).
    os.environ["PREFECT_FLOWS_DEFAULT_RETRIES"] = str(config.schedule.retries)
    # Whole seconds: a served run copies this into its policy's `retry_delay`, an int field ("300.0"
    # would make pydantic warn on every run).
    os.environ["PREFECT_FLOWS_DEFAULT_RETRY_DELAY_SECONDS"] = str(round(config.schedule.retry_delay_seconds))
    if PREFECT_API_URL.value():
        serve(*deployments)
        return
    log = config.state_dir / "prefect-server.log"
    with local_server(port, log) as api_url, temporary_settings({PREFECT_API_URL: api_url}):
        os.environ["PREFECT_API_URL"] = api_url
        serve(*deployments)


@contextmanager
def local_server(port: int, log: Path, host: str = "127.0.0.1", timeout: float = 120) -> Iterator[str]:
    """A ``prefect server start`` child process on ``host:port``, stopped on exit; yields its API URL.

    A server already answering there is used and left alone.

    Its output goes to ``log`` (a pipe nobody reads would fill and stall it).
    """
    api_url = f"http://{host}:{port}/api"
    if _healthy(api_url):
        print(f"Using the Prefect server already at {api_url}", file=sys.stderr)
        yield api_url
        return
    prefect = shutil.which("prefect", path=os.path.dirname(sys.executable)) or "prefect"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        # Its own session: Ctrl-C stops the runner first, then we stop the server. It dies with this
        # process even on SIGKILL (a parent-death signal; it runs uvicorn in-process, no children of its own).
        process = children.track(subprocess.Popen(
            [prefect, "server", "start", "--host", host, "--port", str(port)], stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=children.die_with_parent()))
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(api_url):
            if process.poll() is not None:
                tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
                raise ServerError(f"the Prefect server did not start on port {port} (log {log}): " + " / ".join(tail))
            if time.monotonic() > deadline:
                raise ServerError(f"the Prefect server did not answer on {api_url} within {timeout:g} s")
            time.sleep(0.5)
        print(f"Prefect server and UI at http://{host}:{port} (PREFECT_API_URL={api_url})", file=sys.stderr)
        yield api_url
    finally:
        children.stop(process, timeout=30)


def _healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
