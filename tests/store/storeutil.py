"""Stores written directly for the maintenance tests: score and runs rows, and two runs that raced."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq

from naswot_ray.store import Store

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def score(i: int, value: float, run: str, *, status: str = "ok", minutes: int = 0, metric: str = "naswot") -> dict:
    return {"key": f"{metric}-{i}", "space": "nb201", "arch_index": i, "arch": f"a{i}", "metric": metric,
            "value": value, "status": status, "error": None if status == "ok" else "boom", "run_id": run,
            "worker": "w", "metric_version": 1, "created_at": T0 + timedelta(minutes=minutes)}


def run_row(run: str, status: str, *, requested: int = 0, skipped: int = 0, scored: int = 0, failed: int = 0,
            command: str = "score-all", started: datetime = T0) -> dict:
    return {"run_id": run, "command": command, "status": status, "requested": requested, "skipped": skipped,
            "scored": scored, "failed": failed, "started_at": started,
            "created_at": started + timedelta(seconds=1 if status == "running" else 60)}


def two_concurrent_runs(root: Path) -> Store:
    """What two runs of one job started at the same time leave: every key stored by both, in many parts."""
    store = Store(str(root))
    for run, minutes in (("A", 0), ("B", 1)):
        store.write("runs", [run_row(run, "running")])
        for chunk in ([0, 1], [2], [3]):
            store.write("scores", [score(i, i + minutes / 10, run, minutes=minutes,
                                         status="error" if (i, run) == (3, "B") else "ok") for i in chunk])
        store.write("runs", [run_row(run, "finished", requested=4, scored=4 - (run == "B"), failed=int(run == "B"))])
    return store


def raw_keys(root: Path) -> Counter:
    return Counter(k for p in (root / "scores").glob("part-*.parquet") for k in pq.read_table(p).column("key").to_pylist())

