"""The scorer lifecycle on a real local Ray: runs that end instead of looping (issue 14 items 1, 2, 6, 7).

Faults that cannot be produced for real on a CPU box (a constructor that fails on one node, a broken GPU)
come from the test-only metrics in ``naswot_ray.testing``, loaded as a plugin in every scorer.
"""

from __future__ import annotations

import time

import pytest

from naswot_ray.data import BatchSpec
from naswot_ray.engine.driver import run_score_all
from naswot_ray.engine.job import ScoreJob
from naswot_ray.errors import EnvironmentProblem
from naswot_ray.store import Store

pytestmark = pytest.mark.ray


def _job(store, metrics, **kw) -> ScoreJob:
    defaults = dict(space="nb201", metrics=metrics, plugins=["naswot_ray.testing"], limit=12, seed=1,
                    batch=BatchSpec("random", batch_size=4, image_size=8), store=str(store), num_workers=2,
                    chunk_size=2, progress=False, dashboard=False, flush_rows=4, flush_seconds=1.0)
    defaults.update(kw)
    return ScoreJob(**defaults)


def _runs(store) -> list[dict]:
    return Store(str(store)).read("runs").to_pylist()


def test_scorers_that_never_start_stop_the_run_with_their_own_error(local_ray, tmp_path) -> None:
    store = tmp_path / "s"
    started = time.monotonic()
    with pytest.raises(EnvironmentProblem) as err:
        run_score_all(_job(store, ["broken_setup"], max_start_failures=2))
    assert time.monotonic() - started < 300  # ends (a few seconds on a quiet machine), never loops
    message = str(err.value)
    assert "\n" not in message
    assert "failed to start 2 times in a row" in message
    assert "simulated constructor failure: /data/imagenet16 is missing on this node" in message
    assert [r["status"] for r in _runs(store)] == ["failed"]
    assert Store(str(store)).load("scores").num_rows == 0


def test_a_run_goes_on_without_the_slot_that_cannot_start(local_ray, tmp_path) -> None:
    store = tmp_path / "s"
    summary = run_score_all(_job(store, ["broken_setup"], metric_options={"broken_setup": {"broken": "scorer-0"}},
                                 max_start_failures=2))
    assert (summary.scored, summary.failed) == (12, 0)
    # retired, or (when the healthy scorer finished first) still failing to start: either way the summary says so
    said = [line for line in summary.lines() if line.startswith(("scorer retired: scorer-0", "scorer start failed: scorer-0"))]
    assert len(said) == 1 and "simulated constructor failure" in said[0], summary.lines()
    rows = Store(str(store)).read("scores").to_pylist()
    assert len(rows) == 12 and {r["worker"].split("@")[0] for r in rows} == {"scorer-1"}


def test_a_broken_device_retires_its_scorer_and_its_work_is_done_elsewhere(local_ray, tmp_path) -> None:
    store = tmp_path / "s"
    summary = run_score_all(_job(store, ["device_error"], metric_options={"device_error": {"broken": "scorer-0", "healthy_seconds": 1.0}},
                                 max_device_errors=2))
    # the healthy scorer needs ~12 s for the 12 architectures, so the broken one starts while work is left
    assert (summary.scored, summary.failed) == (12, 0)
    assert len(summary.retired) == 1 and "scorer-0 retired after 2 device errors in a row" in summary.retired[0]
    rows = Store(str(store)).read("scores").to_pylist()
    # no device error is ever stored as the architecture's error: all 12 are ok, scored by the healthy scorer
    assert len(rows) == 12 and all(r["status"] == "ok" for r in rows)
    assert {r["worker"].split("@")[0] for r in rows} == {"scorer-1"}


def test_every_device_broken_ends_the_run_and_stores_no_device_error(local_ray, tmp_path) -> None:
    store = tmp_path / "s"
    with pytest.raises(EnvironmentProblem, match="no scorer could work: .*device errors in a row"):
        run_score_all(_job(store, ["device_error"], max_device_errors=2))
    assert Store(str(store)).load("scores").num_rows == 0  # the keys stay unscored: a rerun on good GPUs scores them


def test_an_exception_outside_any_metric_is_that_architectures_error_row(local_ray, tmp_path) -> None:
    """Item 6: an exception escaping the scoring of one architecture (here: its arch string cannot be made) is
    that architecture's error row; the run goes on."""
    from naswot_ray.spaces import get_space

    space = get_space("nb201")

    class Flaky(type(space)):
        def arch(self, index):
            if index == 5:
                raise KeyError("cell table damaged at 5")
            return super().arch(index)

    job = _job(tmp_path / "s", ["params"], indices=list(range(8)), limit=None, space_object=Flaky())
    summary = run_score_all(job)
    assert (summary.scored, summary.failed) == (7, 1)
    rows = {r["arch_index"]: r for r in Store(str(tmp_path / "s")).read("scores").to_pylist()}
    assert rows[5]["status"] == "error" and "cell table damaged at 5" in rows[5]["error"]


def test_arch_timeout_through_real_scorer_actors(local_ray, tmp_path) -> None:
    """Item 7: a deliberately slow metric on Ray actors: the slow architecture becomes an error row, in bounded
    time, and the scorer goes on with the next one."""
    job = _job(tmp_path / "s", ["sleep"], indices=list(range(4)), limit=None, arch_timeout=1.0,
               metric_options={"sleep": {"seconds": 30.0}})
    started = time.monotonic()
    summary = run_score_all(job)
    assert time.monotonic() - started < 90
    assert (summary.scored, summary.failed) == (0, 4)
    rows = Store(str(tmp_path / "s")).read("scores").to_pylist()
    assert all(r["status"] == "error" and "time limit of 1 s" in r["error"] for r in rows)
