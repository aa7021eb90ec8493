"""The command line: listings, one-line errors with exit code 2 and nothing written, export formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from naswot_ray.store import Store
from tests.cliutil import run_inprocess

EXE = [sys.executable, "-m", "naswot_ray.cli.main"]
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    return subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def test_spaces_and_metrics_list_one_line_each(capsys) -> None:
    from naswot_ray.metrics import metric_names
    from naswot_ray.spaces import space_names

    code, out, _ = run_inprocess(capsys, "spaces")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == len(space_names())
    assert any(line.startswith("nb201: 15,625 architectures") and "nats_tss" in line for line in lines)
    code, out, _ = run_inprocess(capsys, "metrics")
    # one line per metric; its version, legal non-finite values and options follow on indented lines
    assert code == 0 and len([line for line in out.splitlines() if not line.startswith(" ")]) == len(metric_names())
    assert any(line.startswith("naswot:") and "reference, clean" in line for line in out.splitlines())


@pytest.mark.parametrize("args, fragment", [
    (["--space", "nb999"], "unknown space 'nb999'; valid choices:"),
    (["--metrics", "naswot,nope"], "unknown metric 'nope'; valid choices:"),
    (["--dataset", "mnist"], "unknown dataset 'mnist'; valid choices: cifar10"),
    (["--indices", "1,x,3"], "malformed index list '1,x,3'"),
    (["--indices", "99999"], "index 99999 is outside space 'nb201'"),
    (["--dataset", "cifar10", "--data-root", "/nonexistent/dir"], "--data-root '/nonexistent/dir' does not exist"),
    (["--dataset", "npz:/nonexistent.npz"], "npz file '/nonexistent.npz' does not exist"),
    (["--mode", "fancy"], "unknown mode 'fancy'"),
    (["--limit", "abc"], "'abc' is not an integer; expected an integer >= 1"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, args, fragment) -> None:
    store = tmp_path / "store"
    code, _out, err = run_inprocess(capsys, "score-all", "--store", str(store), *args)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert fragment in lines[0]
    assert not store.exists()


def test_bad_input_exit_code_from_the_installed_entry_point(tmp_path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"\x00garbage")
    result = run("score-all", "--store", str(tmp_path / "s"), "--dataset", f"npz:{bad}")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "cannot read npz file" in result.stderr
    assert not (tmp_path / "s").exists()


@pytest.mark.ray
def test_score_all_then_export_in_every_format(tmp_path) -> None:
    store = tmp_path / "store"
    result = run("score-all", "--space", "nb201", "--metrics", "naswot,params", "--dataset", "random",
                 "--batch-size", "16", "--indices", "0,1,2", "--store", str(store), "--no-progress",
                 "--no-dashboard", "--num-workers", "1")
    assert result.returncode == 0, result.stderr
    assert "scored 3, failed 0" in result.stdout
    csv_path = tmp_path / "out.csv"
    assert run("export", "--store", str(store), "--space", "nb201", "--format", "csv", "--output", str(csv_path)).returncode == 0
    header, *rows = csv_path.read_text().strip().splitlines()
    assert header.split(",")[:5] == ['"arch_index"', '"arch"', '"metric"', '"value"', '"status"']
    assert len(rows) == 6
    only = tmp_path / "naswot.parquet"
    assert run("export", "--store", str(store), "--space", "nats_tss", "--metric", "naswot", "--format", "parquet",
               "--output", str(only)).returncode == 0
    table = pq.read_table(only)
    assert table.num_rows == 3 and set(table.column("metric").to_pylist()) == {"naswot"}
    js = tmp_path / "out.json"
    assert run("export", "--store", str(store), "--space", "nb201", "--format", "json", "--output", str(js)).returncode == 0
    records = json.loads(js.read_text())
    assert {r["arch_index"] for r in records} == {0, 1, 2}
    bad = run("export", "--store", str(store), "--space", "nb201", "--format", "xml", "--output", str(tmp_path / "x"))
    assert bad.returncode == 2 and "unknown format 'xml'" in bad.stderr and not (tmp_path / "x").exists()
    missing = run("export", "--store", str(store), "--space", "nb201", "--metric", "synflow", "--format", "csv",
                  "--output", str(tmp_path / "y.csv"))
    assert missing.returncode == 2 and "no scores for metric 'synflow'" in missing.stderr
    assert Store(str(store)).read("runs").num_rows == 1
