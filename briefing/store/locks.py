"""Locks: a named lock row per job, so two runs of one job (two digests of one topic) never overlap.

A lock held by a run that was killed must not block the next one, so a lock is stale once its lease has
run out or its holder was a process on this host that is gone; the holder string records the process's
start time, which tells a reused pid from the original. All of that is OS knowledge (``/proc``,
``os.kill``) kept out of the other aggregates.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from briefing.exceptions import BusyError, StorageError
from briefing.store import schema
from briefing.store.base import StoreBase, _now

__all__ = ["LocksMixin"]


class LocksMixin(StoreBase):
    """The ``locks`` table."""

    @contextmanager
    def lock(self, name: str, *, wait: float = 0, lease: float = 6 * 3600, poll: float = 0.5) -> Iterator[None]:
        """Hold the named lock for the ``with`` block, so two runs of one job never overlap.

        Waits up to ``wait`` seconds for another holder. A lock is stale, and is
        taken over, once its lease has run out or when its holder was a process
        on this host that no longer exists (a killed run does not block the next).

        Raises:
            BusyError: another live run still held the lock after ``wait`` seconds.
        """
        pid = os.getpid()
        holder = f"{socket.gethostname()}:{pid}:{_process_start(pid) or '-'}:{uuid.uuid4().hex[:8]}"
        deadline = time.monotonic() + wait
        while True:
            current = self._try_lock(name, holder, lease)
            if current is None:
                break
            if time.monotonic() >= deadline:
                raise BusyError(name, f"{current.host}:{current.pid}", current.acquired.isoformat(timespec="seconds"),
                                wait)
            time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        try:
            yield
        finally:
            with self._tx() as conn:
                t = schema.locks
                conn.execute(delete(t).where(t.c.name == name, t.c.holder == holder))

    def _try_lock(self, name: str, holder: str, lease: float) -> Any:
        """Take the lock (None) or return the row of the live holder that has it."""
        t = schema.locks
        now = _now()
        try:
            with self._tx() as conn:
                row = conn.execute(select(t).where(t.c.name == name)).first()
                if row is not None and not _stale(row, now):
                    return row
                if row is not None:
                    conn.execute(delete(t).where(t.c.name == name, t.c.holder == row.holder))
                conn.execute(t.insert().values(name=name, holder=holder, host=socket.gethostname(), pid=os.getpid(),
                                               acquired=now, expires=now + timedelta(seconds=lease)))
        except StorageError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            with self._tx() as conn:  # another run inserted it first
                row = conn.execute(select(t).where(t.c.name == name)).first()
            # ... and may have released it already: then try again rather than report it taken by us
            return row if row is not None else self._try_lock(name, holder, lease)
        return None


def _stale(lock: Any, now: datetime) -> bool:
    """A lease run out, or a holder on this host whose process is gone (killed, crashed).

    Gone includes a zombie (killed, not yet reaped) and a pid now worn by
    another process (a restarted container hands out the same pids): the
    holder records its process's start time, which the newcomer does not share.
    """
    if lock.expires <= now:
        return True
    if lock.host != socket.gethostname():
        return False
    try:
        os.kill(lock.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    parts = lock.holder.split(":")
    recorded = parts[2] if len(parts) == 4 and parts[2] != "-" else None
    started = _process_start(lock.pid)
    return started == "zombie" or (recorded is not None and started is not None and started != recorded)


def _process_start(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot, from /proc), "zombie" if it has exited; None off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields_ = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state is field 3, starttime field 22
    return "zombie" if fields_[0] in ("Z", "X") else fields_[19]
