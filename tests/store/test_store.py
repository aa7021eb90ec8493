"""The Parquet store: atomic parts, one row per key on read, corrupt parts reported and quarantined."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from naswot_ray.errors import InputError
from naswot_ray.store import SCORES_SCHEMA, Store, conform, score_key


def _row(index: int, value: float, status: str = "ok", minutes: int = 0, key: str | None = None) -> dict:
    return {
        "key": key or score_key(space="nb201", space_options="", arch_index=index, metric="naswot", mode="reference",
                                bn_mode="train", num_classes=10, batch_sha256="abc", seed=1, metric_version=1,
                                metric_options="", device_class="cpu", memory_format="channels_last", labels_sha256=""),
        "space": "nb201", "space_options": "", "arch_index": index, "arch": f"a{index}", "metric": "naswot",
        "value": value, "status": status, "error": None if status == "ok" else "boom", "metric_version": 1,
        "created_at": datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=minutes),
    }


def test_write_is_atomic_and_readable(tmp_path) -> None:
    store = Store(str(tmp_path / "s"))
    path = store.write("scores", [_row(i, float(i)) for i in range(5)])
    assert path is not None and path.endswith(".parquet")
    files = list((tmp_path / "s" / "scores").iterdir())
    assert [f.name for f in files] == [path.rsplit("/", 1)[1]]  # no temporary file left behind
    table = store.read("scores")
    assert sorted(table.column("arch_index").to_pylist()) == [0, 1, 2, 3, 4]
    assert table.schema.names == SCORES_SCHEMA.names


def test_reader_sees_each_key_once_preferring_ok_then_latest(tmp_path) -> None:
    store = Store(str(tmp_path))
    store.write("scores", [_row(1, float("nan"), status="error", minutes=5)])
    store.write("scores", [_row(1, 10.0, minutes=1)])
    store.write("scores", [_row(2, 1.0, minutes=1), _row(2, 2.0, minutes=2)])
    table = store.read("scores").sort_by("arch_index")
    assert table.column("value").to_pylist() == [10.0, 2.0]
    assert len(store.load("scores")) == 4  # raw rows are all kept
    assert store.existing_keys(space="nb201", ok_only=True) == set(table.column("key").to_pylist())


def test_corrupt_part_is_reported_skipped_and_quarantined(tmp_path) -> None:
    store = Store(str(tmp_path))
    good = store.write("scores", [_row(1, 1.0)])
    bad = store.write("scores", [_row(2, 2.0)])
    with open(bad, "r+b") as fh:  # truncate: the footer is gone
        fh.truncate(40)
    assert store.read("scores").column("arch_index").to_pylist() == [1]
    assert [p.path for p in store.problems] == [bad]
    moved = store.quarantine()
    assert [p.path for p in moved] == [bad]
    assert store.part_files("scores") == [good]
    assert (tmp_path / "scores" / "quarantine").is_dir()
    fresh = Store(str(tmp_path))
    fresh.read("scores")
    assert fresh.problems == []


def test_conform_adds_missing_and_casts_columns() -> None:
    old = pa.table({"key": ["k"], "arch_index": pa.array([3], pa.int32()), "value": [1.5]})
    out = conform(old, SCORES_SCHEMA)
    assert out.schema == SCORES_SCHEMA
    assert out.column("arch_index").type == pa.int64()
    assert out.column("metric").to_pylist() == [None]


def test_parts_written_by_older_schemas_still_read(tmp_path) -> None:
    (tmp_path / "scores").mkdir()
    pq.write_table(pa.table({"key": ["k1"], "space": ["nb201"], "arch_index": [7], "value": [2.0],
                             "status": ["ok"]}), tmp_path / "scores" / "part-old.parquet")
    table = Store(str(tmp_path)).read("scores")
    assert table.column("arch_index").to_pylist() == [7]


def test_unknown_table_is_an_input_error(tmp_path) -> None:
    with pytest.raises(InputError, match="unknown table 'nope'"):
        Store(str(tmp_path)).write("nope", [{"a": 1}])


def test_runs_table_latest_row_wins(tmp_path) -> None:
    store = Store(str(tmp_path))
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    store.write("runs", [{"run_id": "r1", "status": "running", "created_at": t0}])
    store.write("runs", [{"run_id": "r1", "status": "finished", "created_at": t0 + timedelta(seconds=1)}])
    assert store.read("runs").column("status").to_pylist() == ["finished"]


def test_rows_from_before_metric_versions_read_as_version_0(tmp_path) -> None:
    """A part written with the old schema (no identity columns added since) is never rewritten; it reads as
    version 0 with no metric options, and its key stays what it was."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    store = Store(str(tmp_path / "s"))
    store.write("scores", [_row(1, 2.0)])
    (tmp_path / "s" / "scores").mkdir(exist_ok=True)
    old = pa.table({"key": ["oldkey"], "space": ["nb201"], "space_options": [""], "arch_index": pa.array([1], pa.int64()),
                    "metric": ["naswot"], "value": [1.0], "status": ["ok"]})
    pq.write_table(old, tmp_path / "s" / "scores" / "part-old.parquet")
    rows = {r["key"]: r for r in store.read("scores").to_pylist()}
    assert rows["oldkey"]["metric_version"] == 0 and rows["oldkey"]["metric_options"] == ""
    assert rows["oldkey"]["device_class"] is None
    new = next(r for k, r in rows.items() if k != "oldkey")
    assert new["metric_version"] == 1
    assert pq.read_table(tmp_path / "s" / "scores" / "part-old.parquet").column_names == old.column_names
