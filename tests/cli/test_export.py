"""``naswot-ray export``: every format reads back as exactly the stored float64 (issue 15), and the
command's edges: default store, ``--output -``, any-case ``--format``, unusable paths (one line, exit code)."""

from __future__ import annotations

import csv
import io
import json
import math
import struct
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from naswot_ray.store import Store
from tests.cliutil import run_inprocess
from tests.fsutil import read_only

#: values needing all 17 significant digits, the extremes of float64, and NASWOT's legal -inf
VALUES = [0.1 + 0.2, 1 / 3, -2 / 3 * 1e-5, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
          123456789.12345678, -1234.5678901234567, float("-inf"), float("inf")]
ERRORS = {20, 21}


def _store(root: Path) -> dict[int, float | None]:
    """A store with the values above (ok rows) and two error rows (NaN stored); returns index -> value."""
    rows, expected = [], {}
    for i, value in enumerate(VALUES):
        rows.append({"key": f"k{i}", "space": "nb201", "arch_index": i, "arch": f"a{i}", "metric": "naswot",
                     "mode": "reference", "value": value, "status": "ok", "seconds": 1 / 7,
                     "created_at": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)})
        expected[i] = value
    for i in ERRORS:
        rows.append({"key": f"k{i}", "space": "nb201", "arch_index": i, "arch": f"a{i}", "metric": "naswot",
                     "mode": "reference", "value": float("nan"), "status": "error", "error": "singular input",
                     "created_at": datetime(2026, 1, 2, tzinfo=timezone.utc)})
        expected[i] = None
    Store(str(root)).write("scores", rows)
    return expected


def _same(a: float | None, b: float | None) -> bool:
    """Bit-identical floats (so -0.0 != 0.0 and NaN == NaN), or both missing."""
    if a is None or b is None:
        return a is None and b is None
    return struct.pack("<d", a) == struct.pack("<d", b)


def _from_text(text: str) -> float | None:
    return None if text == "" else float(text)


def test_every_format_round_trips_the_stored_values_exactly(tmp_path, capsys) -> None:
    expected = _store(tmp_path / "s")
    outputs = {}
    for fmt in ("csv", "json", "parquet"):
        outputs[fmt] = tmp_path / f"out.{fmt}"
        code, out, err = run_inprocess(capsys, "export", "--store", str(tmp_path / "s"), "--space", "nb201",
                                       "--format", fmt, "--output", str(outputs[fmt]))
        assert code == 0 and err == "" and out == f"wrote {len(expected)} rows to {outputs[fmt]}\n"

    text = outputs["json"].read_text()
    assert "0.30000000000000004" in text and "1.7976931348623157e+308" in text
    records = json.loads(text)
    assert [r["arch_index"] for r in records] == sorted(expected)
    for record in records:
        value = record["value"]
        got = float(value) if isinstance(value, str) else value
        assert isinstance(value, (float, int, type(None))) or value in ("-inf", "inf"), value
        assert _same(got, expected[record["arch_index"]]), record
    assert {r["arch_index"] for r in records if r["value"] is None} == ERRORS
    assert records[0]["created_at"] == "2026-01-02T03:04:05.678901+00:00"
    assert _same(records[0]["seconds"], 1 / 7)

    rows = list(csv.DictReader(io.StringIO(outputs["csv"].read_text())))
    for row in rows:
        assert _same(_from_text(row["value"]), expected[int(row["arch_index"])]), row
    assert {r["value"] for r in rows if int(r["arch_index"]) in ERRORS} == {""}
    assert rows[0]["created_at"] == "2026-01-02T03:04:05.678901+00:00"

    table = pq.read_table(outputs["parquet"])
    for index, value in zip(table.column("arch_index").to_pylist(), table.column("value").to_pylist()):
        assert _same(value, expected[index])
    assert table.schema.names[:4] == ["arch_index", "arch", "metric", "value"]


def test_export_defaults_to_the_default_store_and_writes_to_stdout(tmp_path, capsys, monkeypatch) -> None:
    expected = _store(tmp_path / "naswot-store")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_inprocess(capsys, "export", "--space", "nb201", "--format", "CSV", "--output", "-")
    assert code == 0, err
    assert err == f"wrote {len(expected)} rows to standard output\n"
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(expected) and _same(float(rows[0]["value"]), VALUES[0])
    code, out, err = run_inprocess(capsys, "export", "--space", "nb201", "--format", "Json", "--output", "-")
    assert code == 0 and json.loads(out)[8]["value"] == "-inf"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["naswot-store"]  # nothing else written


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_unusable_store_and_output_paths_are_one_line_with_the_right_exit_code(tmp_path, capsys) -> None:
    _store(tmp_path / "s")
    afile = tmp_path / "afile"
    afile.write_text("x")
    base = ["export", "--space", "nb201", "--format", "csv"]

    code, _out, err = run_inprocess(capsys, *base, "--store", str(afile), "--output", str(tmp_path / "o.csv"))
    assert code == 2 and "is a file, not a store directory" in _one_line(err)
    code, _out, err = run_inprocess(capsys, *base, "--store", str(tmp_path / "s"), "--output", str(afile / "o.csv"))
    assert code == 2 and "cannot write --output" in _one_line(err)
    code, _out, err = run_inprocess(capsys, *base, "--store", str(tmp_path / "s"), "--output", str(tmp_path))
    assert code == 2 and "is a directory" in _one_line(err)
    code, _out, err = run_inprocess(capsys, *base[:-1], "xml", "--store", str(tmp_path / "s"), "--output", "-")
    assert code == 2 and "unknown format 'xml'; valid choices: csv, parquet, json" in _one_line(err)

    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only(folder):
        code, out, err = run_inprocess(capsys, *base, "--store", str(tmp_path / "s"), "--output", str(folder / "o.csv"))
    assert code == 1 and out == "" and "cannot write --output" in _one_line(err)
    assert list(folder.iterdir()) == []  # nothing half-written
    assert afile.read_text() == "x" and not (tmp_path / "o.csv").exists()


def test_export_reads_a_read_only_store(tmp_path, capsys) -> None:
    expected = _store(tmp_path / "s")
    with read_only(tmp_path / "s"):
        code, out, err = run_inprocess(capsys, "export", "--store", str(tmp_path / "s"), "--space", "nb201",
                                       "--format", "json", "--output", "-")
    assert code == 0, err
    assert len(json.loads(out)) == len(expected)


def test_score_all_on_a_read_only_store_holding_every_key_is_one_line_exit_1(tmp_path, capsys) -> None:
    from naswot_ray.data.sources import BatchSpec, draw_batch
    from naswot_ray.engine.driver import expected_keys, resolve_device
    from naswot_ray.engine.job import ScoreJob

    store_dir = tmp_path / "s"
    args = ["--space", "nb201", "--metrics", "naswot", "--dataset", "random", "--batch-size", "8", "--indices", "3,5",
            "--store", str(store_dir), "--device", "cpu", "--no-progress", "--no-dashboard"]
    job = ScoreJob(space="nb201", metrics=["naswot"], store=str(store_dir), device="cpu",
                   batch=BatchSpec(dataset="random", batch_size=8, seed=1, image_size=32, num_classes=10))
    job.device = resolve_device(job, None)
    batch = draw_batch(job.batch)
    keys = [k for i in (3, 5) for k in expected_keys(job, batch, i)]
    Store(str(store_dir)).write("scores", [{"key": k, "space": "nb201", "arch_index": 0, "metric": "naswot",
                                            "value": 1.0, "status": "ok"} for k in keys])
    before = {p: p.read_bytes() for p in store_dir.rglob("*") if p.is_file()}
    with read_only(store_dir):
        code, out, err = run_inprocess(capsys, "score-all", *args)
    assert code == 1, (out, err)
    assert "read-only" in _one_line(err)
    assert {p: p.read_bytes() for p in store_dir.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("value, shown", [(float("-inf"), "-inf"), (float("inf"), "inf"), (float("nan"), "nan"),
                                          (0.1, 0.1), (None, None)])
def test_json_numbers(value, shown) -> None:
    from naswot_ray.store.export import json_number

    assert json_number(value) == shown or (isinstance(shown, float) and math.isclose(json_number(value), shown))


def test_score_all_with_a_store_path_that_is_a_file_is_one_line_exit_2(tmp_path, capsys) -> None:
    afile = tmp_path / "store"
    afile.write_text("not a store")
    code, _out, err = run_inprocess(capsys, "score-all", "--space", "nb201", "--dataset", "random", "--limit", "2",
                                    "--store", str(afile), "--no-progress", "--no-dashboard")
    assert code == 2 and "is a file, not a store directory" in _one_line(err)
    assert afile.read_text() == "not a store"
