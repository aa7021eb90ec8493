"""A per-architecture time limit (``--arch-timeout``) that interrupts Python between torch ops.

Why SIGALRM: a scorer runs one architecture at a time on its main thread, and a forward pass is a
long sequence of short ops, so a signal handler raising between two ops stops it promptly without a
second thread or process. ``ArchTimeout`` derives from BaseException so per-metric ``except
Exception`` handlers do not swallow it: the whole architecture becomes an error row.
"""

from __future__ import annotations

import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


class ArchTimeout(BaseException):
    """Scoring one architecture took longer than the allowed seconds."""


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    if not seconds:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        warnings.warn("--arch-timeout needs the main thread; running without a time limit", RuntimeWarning, stacklevel=2)
        yield
        return

    def expire(_signum, _frame):
        raise ArchTimeout(f"exceeded the per-architecture time limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
