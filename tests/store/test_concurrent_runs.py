"""Two ``score-all`` runs of the same job started at the same time on one store (issue 14, item 10).

Both read the store before either has written (each writes only when it ends: large flush limits), so
both score every architecture and both store every key. The export must hold each key once, and after
``store compact`` so must the part files; ``store verify`` must then find both runs consistent with
the rows they claim.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from naswot_ray.store import Store
from tests.cliutil import run_inprocess

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 4


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray in this process; both drivers join it, so each starts in seconds."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="naswot-concurrent-tests")
    yield context.address_info["gcs_address"]
    ray.shutdown()


def test_two_runs_of_one_job_at_once_store_every_key_once_after_compact(ray_address, tmp_path, capsys) -> None:
    store = tmp_path / "store"
    command = [sys.executable, "-m", "naswot_ray.cli.main", "score-all", "--space", "nb201", "--metrics", "naswot",
               "--dataset", "random", "--batch-size", "8", "--limit", str(LIMIT), "--store", str(store),
               "--device", "cpu", "--no-progress", "--no-dashboard", "--num-workers", "1", "--address", ray_address,
               "--flush-rows", "1000", "--flush-seconds", "600"]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    runs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (out, err) in zip(runs, outputs):
        assert run.returncode == 0, err
        assert f"requested {LIMIT}, already stored 0, scored {LIMIT}" in out, out

    raw = Counter(Store(str(store)).load("scores").column("key").to_pylist())
    assert len(raw) == LIMIT and set(raw.values()) == {2}  # both runs stored every key

    code, out, err = run_inprocess(capsys, "export", "--store", str(store), "--space", "nb201", "--format", "csv",
                                   "--output", "-")
    assert code == 0, err
    rows = out.strip().splitlines()[1:]
    assert len(rows) == LIMIT and len({row.split(",")[0] for row in rows}) == LIMIT

    code, out, _ = run_inprocess(capsys, "store", "verify", "--store", str(store))
    assert code == 1 and f"problem: scores: {LIMIT} duplicate rows of scores keys" in out
    code, out, err = run_inprocess(capsys, "store", "compact", "--store", str(store))
    assert code == 0, err
    files = Counter(k for p in (store / "scores").glob("part-*.parquet") for k in pq.read_table(p).column("key").to_pylist())
    assert set(files) == set(raw) and set(files.values()) == {1}
    code, out, _ = run_inprocess(capsys, "store", "verify", "--store", str(store))
    assert code == 0 and out.strip().endswith(": OK"), out
