"""``naswot-ray rerun RUN_ID``: a stored run's exact configuration, replayed.

On a copy of the store it resumes to "nothing to do"; into an empty store it reproduces every value under
the same keys; for a registered space (run from a job file) and for a space from a ``--plugin`` module.
One local Ray (2 CPUs) serves the whole module; its workers import the plugin from a test folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from naswot_ray.store import Store
from tests.cliutil import run_inprocess
from tests.pluginutil import ray_on_path, write_plugin_module

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("rerun-plugins")
    write_plugin_module(directory, "rerun_plugin", space="rerun_space", metric="rerun_depth")
    with ray_on_path(directory):
        yield directory


def values(store: Path) -> dict[str, float]:
    return {r["key"]: r["value"] for r in Store(str(store)).read("scores").to_pylist()}


def only_run(store: Path) -> str:
    (run_id,) = Store(str(store)).read("runs").column("run_id").to_pylist()
    return run_id


def first_run(store: Path, job_file: Path | None, args: list[str], capsys) -> str:
    config = ["--config", str(job_file)] if job_file else []
    code, _out, err = run_inprocess(capsys, "score-all", *config, *args, "--store", str(store), "--no-progress",
                                    "--no-dashboard")
    assert code == 0, err
    return only_run(store)


RUNS = {
    # a registered space, every option from a job file
    "nb201-job-file": ("space: nb201\nmetrics: [naswot, params]\ndataset: random\nbatch-size: 8\nseed: 4\n"
                       "indices: [3, 17]\nnum-workers: 2\n", []),
    # a space and a metric from a --plugin module
    "plugin-module": (None, ["--plugin", "rerun_plugin", "--space", "rerun_space", "--metrics", "naswot,rerun_depth",
                             "--dataset", "random", "--batch-size", "8", "--num-workers", "2"]),
}


@pytest.mark.parametrize("case", list(RUNS))
def test_rerun_resumes_to_nothing_and_reproduces_every_value(plugin_dir, tmp_path, capsys, case: str) -> None:
    text, args = RUNS[case]
    job_file = None
    if text is not None:
        job_file = tmp_path / "job.yaml"
        job_file.write_text(text)
    original = tmp_path / "original"
    run_id = first_run(original, job_file, args, capsys)
    stored = values(original)
    assert stored and all(v == v for v in stored.values())

    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    parts = sorted(p.name for p in (copy / "scores").iterdir())
    code, out, err = run_inprocess(capsys, "rerun", run_id, "--store", str(copy), "--no-progress")
    assert code == 0, err
    assert f": nothing to do: all {len(stored) // 2} requested architectures are already stored" in out.splitlines()[0]
    assert sorted(p.name for p in (copy / "scores").iterdir()) == parts

    empty = tmp_path / "empty"
    code, out, err = run_inprocess(capsys, "rerun", run_id, "--store", str(original), "--into", str(empty),
                                   "--no-progress", "--no-dashboard")
    assert code == 0, err
    assert values(empty) == stored  # the same keys, the same floats
    (replay,) = [r for r in Store(str(empty)).read("runs").to_pylist()]
    assert replay["command"] == f"rerun {run_id}"


@pytest.mark.parametrize("args, message", [
    (["nope-run"], "no run 'nope-run' in store {store!r}; latest runs: "),
    (["any-run", "--num-workers", "0"], "Invalid value for '--num-workers'"),
])
def test_bad_reruns_are_one_line_and_write_nothing(tmp_path, capsys, args, message) -> None:
    store = tmp_path / "store"
    from tests.analysis.score_rows import write_scores

    write_scores(Store(str(store)), space="nb201", indices=[1], archs=["x"], values=[1.0])
    before = sorted(p.name for p in store.rglob("*"))
    code, out, err = run_inprocess(capsys, "rerun", *args, "--store", str(store))
    assert code == 2 and not out and len(err.strip().splitlines()) == 1
    assert err.startswith("error: " + message.format(store=str(store)))
    assert sorted(p.name for p in store.rglob("*")) == before


def test_rerun_of_a_missing_store_is_one_line(tmp_path, capsys) -> None:
    code, _out, err = run_inprocess(capsys, "rerun", "r1", "--store", str(tmp_path / "none"))
    assert code == 2 and err.strip() == f"error: store {str(tmp_path / 'none')!r} does not exist"
    assert not (tmp_path / "none").exists()
