"""Everything that defines an architecture travels with the job (issue 14 item 9): a worker whose own
environment says something else still scores exactly what the driver meant by each index."""

from __future__ import annotations

import pytest

from naswot_ray.data import BatchSpec
from naswot_ray.engine.driver import run_score_all
from naswot_ray.engine.job import ScoreJob
from naswot_ray.spaces import get_space
from naswot_ray.spaces.nb101.space import MAX_VERTICES_ENV
from naswot_ray.store import Store

pytestmark = pytest.mark.ray


def test_nb101_vertex_limit_is_the_drivers_not_the_workers(local_ray, tmp_path, monkeypatch) -> None:
    # the Ray workers were started with the test session's NASWOT_RAY_NB101_MAX_VERTICES=5; the driver now says 4,
    # under which index 50 is a different cell
    monkeypatch.setenv(MAX_VERTICES_ENV, "4")
    space = type(get_space("nb101"))()
    assert space.max_vertices == 4
    five = type(get_space("nb101"))(max_vertices=5)
    assert space.arch(50) != five.arch(50)
    job = ScoreJob(space="nb101", metrics=["params"], batch=BatchSpec("random", batch_size=4, image_size=32),
                   store=str(tmp_path / "s"), indices=[50, 51], space_object=space, num_workers=1,
                   progress=False)
    assert run_score_all(job).scored == 2
    rows = {r["arch_index"]: r for r in Store(str(tmp_path / "s")).read("scores").to_pylist()}
    assert rows[50]["arch"] == space.arch(50) and rows[51]["arch"] == space.arch(51)
    assert rows[50]["space_options"] == "max_vertices=4"
