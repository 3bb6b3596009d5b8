"""Child processes that end with the command that started them, however it ends.

A ``briefing`` command may start servers (Prefect's temporary API server,
``prefect server start`` for ``serve``). Left running they are re-parented to
init and stay forever, so each is started with ``die_with_parent``: on Linux
the kernel sends it SIGTERM when its parent dies, even by SIGKILL (a
parent-death signal survives ``exec``). On a normal exit or a signal the
command stops them itself, through ``stop`` or, when the stop watchdog exits
the process without unwinding, through ``stop_all``.

Never imports prefect (the flows do).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h
STOP_SECONDS = 3.0  # SIGTERM, then this long for a clean shutdown, then SIGKILL

_started: list[subprocess.Popen[Any]] = []
_lock = threading.Lock()


def _prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up in the parent: a forked child of a threaded process should not load libraries."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def die_with_parent(parent: int | None = None) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets SIGTERM when this process dies, and quits if it is already gone.

    The check after ``prctl`` closes the race where the parent dies between
    ``fork`` and ``prctl`` (the child would be init's by then, never signalled).
    """
    expected = os.getpid() if parent is None else parent
    prctl = _prctl()

    def setup() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != expected:
            os._exit(1)

    return setup


def track(process: subprocess.Popen[Any]) -> subprocess.Popen[Any]:
    """Remember a child, so ``stop_all`` ends it if the process has to exit without unwinding."""
    with _lock:
        _started.append(process)
    return process


def stop(process: subprocess.Popen[Any], timeout: float = STOP_SECONDS) -> None:
    """SIGTERM, ``timeout`` seconds to finish, then SIGKILL; always reaped."""
    with _lock:
        if process in _started:
            _started.remove(process)
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def stop_all(timeout: float = STOP_SECONDS) -> None:
    """Stop every tracked child that is still running: all get SIGTERM at once, then share ``timeout``."""
    with _lock:
        running = [p for p in _started if p.poll() is None]
        _started.clear()
    for p in running:
        try:
            p.terminate()
        except OSError:
            pass
    deadline = time.monotonic() + timeout
    for p in running:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
        except OSError:
            pass
