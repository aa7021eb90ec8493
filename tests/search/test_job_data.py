"""Loading a search from the store (oracle, score variants, coverage), the searches rows and the summary."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from naswot_ray.errors import InputError
from naswot_ray.search import Budget, Column, SearchOptions
from naswot_ray.search.data import ScoreSelection, load_oracle, load_stored_scores
from naswot_ray.search.execution import execute
from naswot_ray.search.job import SearchJob, prepare
from naswot_ray.search.records import search_rows
from naswot_ray.search.summary import SUMMARY_COLUMNS, format_summary, summarise
from naswot_ray.spaces import get_space
from naswot_ray.store import Store
from tests.search import fixtures

SPACE = get_space("nb201")


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both shared accuracy tables for all cells; NASLib NASWOT scores (with timings) for 725 cells."""
    root = tmp_path_factory.mktemp("search") / "store"
    store = Store(str(root))
    fixtures.write_accuracies(store)
    indices, scores, seconds = fixtures.naslib_nwot()
    values = scores.copy()
    values[:3] = [np.nan, -np.inf, np.nan]  # two failed scores and one singular kernel
    fixtures.write_scores(store, indices, values, seconds)
    return root


def test_oracle_uses_12_epoch_fitness_and_reports_200_epoch_columns_in_paper_order(store_dir: Path) -> None:
    loaded = load_oracle(Store(str(store_dir)), SPACE)
    oracle = loaded.oracle
    assert oracle.fitness_column == Column("cifar10-valid", "x-valid", 12) and loaded.fitness_defaulted
    assert [c.label for c in oracle.report_columns] == [
        "cifar10-valid:x-valid:200", "cifar10:ori-test:200", "cifar100:x-test:200", "ImageNet16-120:x-valid:200",
        "ImageNet16-120:x-test:200"]
    assert loaded.missing_paper_columns == ["cifar100:x-valid:200"]
    np.testing.assert_array_equal(oracle.fitness, fixtures.column_values("cifar10-valid", "x-valid", 12))
    np.testing.assert_array_equal(oracle.report["cifar10:ori-test:200"], fixtures.column_values("cifar10", "ori-test", 200))
    assert not oracle.has_times()
    chosen = load_oracle(Store(str(store_dir)), SPACE, fitness=Column("cifar100", "x-valid", 12), report_epochs=12)
    assert chosen.oracle.fitness_column.label == "cifar100:x-valid:12"
    assert "cifar100:x-valid:12" in chosen.oracle.report and chosen.missing_paper_columns == []
    with pytest.raises(InputError, match="unknown fitness column 'cifar100:x-valid:200'; available: "):
        load_oracle(Store(str(store_dir)), SPACE, fitness=Column("cifar100", "x-valid", 200))


def test_stored_scores_keep_failures_as_nan_and_singular_kernels_as_minus_inf(store_dir: Path) -> None:
    scores = load_stored_scores(Store(str(store_dir)), SPACE, ScoreSelection("naswot"))
    indices, values, seconds = fixtures.naslib_nwot()
    assert scores.present.sum() == len(indices) == 725
    assert np.isnan(scores.values[indices[0]]) and scores.values[indices[1]] == -np.inf
    np.testing.assert_array_equal(scores.values[indices[3:]], values[3:])
    np.testing.assert_allclose(scores.seconds[indices], seconds)
    assert scores.source.startswith("stored:naswot[mode=reference dataset=naslib-nwot")


def test_several_score_variants_must_be_told_apart(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "s"))
    fixtures.write_scores(store, [1, 2, 3], [1.0, 2.0, 3.0], seed=1)
    fixtures.write_scores(store, [1, 2, 3], [3.0, 2.0, 1.0], seed=2)
    with pytest.raises(InputError, match=r"2 stored variants of naswot for space 'nb201': naswot\[seed=1\] \(3 archs\), "
                                         r"naswot\[seed=2\] \(3 archs\); name one with --metric, e.g. --metric "
                                         r"'naswot\[seed=1\]', or pick with --mode, --score-seed"):
        load_stored_scores(store, SPACE, ScoreSelection("naswot"))
    second = load_stored_scores(store, SPACE, ScoreSelection("naswot", seed=2))
    assert second.values[[1, 2, 3]].tolist() == [3.0, 2.0, 1.0]
    named = load_stored_scores(store, SPACE, ScoreSelection("naswot[seed=2]"))  # the name analyze gives it
    assert named.values[[1, 2, 3]].tolist() == [3.0, 2.0, 1.0]
    with pytest.raises(InputError, match=r"no stored variant 'naswot\[seed=3\]' .*stored: naswot\[seed=1\], naswot\[seed=2\]"):
        load_stored_scores(store, SPACE, ScoreSelection("naswot[seed=3]"))
    # a lower-is-better metric is negated, so searches always maximise
    fixtures.write_scores(store, [4, 5], [10.0, 20.0], metric="ntk_cond", batch_sha256="none")
    ntk = load_stored_scores(store, SPACE, ScoreSelection("ntk_cond"))
    assert ntk.values[[4, 5]].tolist() == [-10.0, -20.0]
    with pytest.raises(InputError, match="no stored naswot scores .* matching seed=9; compute them with naswot-ray "
                                         "score-all --space nb201 --metrics naswot"):
        load_stored_scores(store, SPACE, ScoreSelection("naswot", seed=9))


def test_prepare_names_missing_scores_and_the_command_that_computes_them(store_dir: Path) -> None:
    job = SearchJob("naswot", store=str(store_dir), options=SearchOptions(n=[10]))
    with pytest.raises(InputError, match=r"^14,900 of 15,625 nb201 architectures have no stored naswot score .*"
                                         r"naswot-ray score-all --space nb201 --metrics naswot --store .*--within-scored"):
        prepare(job)
    job.within_scored = True
    prepared = prepare(job)
    assert len(prepared.problem.domain.pool) == 725
    assert "not the paper's protocol" in prepared.notes[0]


def test_prepare_rejects_what_cannot_be_charged_or_combined(store_dir: Path) -> None:
    cases = [
        (SearchJob("rea", store=str(store_dir), options=SearchOptions(budget=Budget("seconds", 12000))),
         "no training times for the fitness column cifar10-valid:x-valid:12, so --budget-seconds cannot be charged"),
        (SearchJob("rea", store=str(store_dir), options=SearchOptions(budget=Budget("queries", 50)), score_source="live"),
         "--live does not apply to search 'rea'"),
        (SearchJob("naswot", store=str(store_dir), score_source="live", within_scored=True),
         "cannot be combined with --live"),
        (SearchJob("naswot", store=str(store_dir), runs=0), "--runs must be at least 1"),
        (SearchJob("naswot", store=str(store_dir / "nowhere")), "does not exist"),
        (SearchJob("naswot", store=str(store_dir), fitness="cifar10"), "malformed accuracy column 'cifar10'"),
    ]
    for job, message in cases:
        with pytest.raises(InputError, match=message):
            prepare(job)


def test_a_partial_fitness_column_is_refused_for_budgeted_searches(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "partial"))
    store.write("accuracies", fixtures.accuracy_table(indices=range(500)))
    job = SearchJob("rea", store=str(tmp_path / "partial"), options=SearchOptions(budget=Budget("queries", 50)))
    with pytest.raises(InputError, match="rea needs a fitness accuracy for every architecture, but column "
                                         "cifar10-valid:x-valid:12 has 500 of 15,625"):
        prepare(job)


def test_searches_rows_carry_the_chosen_architecture_and_its_accuracies(store_dir: Path) -> None:
    job = SearchJob("naswot", store=str(store_dir), options=SearchOptions(n=[10, 100]), runs=4, within_scored=True)
    prepared = prepare(job)
    outcomes = execute("naswot", prepared.problem, prepared.settings, prepared.tasks)
    rows = search_rows(algorithm="naswot", problem=prepared.problem, settings=prepared.settings, outcomes=outcomes,
                       seed=1, run_id="r1", score_source=prepared.score_source)
    assert len(rows) == 8 and [r["n"] for r in rows] == [10] * 4 + [100] * 4
    for row in rows:
        accuracies = json.loads(row["accuracies"])
        assert accuracies["cifar10:ori-test:200"] == fixtures.column_values("cifar10", "ori-test", 200)[row["arch_index"]]
        assert row["arch"] == SPACE.arch(row["arch_index"])
        assert math.isfinite(row["score"]) and row["queries"] == 0 and row["scored"] == json.loads(row["params"])["n"]
    assert len({r["key"] for r in rows}) == 8
    again = search_rows(algorithm="naswot", problem=prepared.problem, settings=prepared.settings, outcomes=outcomes,
                        seed=1, run_id="r2", score_source=prepared.score_source)
    assert [r["key"] for r in again] == [r["key"] for r in rows]  # same search, same identity


def test_summary_is_mean_and_sample_std_per_column_with_median_time() -> None:
    def row(setting: str, acc: float | None, seconds: float) -> dict:
        return {"algorithm": "naswot", "setting": setting, "n": int(setting[2:]), "simulated_seconds": seconds,
                "wall_seconds": 0.001, "queries": 0, "accuracies": json.dumps({"cifar10:ori-test:200": acc,
                                                                               "cifar100:x-test:200": 50.0})}
    rows = [row("N=10", 90.0, 1.0), row("N=10", 92.0, 3.0), row("N=10", 94.0, 100.0), row("N=10", None, 2.0),
            row("N=100", 93.0, 10.0)]
    frame = summarise(rows, ["cifar10:ori-test:200", "cifar100:x-test:200"])
    assert list(frame.columns) == SUMMARY_COLUMNS
    first = frame.iloc[0]
    assert (first["algorithm"], first["n"], first["dataset"], first["split"], first["epochs"]) == \
        ("naswot", 10, "cifar10", "ori-test", 200)
    assert first["mean"] == pytest.approx(92.0) and first["std"] == pytest.approx(2.0)  # ddof=1
    assert first["runs"] == 3 and first["median_seconds"] == pytest.approx(2.5)
    assert frame.iloc[1]["runs"] == 4
    lone = frame.iloc[2]
    assert lone["runs"] == 1 and math.isnan(lone["std"])
    text = format_summary(frame)
    assert "92.00 ± 2.00" in text and "93.00 ± -" in text
    assert text.splitlines()[0].split()[:3] == ["algorithm", "setting", "runs"]
