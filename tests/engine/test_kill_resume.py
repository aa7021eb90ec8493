"""A driver killed with SIGKILL mid-run, then rerun on the same store: every key exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from naswot_ray.store import Store
from tests.procutil import kill_session

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[2]


def _command(store: Path) -> list[str]:
    return [sys.executable, "-m", "naswot_ray.cli.main", "score-all", "--space", "nb201", "--metrics", "naswot,params",
            "--dataset", "random", "--batch-size", "16", "--limit", "30", "--store", str(store), "--no-progress",
            "--no-dashboard", "--num-workers", "2", "--chunk-size", "2", "--flush-rows", "4"]


def test_sigkill_then_rerun_gives_each_key_exactly_once(tmp_path) -> None:
    store = tmp_path / "store"
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    proc = subprocess.Popen(_command(store), cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            parts = list((store / "scores").glob("part-*.parquet")) if (store / "scores").exists() else []
            if len(parts) >= 2:
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.2)
        else:
            pytest.fail("no part file appeared in time")
    finally:
        kill_session(proc.pid)  # the driver and the local Ray it started
        proc.wait(timeout=30)
    before = Store(str(store)).load("scores")
    assert 0 < before.num_rows < 60, "the kill must land mid-run"
    rerun = subprocess.run(_command(store), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                           start_new_session=True)
    assert rerun.returncode == 0, rerun.stderr
    assert "already stored" in rerun.stdout
    raw = Store(str(store)).load("scores")
    counts = Counter(raw.column("key").to_pylist())
    assert len(counts) == 60  # 30 architectures x 2 metrics
    assert max(counts.values()) == 1  # no key written twice, in any part file
    assert set(raw.column("status").to_pylist()) == {"ok"}
