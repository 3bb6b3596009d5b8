"""Stopping a flow command on SIGTERM or SIGINT: within seconds, with the shell's exit status (128 + signal).

The first signal raises in the main thread: during a flow run Prefect's own
SIGTERM handler does (and marks the run Crashed), SIGINT is a
``KeyboardInterrupt`` as usual, and ``Interrupted`` covers SIGTERM outside
Prefect's handler. The signal also starts a watchdog, woken through the
signal wakeup fd so it starts even while Prefect's handler is the one
installed: if the process has not ended ``GRACE_SECONDS`` later, it stops
the child processes it started (``briefing.children``) and exits without
further cleanup. What holds a process after the signal is outside
its code: a worker thread still busy, or Prefect draining its log and event
queues to a server that died of the same signal (a ``briefing`` started
without ``PREFECT_API_URL`` runs its own server as a child process, and a
terminal's Ctrl-C or a service manager signals both). Store transactions
already committed are kept either way; a second signal exits at once.

Never imports prefect (the flows do).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from briefing import children

GRACE_SECONDS = 7.0  # from the signal to the forced exit: within the 10 s a service manager usually allows
GRACE_ENV = "BRIEFING_STOP_GRACE_SECONDS"  # a longer grace where a slow Prefect server must record the crash
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(KeyboardInterrupt):
    """SIGTERM arrived where Prefect's handler was not installed (SIGINT is a plain KeyboardInterrupt)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Stop:
    """The signal received (if any), and the watchdog it started."""

    def __init__(self, grace: float | None = None):
        self.grace = grace if grace is not None else _grace_from_env()
        self.signum: int | None = None
        self._handled = False
        self._lock = threading.Lock()

    def exit_code(self, exc: BaseException | None = None) -> int | None:
        """128 + the signal that stopped the command, or None when no signal did."""
        signum = self.signum or signal_of(exc)
        return None if signum is None else 128 + signum

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The Python-level handler: raise to unwind the command; a second signal exits at once."""
        if self._handled:
            children.stop_all(timeout=1.0)
            os._exit(128 + signum)
        self._handled = True
        self.arm(signum)
        raise KeyboardInterrupt() if signum == signal.SIGINT else Interrupted(signum)

    def arm(self, signum: int) -> None:
        """Start the watchdog (once): the process ends ``grace`` seconds after the first signal."""
        with self._lock:
            if self.signum is not None:
                return
            self.signum = signum
        threading.Thread(target=self._expire, name="briefing-stop-watchdog", daemon=True).start()

    def _expire(self) -> None:
        threading.Event().wait(self.grace)
        assert self.signum is not None
        name = signal.Signals(self.signum).name
        os.write(2, f"briefing: still stopping {self.grace:g} s after {name}; exiting now "
                    "(what was committed to the store is kept)\n".encode())
        children.stop_all()  # os._exit skips atexit: the servers this command started end here
        os._exit(128 + self.signum)


def _grace_from_env() -> float:
    """``GRACE_SECONDS``, or the number in ``BRIEFING_STOP_GRACE_SECONDS`` (a bad value keeps the default)."""
    try:
        value = float(os.environ.get(GRACE_ENV, GRACE_SECONDS))
    except ValueError:
        return GRACE_SECONDS
    return value if value > 0 else GRACE_SECONDS


def signal_of(exc: BaseException | None) -> int | None:
    """The signal an exception stands for: ours, KeyboardInterrupt, or Prefect's TerminationSignal."""
    if isinstance(exc, Interrupted):
        return exc.signum
    if isinstance(exc, KeyboardInterrupt):
        return signal.SIGINT
    number = getattr(exc, "signal", None)  # prefect.exceptions.TerminationSignal(signal), not imported here
    if isinstance(exc, BaseException) and not isinstance(exc, Exception) and number in SIGNALS:
        return int(number)
    return None


@contextmanager
def stop_on_signals(grace: float | None = None) -> Iterator[Stop]:
    """Handle SIGTERM and SIGINT as above while the block runs (only in the main thread; elsewhere a no-op).

    The handlers are restored when the block ends without a signal; after a
    signal they stay, so a second one exits at once during the cleanup. A
    signal the process inherited as ignored stays ignored.
    """
    stop = Stop(grace)
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    # A signal the process was started ignoring (a background job of a script) stays ignored.
    previous = {s: signal.signal(s, stop.handle) for s in SIGNALS if signal.getsignal(s) is not signal.SIG_IGN}
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(reader, stop), name="briefing-signal-watch", daemon=True).start()
    try:
        yield stop
    finally:
        signal.set_wakeup_fd(old_fd)
        writer.close()  # the watching thread reads the end of the stream and quits
        if stop.signum is None:
            for s, handler in previous.items():
                signal.signal(s, handler)


def _watch(reader: socket.socket, stop: Stop) -> None:
    """Arm the watchdog as soon as a signal arrives, whichever Python handler will run for it."""
    with reader:
        while True:
            try:
                data = reader.recv(64)
            except OSError:
                return
            if not data:
                return
            for signum in data:
                if signum in SIGNALS:
                    stop.arm(signum)
