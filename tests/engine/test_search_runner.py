"""Searches on a real local Ray: R runs as Ray tasks equal R sequential runs; live scoring on scorer actors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from naswot_ray.engine.search_runner import run_on_ray, run_search
from naswot_ray.search import Budget, SearchOptions, rng_for
from naswot_ray.search.execution import execute, plan_runs
from naswot_ray.search.job import SearchJob
from naswot_ray.spaces import get_space
from naswot_ray.store import Store
from tests.search import fixtures

pytestmark = pytest.mark.ray


def _same(a, b) -> bool:
    """Equal outcomes apart from wall time (NaN-safe through repr)."""
    return a.task == b.task and repr(vars(a.result)) == repr(vars(b.result))


def test_parallel_runs_on_ray_equal_sequential_runs(local_ray) -> None:
    problem = fixtures.naslib_problem()
    cases = {
        "naswot": [{"n": 10}, {"n": 100}],
        "rea": [{"population": 10, "sample_size": 3, "budget": Budget("queries", 50).to_json()}],
        "area": [{"population": 10, "sample_size": 3, "candidates": 20, "budget": Budget("queries", 50).to_json()}],
    }
    for name, settings in cases.items():
        tasks = plan_runs(len(settings), 12, seed=3)
        sequential = execute(name, problem, settings, tasks)
        parallel, rows = run_on_ray(name, problem, settings, tasks, batches=5)  # uneven batches on 2 CPUs
        assert rows == []
        assert len(parallel) == len(sequential) == len(tasks)
        assert all(_same(p, s) for p, s in zip(parallel, sequential)), name
        assert len({o.result.arch_index for o in parallel}) > 1


def test_live_naswot_scores_on_the_scorer_actors_and_stores_the_scores(local_ray, tmp_path: Path) -> None:
    root = tmp_path / "store"
    fixtures.write_accuracies(Store(str(root)))
    job = SearchJob("naswot", store=str(root), options=SearchOptions(n=[3]), runs=2, seed=4, score_source="live",
                    dataset="random", batch_size=8, num_workers=1, executor="ray")
    outcome = run_search(job)
    assert outcome.executor == "ray" and len(outcome.rows) == 2
    assert outcome.prepared.score_source.startswith("live:naswot[mode=reference dataset=random")
    store = Store(str(root))
    scores = store.read("scores").to_pandas().set_index("arch_index")
    assert outcome.scores_written == len(scores) and (scores["status"] == "ok").all()
    space = get_space("nb201")
    for row in outcome.rows:
        drawn = space.sample(rng_for(row["run_seed"]), 3)
        values = scores.loc[drawn, "value"].to_numpy()
        assert row["arch_index"] == drawn[int(np.argmax(values))]
        assert row["score"] == values.max()
        assert row["simulated_seconds"] == pytest.approx(scores.loc[drawn, "seconds"].sum())
        assert json.loads(row["accuracies"])["cifar10:ori-test:200"] == pytest.approx(
            fixtures.column_values("cifar10", "ori-test", 200)[row["arch_index"]])
    searches = store.read("searches")
    assert searches.num_rows == 2 and set(searches.column("run_id").to_pylist()) == {outcome.run_id}
    assert store.read("runs").column("command").to_pylist() == ["search naswot"]
