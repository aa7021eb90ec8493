"""Process helpers for tests that start (and must fully stop) command-line runs with their own Ray."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def session_members(sid: int) -> list[int]:
    """Every live process whose session id is ``sid`` (a run started with start_new_session=True)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            pids.append(int(entry.name))
    return pids


def kill_session(sid: int, timeout: float = 20.0) -> None:
    """SIGKILL every process of session ``sid`` (the driver and the local Ray it started); wait for them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        members = session_members(sid)
        if not members:
            return
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"processes of session {sid} still alive: {session_members(sid)}")
