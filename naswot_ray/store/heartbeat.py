"""Telling a live run from a crashed one: a heartbeat object per running run.

A run's ``runs`` row says ``running`` from its start until its final row; a driver that is killed
never writes that final row, so ``running`` alone cannot tell a live run (which ``store compact`` must
not disturb) from a crashed one (which must not block maintenance forever). While a run is live, the
process that wrote its ``running`` row rewrites ``_heartbeats/<run_id>`` every ``interval`` seconds
from a daemon thread; the thread dies with the process. A ``running`` run is live while its heartbeat
is younger than ``stale_after`` (by the clock of the machine asking; clusters keep clocks within a
second or so of each other by NTP, far below the default 120 s). A ``running`` row without any
heartbeat (written before heartbeats existed, or in the first moments of a run) counts as live until
``stale_after`` seconds after the run started.

The engine needs no call of its own: :meth:`naswot_ray.store.Store.write` starts the beat when it
writes a ``running`` row of a run and stops it (deleting the heartbeat) when it writes any other status
for that run. ``Store.start_heartbeat`` / ``Store.stop_heartbeat`` exist for a driver that writes its
``runs`` rows from another process than the one that stays alive.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import pyarrow.fs as pafs

log = logging.getLogger("naswot_ray.store")

HEARTBEAT_DIR = "_heartbeats"
#: seconds between beats
BEAT_SECONDS = 10.0
#: a running run whose last beat is older than this is taken to have crashed
STALE_AFTER_SECONDS = 120.0
#: heartbeat name prefix of a running ``store compact`` (``naswot_ray.store.compact``)
COMPACT_PREFIX = "compact-"


@dataclass(frozen=True)
class RunState:
    """A run whose latest ``runs`` row says ``running``, and whether it is still alive."""

    run_id: str
    command: str
    started_at: datetime | None
    #: seconds since the last heartbeat (None: no heartbeat found)
    beat_age: float | None
    live: bool

    def describe(self) -> str:
        beat = (f"last heartbeat {self.beat_age:.0f} s ago" if self.beat_age is not None
                else "no heartbeat")
        return f"run {self.run_id} ({self.command or 'score-all'}, {beat})"


class Heartbeats:
    """Beats for the runs this process keeps alive (one daemon thread for all of them)."""

    def __init__(self, fs: pafs.FileSystem, base: str, interval: float = BEAT_SECONDS) -> None:
        self.fs, self.base, self.interval = fs, base, interval
        self._runs: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def path(self, run_id: str) -> str:
        return f"{self.base}/{HEARTBEAT_DIR}/{run_id}.json"

    def start(self, run_id: str) -> None:
        with self._lock:
            self.beat(run_id)
            self._runs.add(run_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="naswot-store-heartbeat", daemon=True)
                self._thread.start()

    def stop(self, run_id: str) -> None:
        """No beat for ``run_id`` after this returns (beats happen under the same lock)."""
        with self._lock:
            self._runs.discard(run_id)
            try:
                self.fs.delete_file(self.path(run_id))
            except OSError:  # already gone, or the store went read-only: a stale beat only ages
                pass

    def beat(self, run_id: str) -> None:
        body = json.dumps({"run_id": run_id, "host": socket.gethostname(), "pid": os.getpid(),
                           "beat_at": datetime.now(timezone.utc).isoformat()}).encode()
        self.fs.create_dir(f"{self.base}/{HEARTBEAT_DIR}", recursive=True)
        with self.fs.open_output_stream(self.path(run_id)) as out:
            out.write(body)

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval)
            with self._lock:
                if not self._runs:
                    self._thread = None
                    return
                for run_id in sorted(self._runs):
                    try:
                        self.beat(run_id)
                    except Exception as exc:  # a hiccup must not kill the beat; the next one may land
                        log.warning("heartbeat of run %s failed: %s", run_id, exc)


def beat_age(fs: pafs.FileSystem, base: str, run_id: str, now: float | None = None) -> float | None:
    """Seconds since ``run_id`` last beat (None when it has no heartbeat)."""
    info = fs.get_file_info(f"{base}/{HEARTBEAT_DIR}/{run_id}.json")
    if info.type != pafs.FileType.File or info.mtime is None:
        return None
    return age_of(info, now)


def run_state(fs: pafs.FileSystem, base: str, row: dict, stale_after: float) -> RunState:
    """The liveness of a run whose latest row is ``row`` (a ``runs`` row saying ``running``)."""
    now = time.time()
    age = beat_age(fs, base, row["run_id"], now)
    started = row.get("started_at") or row.get("created_at")
    if age is not None:
        live = age <= stale_after
    else:
        live = started is not None and now - started.timestamp() <= stale_after
    return RunState(row["run_id"], row.get("command") or "", started, age, live)


def heartbeat_files(fs: pafs.FileSystem, base: str) -> dict[str, pafs.FileInfo]:
    """name (a run id, or ``compact-<id>``) -> file info of every heartbeat in the store."""
    directory = f"{base}/{HEARTBEAT_DIR}"
    if fs.get_file_info(directory).type != pafs.FileType.Directory:
        return {}
    infos = fs.get_file_info(pafs.FileSelector(directory, allow_not_found=True))
    return {i.base_name[:-len(".json")]: i for i in infos
            if i.type == pafs.FileType.File and i.base_name.endswith(".json")}


def age_of(info: pafs.FileInfo, now: float | None = None) -> float:
    """Seconds since the heartbeat ``info`` was last written."""
    if info.mtime is None:
        return float("inf")
    mtime = info.mtime if info.mtime.tzinfo else info.mtime.replace(tzinfo=timezone.utc)
    return max(0.0, (now if now is not None else time.time()) - mtime.timestamp())
