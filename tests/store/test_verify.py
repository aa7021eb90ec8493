"""``store verify`` (issue 14, item 11) on stores written directly."""

from __future__ import annotations

import os
import time
from pathlib import Path

from naswot_ray.store import Store
from naswot_ray.store.verify import verify
from tests.store.storeutil import run_row, score, two_concurrent_runs


def test_verify_passes_a_healthy_store(tmp_path) -> None:
    store = Store(str(tmp_path))
    store.write("runs", [run_row("A", "running")])
    store.write("scores", [score(i, float(i), "A") for i in range(3)] + [score(3, float("nan"), "A", status="error")])
    store.write("runs", [run_row("A", "finished", requested=5, skipped=1, scored=3, failed=1)])
    report = verify(Store(str(tmp_path)))
    assert report.ok, report.lines()
    assert report.lines()[-1] == f"store {tmp_path}: OK"
    assert "scores: 1 parts, 4 rows, 4 distinct keys" in report.lines()


def test_verify_reports_duplicates_unreadable_parts_inconsistent_runs_and_old_leftovers(tmp_path) -> None:
    store = two_concurrent_runs(tmp_path)
    store.write("runs", [run_row("C", "finished", requested=2, scored=2)])  # claims rows it never wrote
    store.write("scores", [score(7, 7.0, "D")])  # a run with no runs row
    bad = store.write("scores", [score(9, 9.0, "A")])
    with open(bad, "r+b") as fh:
        fh.truncate(25)
    old = tmp_path / "scores" / ".staged-part-x.parquet"
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    (tmp_path / "scores" / ".staged-part-y.parquet").write_bytes(b"y")
    report = verify(Store(str(tmp_path)))
    text = "\n".join(report.lines())
    assert not report.ok
    assert "problem: scores: 4 duplicate rows of scores keys" in text
    assert f"problem: scores/{Path(bad).name} is unreadable (corrupt:" in text
    assert "problem: run C (score-all, finished) claims 2 scored + 0 failed architectures; the store holds rows of 0" in text
    assert "problem: scores/.staged-part-x.parquet: a staged part or unfinished upload 48 h old" in text
    assert "note: scores: 1 staged part(s) or upload(s) in flight" in text
    assert "note: scores: rows of 1 run(s) with no runs row (e.g. D)" in text
    assert "run A" not in text and "run B" not in text  # both hold exactly what they claim
    assert len(report.problems) == 4
