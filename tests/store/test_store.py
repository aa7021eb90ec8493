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


# -- resume reads: projected and filtered -----------------------------------------------------------

def _rows(space: str, metric: str, indices, status: str = "ok") -> list[dict]:
    return [{"key": f"{space}-{metric}-{i}", "space": space, "arch_index": i, "arch": f"a{i}", "metric": metric,
             "value": float(i), "status": status, "error": None if status == "ok" else "boom",
             "created_at": datetime(2026, 1, 1, tzinfo=timezone.utc)} for i in indices]


def _corrupt_column(path: str, column: str) -> None:
    """Overwrite the data of one column chunk with garbage (the footer and every other column stay intact)."""
    meta = pq.ParquetFile(path).metadata.row_group(0)
    chunk = next(meta.column(i) for i in range(meta.num_columns) if meta.column(i).path_in_schema == column)
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    with open(path, "r+b") as fh:
        fh.seek(start)
        fh.write(b"\xff" * chunk.total_compressed_size)


def test_existing_keys_reads_only_the_key_column_of_the_rows_asked_for(tmp_path) -> None:
    store = Store(str(tmp_path))
    store.write("scores", _rows("nb201", "naswot", range(4)) + _rows("nb201", "params", range(4)))
    store.write("scores", _rows("nb101", "naswot", range(3)) + _rows("nb201", "naswot", [4], status="error"))
    damaged = store.write("scores", _rows("nb201", "naswot", [5, 6]))
    _corrupt_column(damaged, "arch")  # a reader that decodes every column cannot read this part
    with pytest.raises(Exception):
        pq.read_table(damaged)
    assert store.existing_keys(space="nb201", metrics=["naswot"]) == {f"nb201-naswot-{i}" for i in range(7)}
    assert store.existing_keys(space="nb201", metrics=["naswot"], ok_only=True) == {
        f"nb201-naswot-{i}" for i in (0, 1, 2, 3, 5, 6)}
    assert store.existing_keys(space="nb201", among=["nb201-params-1", "nb201-params-9", "nb101-naswot-0"]) == {
        "nb201-params-1"}
    assert store.existing_keys(space="nb101") == {f"nb101-naswot-{i}" for i in range(3)}
    assert store.problems == []  # the projected read never touched the damaged column
    store.load("scores")
    assert [p.path for p in store.problems] == [damaged]  # a full read does


def test_read_keys_reads_only_those_rows_and_picks_what_readers_pick(tmp_path) -> None:
    store = Store(str(tmp_path))
    store.write("scores", [_row(1, 1.0, minutes=1), _row(2, 2.0, minutes=1), _row(3, 3.0)])
    store.write("scores", [_row(1, 1.5, minutes=2), _row(2, float("nan"), status="error", minutes=5)])
    wanted = [_row(i, 0.0)["key"] for i in (1, 2)]
    picked = store.read_keys(wanted + ["absent"]).sort_by("arch_index")
    assert picked.column("value").to_pylist() == [1.5, 2.0]
    assert picked.schema.names == SCORES_SCHEMA.names
    errors_too = store.read_keys([_row(2, 0.0)["key"]], ok_only=False)
    assert errors_too.column("value").to_pylist() == [2.0]  # an ok row beats a later error row
    assert store.read_keys([]).num_rows == 0
    other = store.write("scores", _rows("nb201", "naswot", range(10)))
    _corrupt_column(other, "arch")  # a part holding none of the keys: only its key column may be read
    assert store.read_keys(wanted, space="nb201").sort_by("arch_index").column("value").to_pylist() == [1.5, 2.0]
    assert store.read_keys(wanted, space="nb101").num_rows == 0
    assert store.problems == []


def test_a_part_compacted_away_between_listing_and_reading_is_replaced_by_a_new_listing(tmp_path) -> None:
    writer = Store(str(tmp_path))
    first = writer.write("scores", [_row(1, 1.0)])
    writer.write("scores", [_row(2, 2.0)])
    stale = writer.part_files("scores")
    merged = writer.write("scores", Store(str(tmp_path)).load("scores"), tag="compact")
    import os

    os.unlink(first)
    os.unlink(stale[1])

    class StaleListing(Store):
        listings = 0

        def part_files(self, table: str) -> list[str]:
            StaleListing.listings += 1
            return stale if StaleListing.listings == 1 else super().part_files(table)

    reader = StaleListing(str(tmp_path))
    assert sorted(reader.load("scores").column("arch_index").to_pylist()) == [1, 2]
    assert reader.problems == [] and StaleListing.listings == 2 and merged in reader.part_files("scores")


# -- staged parts (scorers write, the sampler commits) ----------------------------------------------

def test_a_staged_part_is_invisible_until_committed_and_can_be_discarded(tmp_path) -> None:
    store = Store(str(tmp_path))
    staged = store.write("scores", [_row(1, 1.0)], staged=True)
    assert staged.rsplit("/", 1)[1].startswith(".staged-part-")
    assert store.part_files("scores") == [] and store.load("scores").num_rows == 0
    final = store.commit_staged(staged)
    assert store.part_files("scores") == [final] and store.load("scores").num_rows == 1
    other = store.write("scores", [_row(2, 2.0)], staged=True)
    store.discard_staged(other)
    store.discard_staged(other)  # twice is fine
    assert sorted(p.name for p in (tmp_path / "scores").iterdir()) == [final.rsplit("/", 1)[1]]
    with pytest.raises(ValueError, match="not a staged part"):
        store.commit_staged(final)


# -- where the store is, and whether it can be written ----------------------------------------------

def test_a_store_path_that_is_a_file_is_one_line(tmp_path) -> None:
    path = tmp_path / "afile"
    path.write_text("x")
    with pytest.raises(InputError, match="is a file, not a store directory"):
        Store(str(path))
    with pytest.raises(InputError, match="not a directory"):
        Store(str(path / "below")).write("scores", [_row(1, 1.0)])
    assert path.read_text() == "x"


def test_writing_to_a_read_only_store_is_an_environment_problem_and_writes_nothing(tmp_path) -> None:
    from naswot_ray.errors import EnvironmentProblem
    from tests.fsutil import read_only

    store = Store(str(tmp_path / "s"))
    store.write("scores", [_row(1, 1.0)])
    before = sorted(p.name for p in (tmp_path / "s" / "scores").iterdir())
    with read_only(tmp_path / "s"):
        with pytest.raises(EnvironmentProblem, match="read-only") as caught:
            Store(str(tmp_path / "s")).write("scores", [_row(2, 2.0)])
        assert "\n" not in str(caught.value)
        assert Store(str(tmp_path / "s")).existing_keys() == {_row(1, 1.0)["key"]}  # reading still works
    assert sorted(p.name for p in (tmp_path / "s" / "scores").iterdir()) == before


def test_an_upload_cut_mid_write_on_an_object_store_leaves_no_visible_part(tmp_path) -> None:
    """Object stores have no rename: a part is uploaded under a hidden name and copied to its final name
    only once complete. The faulty stream completes the cut upload when closed, as pyarrow's S3 stream
    does, so a writer that put the final name first would leave a truncated part visible."""
    from tests.store.faultfs import faulty_filesystem

    fs, handler = faulty_filesystem()
    store = Store(str(tmp_path / "s"), filesystem=fs)
    assert not store.is_local
    store.write("scores", [_row(1, 1.0)])
    handler.cut_uploads_after = 100
    with pytest.raises(Exception):
        store.write("scores", [_row(i, float(i)) for i in range(2, 50)])
    handler.cut_uploads_after = None
    assert Store(str(tmp_path / "s")).load("scores").column("arch_index").to_pylist() == [1]
    leftovers = [p.name for p in (tmp_path / "s" / "scores").iterdir() if p.name.startswith(".tmp-")]
    assert leftovers, "the cut upload left its hidden object (store compact deletes it after a day)"


def test_a_store_pickles_to_a_ray_actor_without_its_heartbeats(tmp_path) -> None:
    import pickle

    store = Store(str(tmp_path))
    store.write("runs", [{"run_id": "r", "status": "running"}])
    try:
        copy = pickle.loads(pickle.dumps(store))
        assert copy.root == store.root and copy.read("runs").num_rows == 1
        copy.write("scores", [_row(1, 1.0)])
        assert store.existing_keys() == {_row(1, 1.0)["key"]}
    finally:
        store.stop_heartbeat("r")
