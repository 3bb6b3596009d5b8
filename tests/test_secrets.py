"""The SMTP password leaves no trace: logs, Prefect's records and results, archives, the store, errors, CLI output.

Delivery goes to a real aiosmtpd server on loopback that requires AUTH (plain,
without TLS). On a refusal the server is hostile on purpose: its 535 reply
echoes the credentials it was sent, so an error that passes the server's words
on would carry the password. Each case (delivered, wrong password, server down)
then looks for the configured password, as text and in the base64 forms that
AUTH PLAIN and AUTH LOGIN put on the wire, everywhere a run leaves something:

- every log record of every logger at DEBUG (Prefect's own loggers do not
  propagate, so the capture handler is attached to them too), except the test
  SMTP server's (``mail.log``): a server sees the password by definition;
- stdout and stderr at file-descriptor level (smtplib's debug output would land there);
- the flow and task runs, their logs and artifacts, read back through the Prefect client,
  and the bytes of the session server's database (events, states, parameters);
- Prefect's persisted task results (a temporary ``PREFECT_LOCAL_STORAGE_PATH``; each
  result's base64 pickle decoded too);
- every file of the archive and state folders (the SQLite store, its WAL);
- ``str``, ``repr`` and the formatted traceback of the exception raised;
- stdout and stderr of ``briefing -v digest`` run as a process against the session server.

The password comes from the ``BRIEFING_SMTP_PASSWORD`` variable or from a
Prefect Secret block saved on the session server (``password_block``).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import shutil
import subprocess
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import Inbox, free_port
from test_email import config_file
from test_schedule import BIN, child_env

from briefing.exceptions import DeliveryError
from flows.briefing import briefing_flow  # imports Prefect, which sets up logging: at collection, not in a capture
from flows.ingest import ingest_flow

pytestmark = [pytest.mark.usefixtures("prefect_server"),  # AUTH without TLS is the point: the exchange is plain
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]
T = TypeVar("T")

USER = "digest-sender"
CASES = ["delivered", "wrong-password", "server-down"]
SERVER_LOGGERS = ("mail.log", "mail.debug")  # aiosmtpd, the test's server: it is given the password


def new_password() -> str:
    return f"s3cret-Pa55-{uuid.uuid4()}"


class Authenticator:
    """Accepts USER with one password; a refusal echoes the credentials it got (a hostile server)."""

    def __init__(self, password: str) -> None:
        self.password = password

    def __call__(self, server, session, envelope, mechanism, auth_data):  # aiosmtpd's signature
        if isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
                USER.encode(), self.password.encode()):
            return AuthResult(success=True)
        sent = f"{auth_data.login.decode()}:{auth_data.password.decode()}" if isinstance(
            auth_data, LoginPassword) else repr(auth_data)
        return AuthResult(success=False, handled=False, message=f"535 5.7.8 credentials {sent} rejected")


def auth_server(smtp_server: Callable[..., tuple[Inbox, int]], port: int, accepts: str | None) -> Inbox:
    """An AUTH-requiring server on loopback accepting the password ``accepts``; None: nothing listens."""
    if accepts is None:
        return Inbox()
    inbox, _ = smtp_server(port, authenticator=Authenticator(accepts), auth_required=True, auth_require_tls=False)
    return inbox


class Traces:
    """Every place a run left text or bytes, searched for the password in its text and wire forms."""

    def __init__(self, password: str) -> None:
        self.forms = {
            "text": password.encode(),
            "base64 (AUTH LOGIN)": base64.b64encode(password.encode()),
            "base64 (AUTH PLAIN)": base64.b64encode(f"\0{USER}\0{password}".encode()),
        }
        self.hits: list[str] = []
        self.looked: dict[str, int] = {}

    def check(self, where: str, data: str | bytes) -> None:
        blob = data.encode("utf-8", "replace") if isinstance(data, str) else data
        kind = where.split(":")[0]
        self.looked[kind] = self.looked.get(kind, 0) + 1
        self.hits += [f"{where} ({form})" for form, needle in self.forms.items() if needle in blob]

    def logs(self, records: list[logging.LogRecord]) -> None:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        for r in records:
            if r.name.startswith(SERVER_LOGGERS):
                continue
            self.check(f"log record: {r.name}", formatter.format(r) + repr(vars(r)))

    def error(self, exc: BaseException) -> None:
        self.check("exception: str", str(exc))
        self.check("exception: repr", repr(exc))
        self.check("exception: traceback", "".join(traceback.format_exception(exc)))

    def files(self, kind: str, folder: Path) -> None:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            data = path.read_bytes()
            self.check(f"{kind}: {path.relative_to(folder)}", data)
            try:  # a Prefect result record: JSON holding the base64 of the pickled value
                record = json.loads(data)
                self.check(f"{kind} (decoded): {path.relative_to(folder)}",
                           base64.b64decode(record["result"]))  # MIME-style, with newlines
            except (ValueError, KeyError, TypeError, binascii.Error):
                pass

    def prefect(self, since: datetime) -> None:
        """The runs started since ``since``, their task runs, logs and artifacts, and the server's database."""
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            ArtifactFilter,
            ArtifactFilterFlowRunId,
            FlowRunFilter,
            FlowRunFilterExpectedStartTime,
            FlowRunFilterId,
            LogFilter,
            LogFilterFlowRunId,
        )
        from prefect.logging.handlers import APILogHandler
        from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

        APILogHandler().flush()  # logs are sent in the background
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                expected_start_time=FlowRunFilterExpectedStartTime(after_=since)), limit=200)
            assert runs, "no flow runs found on the server"
            ids = [r.id for r in runs]
            for r in runs:
                self.check(f"flow run: {r.name} (parameters, state)", r.model_dump_json())
            for t in _every(lambda offset: client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=PAGE, offset=offset)):
                self.check(f"task run: {t.name} (inputs, state)", t.model_dump_json())
            logs = _every(lambda offset: client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)),
                                                          limit=PAGE, offset=offset))
            assert logs, "no flow-run logs found on the server"
            for log in logs:
                self.check("flow-run log: " + log.name, log.model_dump_json())
            for a in client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(
                    any_=ids)), limit=200):
                self.check(f"artifact: {a.key}", a.model_dump_json())
        database = Path(PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split("///", 1)[1])
        for path in database.parent.glob(database.name + "*"):
            self.check(f"Prefect server database: {path.name}", path.read_bytes())

    def assert_clean(self, *kinds: str) -> None:
        missing = [k for k in kinds if not self.looked.get(k)]
        assert not missing, f"nothing was searched in: {missing}"
        assert not self.hits, "the password leaked into:\n" + "\n".join(self.hits)


PAGE = 200  # the most a Prefect server returns at once


def _every(read: Callable[[int], list[T]]) -> list[T]:
    """All pages of a Prefect client read."""
    found: list[T] = []
    while True:
        page = read(len(found))
        found += page
        if len(page) < PAGE:
            return found


@contextmanager
def every_log_record(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """caplog at DEBUG for the root logger and for the loggers that do not propagate to it (Prefect's)."""
    caplog.set_level(logging.DEBUG)
    quiet = [logger for logger in logging.Logger.manager.loggerDict.values()
             if isinstance(logger, logging.Logger) and not logger.propagate]
    saved = [(logger, logger.level) for logger in quiet]
    for logger in [*quiet, logging.getLogger()]:
        logger.addHandler(caplog.handler)  # (a no-op where it is attached already)
        logger.setLevel(logging.DEBUG)
    for name in ("prefect", "smtplib", "briefing", "flows"):
        caplog.set_level(logging.DEBUG, logger=name)
    try:
        yield caplog.records
    finally:
        for logger, level in saved:
            logger.removeHandler(caplog.handler)
            logger.setLevel(level)


@pytest.fixture
def results_dir(tmp_path: Path) -> Iterator[Path]:
    """Prefect's persisted task results go here for the test, so only this run's are searched."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    path = tmp_path / "prefect-results"
    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: path}):
        yield path


def configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, port: int, password: str, via: str) -> str:
    """A config whose SMTP password comes from the environment or from a new Secret block."""
    if via == "env":
        monkeypatch.setenv("BRIEFING_SMTP_PASSWORD", password)
        return config_file(tmp_path, port, username=USER)
    from prefect.blocks.system import Secret

    monkeypatch.delenv("BRIEFING_SMTP_PASSWORD", raising=False)
    name = f"smtp-password-{uuid.uuid4().hex[:8]}"
    Secret(value=password).save(name)
    return config_file(tmp_path, port, username=USER, password_block=name)


@pytest.mark.parametrize("via", ["env", "block"])
@pytest.mark.parametrize("case", CASES)
def test_the_password_leaves_no_trace(case: str, via: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
                                      results_dir: Path, smtp_server) -> None:
    """Ingest + digest in this process; then no log, Prefect record, result, file or error holds the password."""
    password, port = new_password(), free_port()
    accepts = {"delivered": password, "wrong-password": new_password(), "server-down": None}[case]
    config = configure(tmp_path, monkeypatch, port, password, via)
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    error: DeliveryError | None = None
    with every_log_record(caplog) as records:
        inbox = auth_server(smtp_server, port, accepts)
        try:
            result = briefing_flow(config)
        except DeliveryError as exc:
            error = exc
    if case == "delivered":
        assert error is None and result.status == "delivered" and len(inbox.messages) == 1
    else:
        assert error is not None and inbox.messages == []
        assert ("login refused" in str(error)) == (case == "wrong-password")
    traces = Traces(password)
    traces.logs(records)
    out, err = capfd.readouterr()
    traces.check("stdout", out)
    traces.check("stderr", err)
    if error is not None:
        traces.error(error)
    traces.prefect(since)
    traces.files("Prefect result", results_dir)
    traces.files("archive", tmp_path / "archive")
    traces.files("store", tmp_path / "state")
    kinds = ["log record", "flow run", "task run", "flow-run log", "artifact", "Prefect server database",
             "Prefect result", "Prefect result (decoded)", "archive", "store"]
    traces.assert_clean(*kinds, *(["exception"] if error else []))


@pytest.fixture(scope="module")
def ingested_state(tmp_path_factory: pytest.TempPathFactory, prefect_server: None) -> Path:
    """A store that has ingested the sample inbox (no password anywhere near it), copied by each CLI case."""
    base = tmp_path_factory.mktemp("ingested")
    assert [h.status for h in ingest_flow(config_file(base, free_port(), username=USER))] == ["ok"]
    return base / "state"


@pytest.mark.parametrize("case", CASES)
def test_the_cli_prints_no_password(case: str, tmp_path: Path, smtp_server, ingested_state: Path) -> None:
    """`briefing -v digest` as a process (debug logging on): neither its output nor what it persisted holds it."""
    password, port = new_password(), free_port()
    accepts = {"delivered": password, "wrong-password": new_password(), "server-down": None}[case]
    config = config_file(tmp_path, port, username=USER)
    shutil.copytree(ingested_state, tmp_path / "state")  # as `ingest_flow(config)` would leave it
    results = tmp_path / "prefect-results"
    env = {**child_env(), "BRIEFING_SMTP_PASSWORD": password, "PREFECT_LOCAL_STORAGE_PATH": str(results),
           "PREFECT_LOGGING_LEVEL": "DEBUG"}
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    inbox = auth_server(smtp_server, port, accepts)
    proc = subprocess.run([str(BIN / "briefing"), "-v", "digest", "--config", config], env=env,
                          capture_output=True, timeout=300)
    stderr = proc.stderr.decode("utf-8", "replace")
    if case == "delivered":
        assert proc.returncode == 0 and len(inbox.messages) == 1, stderr
    else:
        assert proc.returncode == 1 and inbox.messages == [], stderr
        assert "error: delivery to analyst@example.org, desk@example.org failed" in stderr
    traces = Traces(password)
    traces.check("stdout", proc.stdout)
    traces.check("stderr", proc.stderr)
    traces.prefect(since)
    traces.files("Prefect result", results)
    traces.files("archive", tmp_path / "archive")
    traces.files("store", tmp_path / "state")
    traces.assert_clean("stdout", "stderr", "flow run", "flow-run log", "Prefect result", "Prefect result (decoded)",
                        "archive", "store")
