"""``store compact`` (issue 14, item 11) on stores written directly: merging, deduplication, the runs
it must not disturb (heartbeats), leftovers, and two compactions at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from naswot_ray.errors import EnvironmentProblem
from naswot_ray.store import Store
from naswot_ray.store.compact import compact
from naswot_ray.store.verify import verify
from tests.store.storeutil import raw_keys, run_row, score, two_concurrent_runs

ROOT = Path(__file__).resolve().parents[2]


def test_compact_merges_parts_keeps_the_rows_readers_pick_and_keeps_runs_verifiable(tmp_path) -> None:
    store = two_concurrent_runs(tmp_path)
    before = {r["key"]: r for r in store.read("scores").to_pylist()}
    assert max(raw_keys(tmp_path).values()) == 2
    report = compact(Store(str(tmp_path)))
    assert "scores: 6 parts (8 rows) -> 1 parts (4 rows), 4 duplicate rows dropped" in report.lines()
    counts = raw_keys(tmp_path)
    assert set(counts) == set(before) and set(counts.values()) == {1}  # every key exactly once, in the files
    after = {r["key"]: r for r in Store(str(tmp_path)).read("scores").to_pylist()}
    assert after == before  # the very rows readers picked before, column for column
    assert [r["run_id"] for r in sorted(after.values(), key=lambda r: r["arch_index"])] == ["B", "B", "B", "A"]
    superseded = Store(str(tmp_path)).read("superseded").to_pylist()
    assert sorted((r["run_id"], r["arch_index"], r["kept_run_id"]) for r in superseded) == [
        ("A", 0, "B"), ("A", 1, "B"), ("A", 2, "B"), ("B", 3, "A")]
    assert verify(Store(str(tmp_path))).ok  # each run still matches what it claims
    assert len(list((tmp_path / "runs").glob("part-*"))) == 1
    again = compact(Store(str(tmp_path)))
    assert all("nothing to compact" in line for line in again.lines())


def test_compact_splits_into_parts_of_target_rows_sorted_by_space_and_metric(tmp_path) -> None:
    store = Store(str(tmp_path))
    for chunk in range(5):
        store.write("scores", [score(i, float(i), "A", metric=m) for i in range(chunk * 4, chunk * 4 + 4)
                               for m in ("params", "naswot")])
    compact(Store(str(tmp_path)), target_rows=20)  # parts under 10 rows are small; merges hold up to 20
    parts = sorted((tmp_path / "scores").glob("part-*"))
    assert sorted(pq.read_metadata(p).num_rows for p in parts) == [8, 16, 16]
    for part in parts:
        rows = pq.read_table(part, columns=["metric", "arch_index"]).to_pylist()
        assert rows == sorted(rows, key=lambda r: (r["metric"], r["arch_index"]))


def test_compact_refuses_while_a_run_is_live_and_not_after_it_crashed(tmp_path) -> None:
    Store(str(tmp_path)).write("scores", [score(0, 0.0, "A")])
    script = ("import sys, time; from datetime import datetime, timezone; from naswot_ray.store import Store; "
              "s = Store(sys.argv[1]); s._heartbeats.interval = 0.2; now = datetime.now(timezone.utc); "
              "s.write('runs', [{'run_id': 'live', 'status': 'running', 'command': 'score-all', 'started_at': now, "
              "'created_at': now}]); print('ready', flush=True); time.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        beat = tmp_path / "_heartbeats" / "live.json"
        first = beat.stat().st_mtime
        time.sleep(1.0)
        assert beat.stat().st_mtime > first  # the driver's process keeps beating
        with pytest.raises(EnvironmentProblem, match=r"run live \(score-all, last heartbeat 0 s ago\) is running"):
            compact(Store(str(tmp_path)), stale_after=3)
        assert "note: run live (score-all, last heartbeat 0 s ago) is running" in verify(
            Store(str(tmp_path)), stale_after=3).lines()
    finally:
        proc.kill()  # the driver crashes: its heartbeat stops
        proc.wait()
    time.sleep(3.5)
    report = verify(Store(str(tmp_path)), stale_after=3)
    assert any("never finished (crashed)" in n and "run live" in n for n in report.notes)
    result = compact(Store(str(tmp_path)), stale_after=3)
    assert "removed 1 heartbeat(s) of ended runs" in result.lines()
    assert not (tmp_path / "_heartbeats" / "live.json").exists()


def test_a_running_row_without_a_heartbeat_counts_as_live_only_until_stale_after(tmp_path) -> None:
    store = Store(str(tmp_path))
    now = datetime.now(timezone.utc)
    store.write("runs", [run_row("old", "running", started=now - timedelta(hours=1))])
    store.write("runs", [run_row("new", "running", started=now)])
    for run in ("old", "new"):
        store.stop_heartbeat(run)  # as if written before heartbeats existed
    states = {r.run_id: r.live for r in Store(str(tmp_path)).running_runs(stale_after=120)}
    assert states == {"old": False, "new": True}


def test_a_heartbeat_stops_when_the_run_writes_its_final_row(tmp_path) -> None:
    store = Store(str(tmp_path))
    store.write("runs", [run_row("A", "running")])
    assert (tmp_path / "_heartbeats" / "A.json").exists()
    store.write("runs", [run_row("A", "finished")])
    assert not (tmp_path / "_heartbeats" / "A.json").exists()
    assert Store(str(tmp_path)).running_runs() == []


def test_compact_deletes_leftovers_older_than_a_day_only_and_skips_unreadable_parts(tmp_path) -> None:
    store = Store(str(tmp_path))
    store.write("scores", [score(0, 0.0, "A")])
    store.write("scores", [score(1, 1.0, "A")])
    bad = store.write("scores", [score(2, 2.0, "A")])
    with open(bad, "r+b") as fh:
        fh.truncate(25)
    old, young = tmp_path / "scores" / ".staged-part-old.parquet", tmp_path / "scores" / ".tmp-part-young.parquet"
    old.write_bytes(b"o")
    young.write_bytes(b"y")
    os.utime(old, (time.time() - 25 * 3600,) * 2)
    report = compact(Store(str(tmp_path)))
    assert not old.exists() and young.exists()
    assert "removed 1 staged part(s) or unfinished upload(s) older than a day" in report.lines()
    assert any(Path(bad).name in w and "unreadable" in w for w in report.skipped)
    assert Path(bad).exists()
    assert len(list((tmp_path / "scores").glob("part-*"))) == 2  # the two readable parts merged, the bad one left
    assert sorted(Store(str(tmp_path)).load("scores").column("key").to_pylist()) == ["naswot-0", "naswot-1"]


def test_of_two_compactions_at_once_only_the_older_goes_on(tmp_path) -> None:
    """An object store has no lock: each compaction beats, then backs off if an older one is live."""
    two_concurrent_runs(tmp_path)
    older = Store(str(tmp_path))
    older.start_heartbeat("compact-00000000-000000000000-aaaaaaaa")  # a compaction that started first
    try:
        with pytest.raises(EnvironmentProblem, match="another `store compact` .* is running on this store"):
            compact(Store(str(tmp_path)))
        assert max(raw_keys(tmp_path).values()) == 2  # nothing touched
    finally:
        older.stop_heartbeat("compact-00000000-000000000000-aaaaaaaa")
    younger = Store(str(tmp_path))
    younger.start_heartbeat("compact-99999999-999999999999-zzzzzzzz")  # started after: it is the one to back off
    try:
        compact(Store(str(tmp_path)))
        assert set(raw_keys(tmp_path).values()) == {1}
    finally:
        younger.stop_heartbeat("compact-99999999-999999999999-zzzzzzzz")


def test_compacting_a_crashed_runs_row_does_not_bring_its_heartbeat_back(tmp_path) -> None:
    store = Store(str(tmp_path))
    store.write("runs", [run_row("crashed", "running")])
    store.stop_heartbeat("crashed")  # the driver died: no beat, and the row stays `running`
    store.write("runs", [run_row("done", "running")])
    store.write("runs", [run_row("done", "finished")])
    compact(Store(str(tmp_path)))
    assert len(list((tmp_path / "runs").glob("part-*"))) == 1
    assert not list((tmp_path / "_heartbeats").glob("*.json"))
    assert [(r.run_id, r.live) for r in Store(str(tmp_path)).running_runs()] == [("crashed", False)]
