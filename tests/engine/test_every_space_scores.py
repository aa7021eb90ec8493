"""``score-all --space SPACE --limit 20`` succeeds on CPU for every space ``naswot-ray spaces`` lists.

Parametrised over the registry, so a new space is covered with no edit here. Each space runs the real
engine (``run_score_all`` on the module's local Ray, 2 scorer actors) with NASWOT and the parameter
count, and every one of the 20 requested architectures must come back with an ``ok`` row per metric.
No space has architectures that are expected to fail with the default builders (``EXPECTED_ERRORS``
would list them).

Smaller inputs in CI, to keep the whole file to a few minutes on two CPU cores (every architecture still
builds in full; the networks end in global average pooling, so only the cost changes), on a batch of 4:

* finite benchmark spaces (nb201, nats_sss, nb101) run at their own input size (32 px);
* open-ended (sampled NDS) spaces draw networks of up to ~50M parameters among their first 20 indices, so
  they run at half their side: 16 px for the CIFAR-10 spaces;
* ImageNet-size spaces (224 px, the ``_in`` variants) run at 32 px.

nb101 is its V <= 5 part here (tests/conftest.py sets NASWOT_RAY_NB101_MAX_VERTICES), which the rows'
``space_options`` records as ``max_vertices=5``.
"""

from __future__ import annotations

import math

import pytest

from naswot_ray.data import BatchSpec
from naswot_ray.engine.driver import run_score_all
from naswot_ray.engine.job import ScoreJob
from naswot_ray.spaces import SearchSpace, get_space, space_names
from naswot_ray.store import Store

pytestmark = [pytest.mark.ray, pytest.mark.slow]

NAMES = space_names()
LIMIT = 20
METRICS = ["naswot", "params"]
BATCH = 4  # NASWOT needs >= 2 images; 4 keeps the 20 x 23 forwards cheap
#: space -> indices (of the --limit sample) whose networks cannot be built or scored; none today
EXPECTED_ERRORS: dict[str, set[int]] = {}


def ci_image_side(space: SearchSpace) -> int:
    """The input side used here (see the module docstring for why it differs from the space's own)."""
    if space.input_size > 64:
        return 32
    if space.size is None:
        return space.input_size // 2
    return space.input_size


def test_every_listed_space_is_covered(capsys) -> None:
    from naswot_ray.cli.main import main

    try:
        main(["spaces"])
    except SystemExit as exc:  # click may exit 0 on its own
        assert not exc.code
    listed = [line.split(":", 1)[0] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert listed == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_score_all_limit_20(local_ray, tmp_path, name: str) -> None:
    space = get_space(name)
    side = ci_image_side(space)
    job = ScoreJob(space=name, metrics=METRICS, batch=BatchSpec("random", batch_size=BATCH, seed=1, image_size=side),
                   store=str(tmp_path / "store"), limit=LIMIT, num_workers=2, progress=False, dashboard=False)
    requested = job.requested_indices()
    summary = run_score_all(job)

    assert summary.requested == LIMIT and len(requested) == LIMIT
    rows = Store(str(tmp_path / "store")).read("scores").to_pylist()
    assert sorted((r["arch_index"], r["metric"]) for r in rows) == sorted((i, m) for i in requested for m in METRICS)
    errors = {r["arch_index"]: r["error"] for r in rows if r["status"] != "ok"}
    assert all(errors.values()), "every error row carries a message"
    assert set(errors) == EXPECTED_ERRORS.get(name, set()), f"{name}: unexpected error rows {errors}"
    assert summary.failed == len(errors) and summary.scored == LIMIT - len(errors)
    for row in rows:
        assert row["space"] == space.name and row["space_options"] == space.options_key()
        assert row["arch"] == space.arch(row["arch_index"])
        if row["status"] == "ok" and row["metric"] == "params":
            assert row["value"] > 0 and row["value"] == int(row["value"])
        if row["status"] == "ok" and row["metric"] == "naswot":
            assert not math.isnan(row["value"])
    if name == "nb101":
        assert {r["space_options"] for r in rows} == {"max_vertices=5"}
