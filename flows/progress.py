"""Progress of a long run for a terminal: the flows report stages, ``--progress`` draws them.

Reports are made in the flow's own process, as each batch's result comes
back, so they are the same whichever task runner (threads, Dask) did the work.
Nothing listens unless the CLI asks, and then a report costs a function call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[[str, int, int], None]  # (stage, done, total)
_listeners: list[Listener] = []


@contextmanager
def listen(listener: Listener) -> Iterator[None]:
    """Call ``listener(stage, done, total)`` on every report made inside the block."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def report(stage: str, done: int, total: int) -> None:
    for listener in list(_listeners):
        listener(stage, done, total)
