"""An ensemble of stored scores as NASWOT Algorithm 1's and AREA's score: pool-relative values by hand, heads,
error rows and -inf, the run's choice worked out independently, and the options that do not apply."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from naswot_ray.errors import InputError
from naswot_ray.search import Domain, get_algorithm, rng_for
from naswot_ray.search.data import ScoreSelection, load_stored_scores
from naswot_ray.search.job import SearchJob, prepare
from naswot_ray.spaces import get_space
from naswot_ray.store import Store
from tests.analysis.score_rows import write_scores
from tests.search import fixtures

CELLS = np.arange(0, 3000, 7)  # 429 scored cells


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Shared NB201 accuracies; AZ-NAS's four components on CELLS, zico with 10- and 100-class heads."""
    root = tmp_path_factory.mktemp("search-ensembles") / "store"
    store = Store(str(root))
    fixtures.write_accuracies(store, with_12=False)
    space = get_space("nb201")
    rng = np.random.default_rng(4)
    acc = fixtures.column_values("cifar10", "ori-test", 200)[CELLS]
    archs = [space.arch(int(i)) for i in CELLS]
    data = {f"az_{c}": acc + rng.normal(scale=s, size=len(CELLS)) for c, s in
            (("expressivity", 8), ("progressivity", 20), ("trainability", 10), ("complexity", 5))}
    data["az_trainability"][3] = -np.inf  # an identity cell: legal, ranked lowest
    data["az_expressivity"][5] = np.nan   # an error row: no ensemble value for that cell
    for name, values in data.items():
        write_scores(store, space="nb201", indices=CELLS, archs=archs, values=values, metric=name, mode="default",
                     batch_sha256="g" * 64)
    for classes in (10, 100):
        data[f"zico{classes}"] = acc + rng.normal(scale=6, size=len(CELLS))
        write_scores(store, space="nb201", indices=CELLS, archs=archs, values=data[f"zico{classes}"], metric="zico",
                     mode="default", num_classes=classes)
    return root, data


def _az_by_hand(data: dict, positions: np.ndarray) -> np.ndarray:
    """AZ-NAS over the pool ``positions`` (positions into CELLS, repeats allowed); NaN where a member errs."""
    parts = [data[f"az_{c}"][positions] for c in ("expressivity", "progressivity", "trainability", "complexity")]
    usable = ~np.isnan(np.vstack(parts)).any(axis=0)
    out = np.full(len(positions), np.nan)
    n = usable.sum()
    out[usable] = sum(np.log(stats.rankdata(p[usable]) / n) for p in parts)
    return out


def test_an_ensemble_is_ranked_among_the_candidates_of_each_call(store_dir) -> None:
    root, data = store_dir
    scorer = load_stored_scores(Store(str(root)), get_space("nb201"), ScoreSelection("ensemble:az_nas"))
    assert scorer.scored_indices.tolist() == CELLS.tolist()
    for positions in (np.array([0, 3, 5, 9, 9, 40, 100]), np.arange(60)):
        batch = scorer.score(CELLS[positions])
        np.testing.assert_allclose(batch.values, _az_by_hand(data, positions), rtol=1e-12, equal_nan=True)
    assert np.isnan(scorer.score(CELLS[[5, 6]]).values[0])  # the error row has no value, so it is never chosen
    assert scorer.source == ("stored:ensemble:az_nas = az_expressivity, az_progressivity, az_trainability, "
                             "az_complexity")
    with pytest.raises(KeyError, match="no stored score of every member"):
        scorer.score([1])


def test_heads_are_picked_with_num_classes(store_dir) -> None:
    root, data = store_dir
    store, space = Store(str(root)), get_space("nb201")
    with pytest.raises(InputError, match=r"zico is stored with 2 head sizes \(10, 100\).*pick one with --num-classes"):
        load_stored_scores(store, space, ScoreSelection("ensemble:zico+az_complexity"))
    scorer = load_stored_scores(store, space, ScoreSelection("ensemble:zico+az_complexity", num_classes=100))
    positions = np.arange(30)
    expected = stats.rankdata(data["zico100"][positions]) + stats.rankdata(data["az_complexity"][positions])
    np.testing.assert_allclose(scorer.score(CELLS[positions]).values, expected)
    single = load_stored_scores(store, space, ScoreSelection("zico", num_classes=10))  # a plain metric's head too
    np.testing.assert_allclose(single.values[CELLS], data["zico10"])


def test_naswot_and_area_runs_choose_by_the_ensemble(store_dir) -> None:
    root, data = store_dir
    job = SearchJob(algorithm="naswot", store=str(root), metric="ensemble:az_nas", within_scored=True, runs=5,
                    options=_options(n=[25]))
    prepared = prepare(job)
    problem = prepared.problem
    assert any("429 scored architectures only" in note for note in prepared.notes)
    naswot = get_algorithm("naswot")
    for task in prepared.tasks:
        result = naswot.run(problem, prepared.settings[task.setting], task.run_seed)
        drawn = Domain(get_space("nb201"), pool=CELLS).sample_candidates(rng_for(task.run_seed), 25)
        values = _az_by_hand(data, np.searchsorted(CELLS, drawn))
        assert result.arch_index == drawn[int(np.nanargmax(values))]  # the best aggregate of this run's pool
    area = prepare(SearchJob(algorithm="area", store=str(root), metric="ensemble:az_nas", within_scored=True,
                             runs=2, fitness="cifar10-valid:x-valid:200", options=_options(budget=30)))
    result = get_algorithm("area").run(area.problem, area.settings[0], area.tasks[0].run_seed)
    assert result.queries <= 30 and result.arch_index >= 0


def _options(**values):
    from naswot_ray.search import Budget, SearchOptions

    if "budget" in values:
        values["budget"] = Budget("queries", values["budget"])
    return SearchOptions(**values)


def test_options_that_do_not_apply_to_an_ensemble(store_dir) -> None:
    root, _ = store_dir
    for job, message in (
            (SearchJob(algorithm="naswot", store=str(root), metric="ensemble:az_nas", score_source="live"),
             "an ensemble combines stored scores"),
            (SearchJob(algorithm="naswot", store=str(root), metric="ensemble:az_nas", mode="clean", within_scored=True),
             "--mode and --batch pick a variant of one metric"),
            (SearchJob(algorithm="naswot", store=str(root), metric="ensemble:az_nas+", within_scored=True),
             "an empty member"),
            (SearchJob(algorithm="rea", store=str(root), metric="ensemble:az_nas", options=_options(budget=10)),
             "does not apply to search 'rea'"),
            (SearchJob(algorithm="naswot", store=str(root), metric="ensemble:vkdnw_agg", within_scored=True),
             "ensemble:vkdnw_agg needs vkdnw_aleph, which is not stored")):
        with pytest.raises(InputError, match=message):
            prepare(job)


def test_a_partly_scored_ensemble_names_its_members(store_dir) -> None:
    root, _ = store_dir
    with pytest.raises(InputError, match=r"15,196 of 15,625 nb201 architectures have no stored score of every member "
                                         r"of ensemble:az_nas .*--metrics az_expressivity,az_progressivity,az_trainability,"
                                         r"az_complexity .*or pass --within-scored"):
        prepare(SearchJob(algorithm="naswot", store=str(root), metric="ensemble:az_nas"))
