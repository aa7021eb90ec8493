"""A compaction killed at any step loses no key (issue 14, item 11).

The steps are the checkpoints ``compact`` reports after each change to the store; a helper process
forks one child per step and the child dies there with ``os._exit`` (no cleanup, no ``finally``: a
crash). After each crash the readers must see exactly the rows they saw before, and a later
compaction must finish the job: every key once in the files, ``store verify`` clean.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from naswot_ray.store import Store
from naswot_ray.store.compact import compact
from naswot_ray.store.verify import verify
from tests.store.storeutil import two_concurrent_runs

ROOT = Path(__file__).resolve().parents[2]
TARGET_ROWS = 6  # parts under 3 rows are small; merges of up to 6 rows: two batches of scores

CRASHER = r"""
import json, os, shutil, sys
from naswot_ray.store import Store
from naswot_ray.store.compact import compact
from naswot_ray.store.parquet_store import load_table_providers

load_table_providers()  # imported once here, not in every child
template, out, target_rows, labels = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
codes = {}
for i, label in enumerate(labels):
    copy = os.path.join(out, f"crash-{i}")
    shutil.copytree(template, copy)
    pid = os.fork()
    if pid == 0:
        def checkpoint(reached, label=label):
            if reached == label:
                os._exit(17)
        try:
            compact(Store(copy), target_rows=target_rows, checkpoint=checkpoint)
        except BaseException:
            import traceback; traceback.print_exc()
            os._exit(1)
        os._exit(0)
    codes[label] = os.waitpid(pid, 0)[1] >> 8
print(json.dumps(codes))
"""


def _view(root: Path) -> dict[str, dict]:
    return {r["key"]: r for r in Store(str(root)).read("scores").to_pylist()}


def _raw(root: Path) -> Counter:
    return Counter(k for p in (root / "scores").glob("part-*.parquet") for k in pq.read_table(p).column("key").to_pylist())


def test_a_compaction_crashed_at_every_step_loses_no_key(tmp_path) -> None:
    template = tmp_path / "template"
    store = two_concurrent_runs(template)
    store.write("scores", [{"key": "lone", "space": "nb201", "arch_index": 9, "metric": "naswot", "value": 0.5,
                            "status": "ok", "run_id": "L"}])
    store.write("runs", [{"run_id": "L", "status": "finished", "requested": 1, "skipped": 0, "scored": 1, "failed": 0}])
    leftover = template / "scores" / ".staged-part-crashed-scorer.parquet"
    leftover.write_bytes(b"half")
    os.utime(leftover, (time.time() - 2 * 86400,) * 2)
    before = _view(template)
    assert len(before) == 5 and max(_raw(template).values()) == 2

    rehearsal = tmp_path / "rehearsal"
    shutil.copytree(template, rehearsal)
    labels: list[str] = []
    compact(Store(str(rehearsal)), target_rows=TARGET_ROWS, checkpoint=labels.append)
    assert {"leftovers", "planned:scores", "superseded:scores", "written:scores:1:0", "deleted:scores:0:3",
            "planned:runs", "heartbeats"} <= set(labels), labels
    assert _view(rehearsal) == before and set(_raw(rehearsal).values()) == {1}

    crashes = tmp_path / "crashes"
    crashes.mkdir()
    done = subprocess.run([sys.executable, "-c", CRASHER, str(template), str(crashes), str(TARGET_ROWS), *labels],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    codes = json.loads(done.stdout.strip().splitlines()[-1])
    assert codes == dict.fromkeys(labels, 17), done.stderr  # each child died exactly at its step

    for i, label in enumerate(labels):
        copy = crashes / f"crash-{i}"
        assert _view(copy) == before, f"rows lost or changed after a crash at {label}"
        # the crashed compaction's heartbeat stops; it counts as ended after stale_after (short here)
        compact(Store(str(copy)), target_rows=TARGET_ROWS, stale_after=0.001)
        assert _view(copy) == before, label
        assert not (copy / "_heartbeats").exists() or not list((copy / "_heartbeats").iterdir()), label
        assert set(_raw(copy).values()) == {1}, f"a key twice in the files after recovering from {label}"
        assert verify(Store(str(copy))).ok, (label, verify(Store(str(copy))).lines())
