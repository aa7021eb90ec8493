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

The 2021-2025 proxies of issue 13 (AZ-NAS's four components, ZiCo, plain, epe_nas, l2_norm, MeCo, SWAP,
SWAP-reg, Zen, VKDNW, its aleph and jacov) run on every space too: the two
smallest of four seeded architectures per space, a 10-class head, 8 px images and batches of 2-4 (their
full protocols run on NB201 only, in ``scripts/measure_proxies.sh``); every row must be ``ok``. They run
through the actors' own scorer in process for every space, and through ``run_score_all`` on Ray for nb201.
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
    # plugin spaces other tests registered in this process say where they come from; the built-in ones are these
    listed = [line.split(":", 1)[0] for line in capsys.readouterr().out.splitlines()
              if line.strip() and "[from " not in line]
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


# -- the 2021-2025 proxies (issue 13) on every space: two small architectures, a 10-class head ------------

#: every metric added for issue 13 (the AZ-NAS group expands to its four components)
PROXIES = ["az_nas", "zico", "plain", "epe_nas", "l2_norm", "meco", "swap", "swap_reg", "zen", "vkdnw",
           "vkdnw_aleph", "vkdnw_jacov"]
#: small batches so the whole registry stays cheap; the full protocols run on NB201 only (scripts/)
PROXY_OPTIONS = {
    **{m: {"batch_size": 2} for m in ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity",
                                      "plain", "epe_nas", "zen", "vkdnw", "vkdnw_jacov")},
    "zico": {"batch_size": 2, "batches": 2},
    "swap": {"images": 2, "repeats": 1},
    "swap_reg": {"images": 2, "repeats": 1},
    "meco": {"images": 2},  # ImageNet-size networks reach 1x1 maps at 8 px: train-mode BN needs 2 values
}
PROXY_SIDE = 8
PROXY_CANDIDATES = 4


def small_indices(space: SearchSpace, count: int = 2) -> list[int]:
    """The ``count`` smallest networks (by parameters) among PROXY_CANDIDATES seeded indices (the first
    indices of an open-ended space)."""
    import numpy as np

    candidates = (list(range(PROXY_CANDIDATES)) if space.size is None
                  else [int(i) for i in np.random.default_rng(0).choice(space.size, PROXY_CANDIDATES, replace=False)])
    sizes = sorted((sum(p.numel() for p in space.build(space.arch(i), 10).parameters()), i) for i in candidates)
    return sorted(i for _p, i in sizes[:count])


@pytest.mark.parametrize("name", NAMES)
def test_every_new_proxy_scores_two_architectures(name: str) -> None:
    """Through the scorer the actors run (``ArchScorer``), in this process: the Ray path is the same for
    every metric and is covered once, on nb201, below; a Ray run per space cost ~30 s each in CI."""
    from naswot_ray.data import draw_batch
    from naswot_ray.engine.worker import ArchScorer

    space = get_space(name)
    indices = small_indices(space)
    job = _proxy_job(name, indices, store="unused")
    job.validate()
    rows = ArchScorer(job, draw_batch(job.batch)).score_indices(indices)
    _check_proxy_rows(name, rows, indices, job.metrics)


def test_every_new_proxy_scores_through_score_all_on_ray(local_ray, tmp_path) -> None:
    indices = small_indices(get_space("nb201"))
    job = _proxy_job("nb201", indices, store=str(tmp_path / "store"))
    job.validate()
    run_score_all(job)
    _check_proxy_rows("nb201", Store(str(tmp_path / "store")).read("scores").to_pylist(), indices, job.metrics)


def _proxy_job(name: str, indices: list[int], store: str) -> ScoreJob:
    from naswot_ray.metrics import parse_metric_list

    return ScoreJob(space=name, metrics=parse_metric_list(",".join(PROXIES)),
                    batch=BatchSpec("random", batch_size=4, seed=1, image_size=PROXY_SIDE), store=store,
                    indices=indices, num_classes=10, num_workers=2, progress=False, dashboard=False,
                    metric_options=PROXY_OPTIONS, device="cpu")


def _check_proxy_rows(name: str, rows: list[dict], indices: list[int], metrics: list[str]) -> None:
    assert sorted((r["arch_index"], r["metric"]) for r in rows) == sorted((i, m) for i in indices for m in metrics)
    errors = [(r["arch_index"], r["metric"], r["error"]) for r in rows if r["status"] != "ok"]
    assert not errors, f"{name}: {errors}"
    assert all(r["num_classes"] == 10 for r in rows)
