"""Prefect's temporary server for a flow command, started by us so that it ends with the command.

Without ``PREFECT_API_URL`` Prefect starts a temporary API server itself and
stops it from an ``atexit`` hook: a command killed by SIGKILL, or ended by the
stop watchdog's ``os._exit``, leaves that server running (~200 MB, re-parented
to init, forever). Here the same server is started before any client exists,
and Prefect is pointed at it through ``PREFECT_API_URL`` for the run:

* its process dies with the command's (``briefing.children.die_with_parent``);
* it runs in a session of its own, so a terminal's Ctrl-C reaches only the
  command, and the server is still up to record the flow run as crashed or
  cancelled; it is stopped once the flow call has returned or raised;
* the watchdog stops it too (``briefing.children.stop_all``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import prefect
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

from briefing import children
from briefing.exceptions import ServerError, one_line

DRAIN_SECONDS = 3.0  # for the queued logs and events, before the server stops


class OwnedServer(SubprocessASGIServer):
    """Prefect's temporary server, its uvicorn process tied to this one's lifetime.

    Its listening socket is bound here, on a port the kernel picks, and handed to uvicorn (``--fd``): the port
    is held from before the server starts. Prefect's own way (pick a port that looks free, uvicorn binds it
    later) lets two servers that start at once pick the same port, and the loser's health check then passes
    against the winner's server.
    """

    _held: socket.socket | None = None

    def start(self, timeout: int | None = None) -> None:
        if not self.running:
            self._hold()  # the port set: Prefect's start() neither picks one nor logs another
        try:
            super().start(timeout)
        finally:
            self._release()

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        # The command and environment of SubprocessASGIServer._run_uvicorn_command (Prefect 3.x), with --fd.
        held = self._held or self._hold()  # none: start() retrying after uvicorn exited 3 (could not bind)
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1", **get_current_settings().to_environment_variables(exclude_unset=True)}
        fd = held.fileno()
        args = [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
                "prefect.server.api.server:create_app", "--fd", str(fd), "--log-level", "error", "--lifespan", "on"]
        try:
            return children.track(subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, start_new_session=True,
                                                   pass_fds=(fd,), preexec_fn=children.die_with_parent()))
        finally:
            self._release()  # the child has its own copy of the socket

    def _hold(self) -> socket.socket:
        """Bind a loopback socket on a port the kernel picks, and make it the server's port."""
        self._held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._held.bind(("127.0.0.1", 0))
        self.port = self._held.getsockname()[1]
        return self._held

    def _release(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None

    def stop(self) -> None:
        if self.server_process is not None:
            children.stop(self.server_process)
        super().stop()


@contextmanager
def temporary_server() -> Iterator[str | None]:
    """The API URL of a temporary server for this block, or None when ``PREFECT_API_URL`` names one."""
    if PREFECT_API_URL.value():
        yield None
        return
    server = OwnedServer()
    before = os.environ.get("PREFECT_API_URL")
    try:
        try:
            server.start()
        except Exception as exc:  # Prefect's RuntimeError (timed out, exited) or the health check's HTTP error
            raise ServerError(f"the temporary Prefect server did not start: {one_line(exc)}") from exc
        # The environment too: processes the run starts (a local Dask cluster's workers) use the same server.
        os.environ["PREFECT_API_URL"] = server.api_url
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        if before is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = before
        _drain(DRAIN_SECONDS)
        server.stop()


def _drain(timeout: float) -> None:
    """Send the run's queued logs and events while the server is still there to take them."""
    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=timeout)
        except Exception:  # a log line lost is no reason to keep the server or fail the command
            pass
