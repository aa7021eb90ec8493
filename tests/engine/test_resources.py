"""Resources the job asks for: rejected at once where nothing can add them, waited for (boundedly) on a
cluster, and used when they arrive mid-run (issues 15 "Hangs" and 16 item 3).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from naswot_ray.data import BatchSpec
from naswot_ray.engine.driver import run_score_all
from naswot_ray.engine.job import ScoreJob
from naswot_ray.errors import EnvironmentProblem
from naswot_ray.store import Store
from tests.cliutil import run_inprocess

pytestmark = pytest.mark.ray

torch = pytest.importorskip("torch")
NO_GPU = not torch.cuda.is_available()


def _job(store: Path, **kw) -> ScoreJob:
    defaults = dict(space="nb201", metrics=["params"], plugins=["naswot_ray.testing"], limit=6, seed=1,
                    batch=BatchSpec("random", batch_size=4, image_size=8), store=str(store), chunk_size=1,
                    progress=False, dashboard=False, flush_rows=2, flush_seconds=1.0)
    defaults.update(kw)
    return ScoreJob(**defaults)


@pytest.mark.skipif(not NO_GPU, reason="checks the no-GPU path; this machine has a GPU")
@pytest.mark.parametrize("flags", [["--device", "cuda"], ["--gpus-per-worker", "1"], ["--device", "cuda:0"]])
def test_gpus_on_a_machine_without_them_are_one_line_at_once(tmp_path, capsys, flags) -> None:
    store = tmp_path / "s"
    started = time.monotonic()
    code, _out, err = run_inprocess(capsys, "score-all", "--dataset", "random", "--limit", "2", "--store", str(store),
                                    "--no-progress", *flags)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "this machine has none" in lines[0], err
    assert time.monotonic() - started < 60
    assert not store.exists()


def test_an_unreachable_cluster_is_one_line_exit_1_and_writes_nothing(tmp_path, capsys) -> None:
    store = tmp_path / "s"
    started = time.monotonic()
    code, _out, err = run_inprocess(capsys, "score-all", "--dataset", "random", "--limit", "2", "--store", str(store),
                                    "--address", "127.0.0.1:1", "--no-progress")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1, err
    assert "cannot connect to the Ray cluster at '127.0.0.1:1'" in lines[0]
    assert time.monotonic() - started < 60
    assert not store.exists()  # no runs row left as "running"


@pytest.fixture
def small_cluster():
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    c = Cluster(initialize_head=True, head_node_args=dict(num_cpus=1, object_store_memory=80 * 1024 * 1024,
                                                          include_dashboard=False))
    yield c
    if ray.is_initialized():
        ray.shutdown()
    c.shutdown()


def test_gpus_a_cluster_never_gets_are_waited_for_then_one_line(small_cluster, tmp_path) -> None:
    store = tmp_path / "s"
    job = _job(store, address=small_cluster.address, device="cuda", wait_for_resources=4.0)
    started = time.monotonic()
    with pytest.raises(EnvironmentProblem, match=r"no scorer could start within 4 s: each asks for 1 GPU"):
        run_score_all(job)
    assert time.monotonic() - started < 90
    assert [r["status"] for r in Store(str(store)).read("runs").to_pylist()] == ["failed"]


def test_scorers_start_on_a_node_that_joins_mid_run(small_cluster, tmp_path) -> None:
    """The head holds one scorer; a node added mid-run gets two more, which do work (the head's one CPU
    is taken by the first scorer, so work by the others proves the new node did it)."""
    store = tmp_path / "s"
    job = _job(store, address=small_cluster.address, metrics=["sleep"], limit=80,
               metric_options={"sleep": {"seconds": 0.4}})
    outcome: dict = {}

    def drive() -> None:
        try:
            outcome["summary"] = run_score_all(job)
        except BaseException as exc:  # surfaced below
            outcome["error"] = exc

    thread = threading.Thread(target=drive)
    thread.start()
    deadline = time.monotonic() + 180
    while not list((store / "scores").glob("part-*.parquet")) if (store / "scores").exists() else True:
        assert time.monotonic() < deadline and thread.is_alive(), "the run wrote nothing"
        time.sleep(0.2)
    small_cluster.add_node(num_cpus=2, object_store_memory=80 * 1024 * 1024)
    thread.join(timeout=300)
    assert not thread.is_alive() and "error" not in outcome, outcome.get("error")
    summary = outcome["summary"]
    assert summary.joined == 2 and summary.workers == 3 and summary.scored == 80
    workers = {r["worker"].split("@")[0] for r in Store(str(store)).read("scores").to_pylist()}
    assert {"scorer-1", "scorer-2"} & workers, workers
    assert len(workers) <= summary.scorers_working <= 3  # every scorer that wrote rows has reported
    assert any("2 joined while running" in line for line in summary.lines())
