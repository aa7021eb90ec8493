"""The Ray engine end to end on a real local Ray: scoring, resume, exactly-once keys."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest

from naswot_ray.data import BatchSpec
from naswot_ray.engine.driver import run_score_all
from naswot_ray.engine.job import ScoreJob
from naswot_ray.store import Store

pytestmark = pytest.mark.ray


def _job(store: str, **kw) -> ScoreJob:
    spec = BatchSpec("random", batch_size=16, seed=1, image_size=16)
    defaults = dict(space="nb201", metrics=["naswot", "params"], batch=spec, store=store, progress=False,
                    num_workers=2, chunk_size=2, flush_rows=6)
    defaults.update(kw)
    return ScoreJob(**defaults)


def test_scores_every_requested_key_once_and_resumes(local_ray, tmp_path) -> None:
    store_dir = str(tmp_path / "store")
    first = run_score_all(_job(store_dir, indices=list(range(8))))
    assert (first.requested, first.scored, first.failed, first.skipped) == (8, 8, 0, 0)
    assert first.rows_written == 16
    store = Store(store_dir)
    raw = store.load("scores")
    assert raw.num_rows == 16 and len(set(raw.column("key").to_pylist())) == 16
    assert set(raw.column("worker").to_pylist()) <= {"scorer-0@" + w.split("@")[1] for w in raw.column("worker").to_pylist()} | {
        "scorer-1@" + w.split("@")[1] for w in raw.column("worker").to_pylist()}
    # rerun with more indices: the stored 8 are skipped, only the 4 new ones are scored
    second = run_score_all(_job(store_dir, indices=list(range(12))))
    assert (second.requested, second.skipped, second.scored) == (12, 8, 4)
    raw = store.load("scores")
    assert raw.num_rows == 24 and len(set(raw.column("key").to_pylist())) == 24
    runs = store.read("runs")
    assert sorted(runs.column("status").to_pylist()) == ["finished", "finished"]


def test_results_do_not_depend_on_worker_count(local_ray, tmp_path) -> None:
    one = run_score_all(_job(str(tmp_path / "a"), indices=[5, 6, 7], num_workers=1, metrics=["naswot"]))
    two = run_score_all(_job(str(tmp_path / "b"), indices=[5, 6, 7], num_workers=2, chunk_size=1, metrics=["naswot"]))
    assert one.scored == two.scored == 3
    a = Store(str(tmp_path / "a")).read("scores").sort_by("arch_index")
    b = Store(str(tmp_path / "b")).read("scores").sort_by("arch_index")
    assert a.column("value").to_pylist() == b.column("value").to_pylist()
    assert a.column("key").to_pylist() == b.column("key").to_pylist()


def test_error_rows_are_not_retried_unless_asked(local_ray, tmp_path) -> None:
    store_dir = str(tmp_path / "s")
    run_score_all(_job(store_dir, indices=[1, 2], metrics=["naswot"]))
    store = Store(store_dir)
    table = store.load("scores")
    # turn one row into an error, as a failed scoring would have stored it
    rows = table.to_pylist()
    for row in rows:
        row["status"], row["value"], row["error"] = "error", float("nan"), "simulated"
    import shutil

    shutil.rmtree(tmp_path / "s" / "scores")
    store.write("scores", rows[:1])
    store.write("scores", rows[1:] and [dict(rows[1], status="ok", value=1.0, error=None)])
    assert run_score_all(_job(store_dir, indices=[1, 2], metrics=["naswot"])).skipped == 2
    retried = run_score_all(_job(store_dir, indices=[1, 2], metrics=["naswot"], retry_errors=True))
    assert (retried.skipped, retried.scored) == (1, 1)
    current = store.read("scores")
    assert pc.all(pc.equal(current.column("status"), "ok")).as_py()


@pytest.mark.ray
def test_a_relative_store_path_means_the_drivers_folder_not_the_scorers(local_ray, tmp_path, monkeypatch) -> None:
    """Scorers write their own parts from Ray worker processes, whose working directory is not the driver's:
    a relative --store must still land where the user ran the command."""
    monkeypatch.chdir(tmp_path)
    job = ScoreJob(space="nb201", metrics=["params"], batch=BatchSpec("random", batch_size=4, image_size=8),
                   store="./rel-store", indices=[0, 1, 2], num_workers=2, chunk_size=1, progress=False)
    assert run_score_all(job).scored == 3
    assert Store(str(tmp_path / "rel-store")).read("scores").num_rows == 3
    assert job.store == str(tmp_path / "rel-store")
