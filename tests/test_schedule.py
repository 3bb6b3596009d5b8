"""Scheduled runs: deployments from the config, `briefing serve` triggered through Prefect, locks, prefect.yaml.

The served test runs the real `briefing serve` in a subprocess against the session's
Prefect server, triggers `digest/daily` through the Prefect client and CLI, and stops
it with SIGTERM. The overlap test starts two `briefing digest` processes at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from conftest import INBOX, ROOT, TOPIC

from briefing.config import load_config
from briefing.exceptions import ConfigError
from briefing.store import Store

pytestmark = pytest.mark.usefixtures("prefect_server")
BIN = Path(sys.executable).parent


def write_config(tmp_path: Path, **extra: object) -> str:
    config = {"state_dir": "state", "archive_dir": "archive", "topic": str(TOPIC),
              "sources": [{"name": "inbox", "folder": str(INBOX)}], **extra}
    path = tmp_path / "briefing.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


def child_env() -> dict[str, str]:
    """The environment of a process that talks to this session's Prefect server."""
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def test_deployments_follow_the_config(tmp_path: Path) -> None:
    """Names, schedules in the configured zone, parameters, one run at a time, and a typed form for since/until."""
    from flows.deployments import build_deployments

    config = load_config(write_config(tmp_path, schedule={
        "timezone": "Europe/Moscow", "digest_cron": "0 7 * * 1", "digest_name": "weekly",
        "ingest_every_minutes": 30}))
    deployments = {f"{d.flow_name}/{d.name}": d for d in build_deployments(config)}
    assert set(deployments) == {"ingest/scheduled", "digest/weekly", "briefing/manual"}
    digest = deployments["digest/weekly"]
    [schedule] = [s.schedule for s in digest.schedules]
    assert (schedule.cron, schedule.timezone) == ("0 7 * * 1", "Europe/Moscow")
    [every] = [s.schedule for s in deployments["ingest/scheduled"].schedules]
    assert every.interval == timedelta(minutes=30) and every.timezone == "Europe/Moscow"
    assert deployments["briefing/manual"].schedules == []
    for d in deployments.values():
        assert d.parameters == {"config_path": str(config.path)}
        assert d.concurrency_limit == 1
        assert d.entrypoint.startswith("flows.")
    since = digest._parameter_openapi_schema.properties["since"]
    assert {"type": "string", "format": "date-time"} in since["anyOf"]


def test_a_bad_cron_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    from flows.deployments import build_deployments

    config = load_config(write_config(tmp_path, schedule={"digest_cron": "at seven"}))
    with pytest.raises(ConfigError, match="schedule.digest_cron"):
        build_deployments(config)
    with pytest.raises(ConfigError, match="schedule.timezone"):
        load_config(write_config(tmp_path, schedule={"timezone": "Moscow"}))


def test_prefect_yaml_declares_the_served_deployments() -> None:
    """prefect.yaml (work pools) and `briefing serve` offer the same deployments, entrypoints and defaults."""
    from briefing.config import ScheduleConfig
    from flows.deployments import build_deployments

    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]
    served = build_deployments(load_config(ROOT / "config" / "briefing.yaml"))
    assert [(d["name"], d["entrypoint"].replace(":", ".")) for d in declared] == [
        (d.name, d.entrypoint) for d in served]
    defaults = ScheduleConfig()
    by_name = {d["name"]: d for d in declared}
    assert by_name["daily"]["schedules"][0]["cron"] == defaults.digest_cron
    assert by_name["scheduled"]["schedules"][0]["interval"] == defaults.ingest_every_minutes * 60


def test_a_second_digest_while_one_runs_exits_cleanly(tmp_path: Path) -> None:
    """Another run holds the digest lock past lock_wait_seconds: status busy, nothing archived or recorded."""
    from flows.digest import digest_flow

    config = write_config(tmp_path, schedule={"lock_wait_seconds": 0.5})
    store = Store.open_dir(tmp_path / "state")
    try:
        with store.lock("digest"):
            result = digest_flow(config)
        assert result.status == "busy"
        assert store.digests() == [] and not (tmp_path / "archive").exists()
    finally:
        store.close()


def _wait_for_running(flow_name: str, count: int, timeout: float = 120) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
                    any_=[StateType.RUNNING]))))
            if len(runs) >= count:
                return
            time.sleep(0.5)
    raise AssertionError(f"{count} running {flow_name} flow runs did not appear within {timeout} s")


def test_two_digests_at_once_send_one_message(tmp_path: Path, smtp_server) -> None:
    """Two `briefing digest` processes started together: one delivers, the other waits and finds nothing new."""
    from flows.ingest import ingest_flow

    inbox, port = smtp_server()
    config = write_config(tmp_path, schedule={"lock_wait_seconds": 120}, email={
        "sender": "briefing@example.org", "to": ["analyst@example.org"], "smtp_host": "127.0.0.1",
        "smtp_port": port, "security": "none", "retries": 0, "timeout_seconds": 5})
    store = Store.open_dir(tmp_path / "state")
    procs = []
    try:
        with store.lock("digest"):  # hold both at the door, so they really overlap
            procs = [subprocess.Popen([str(BIN / "briefing"), "digest", "--config", config], env=child_env(),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(2)]
            # While they start: the articles are in the store before the door opens (ingest takes its own lock).
            assert {h.source: h.status for h in ingest_flow(config)} == {"inbox": "ok"}
            _wait_for_running("digest", 2)
        outputs = [p.communicate(timeout=180) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    said = sorted("delivered" if "digest delivered" in err else out.strip()[:9] for out, err in outputs)
    assert said == ["delivered", "no digest"], outputs
    assert len(inbox.messages) == 1
    assert [d.delivered for d in store.digests()] == [True]
    store.close()


def test_served_digest_runs_when_triggered_and_serve_stops_cleanly(tmp_path: Path) -> None:
    """`briefing serve` in a subprocess; digest/daily triggered by the client, then by the CLI with since/until."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    from flows.ingest import ingest_flow

    config = write_config(tmp_path, schedule={"timezone": "Europe/Moscow"})
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen([str(BIN / "briefing"), "serve", "--config", config], env=child_env(),
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        ingest_flow(config)  # while serve starts: nothing is triggered before the deployment is served
        deadline = time.monotonic() + 120
        with get_client(sync_client=True) as client:
            while True:
                try:
                    deployment = client.read_deployment_by_name("digest/daily")
                    if deployment.parameters.get("config_path") == str(Path(config).resolve()):
                        break
                except Exception:  # noqa: BLE001 - not registered yet
                    pass
                assert serve.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "digest/daily was not served within 120 s"
                time.sleep(0.5)
        assert deployment.schedules[0].schedule.timezone == "Europe/Moscow"

        regular = run_deployment("digest/daily", timeout=240)
        assert regular.state is not None and regular.state.is_completed(), regular.state
        [html] = (tmp_path / "archive").glob("digest-*.html")
        assert "Power of Siberia" in html.read_text(encoding="utf-8")

        trigger = subprocess.run(
            [str(BIN / "prefect"), "deployment", "run", "digest/daily", "--param", "since=2026-11-01",
             "--param", "until=2026-11-08", "--watch", "--watch-timeout", "240"],
            env=child_env(), capture_output=True, text=True, timeout=300)
        assert trigger.returncode == 0 and "Completed" in trigger.stdout, trigger.stdout + trigger.stderr
        # Midnight in Moscow is 21:00 UTC the day before.
        backfill = tmp_path / "archive" / "backfill-20261031T210000Z-20261107T210000Z.html"
        assert backfill.exists(), sorted(p.name for p in (tmp_path / "archive").iterdir())
        store = Store.open_dir(tmp_path / "state")
        kinds = sorted((d.kind, d.delivered) for d in store.digests())
        store.close()
        assert kinds == [("backfill", False), ("regular", True)]
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
            raise
        log.close()
    assert serve.returncode == 0, (tmp_path / "serve.log").read_text()
    assert "graceful shutdown" in (tmp_path / "serve.log").read_text()


def test_a_bad_since_is_a_usage_error_before_any_run(tmp_path: Path) -> None:
    """`briefing digest --since yesterday-ish` exits 2 with the expected format; nothing runs."""
    from click.testing import CliRunner

    from briefing.cli import main

    result = CliRunner().invoke(main, ["digest", "--config", write_config(tmp_path), "--since", "last tuesday"])
    assert result.exit_code == 2 and "not an ISO-8601 date" in result.output
    assert not (tmp_path / "state").exists()
