"""The search algorithms as pure functions: determinism per seed, the pick rules, budgets, AREA's seeding.

Real data: NB201 accuracies of all 15,625 cells from ../shared/data, NASLib's NASWOT scores for 725 cells
(candidates drawn from those with a pool, as ``--within-scored`` does).
"""

from __future__ import annotations

import numpy as np
import pytest

from naswot_ray.errors import InputError
from naswot_ray.search import (AccuracyOracle, Budget, Domain, ScoreBatch, SearchOptions, SearchProblem, StoredScores,
                               algorithm_names, best_by_score, get_algorithm, known_sum, rank_by_score, rng_for)
from naswot_ray.search.execution import execute, plan_runs
from naswot_ray.search.seeds import run_seed
from naswot_ray.spaces import get_space
from tests.search import fixtures

SPACE = get_space("nb201")


@pytest.fixture(scope="module")
def problem() -> SearchProblem:
    return fixtures.naslib_problem()


def _run(name: str, problem: SearchProblem, params: dict, seeds: range = range(5)):
    return [get_algorithm(name).run(problem, params, run_seed(1, r)) for r in seeds]


# -- pick rules ------------------------------------------------------------------------------------

def test_best_by_score_ignores_nan_and_inf_and_keeps_the_first_of_ties() -> None:
    assert best_by_score(np.array([1.0, np.nan, 3.0, -np.inf, 3.0])) == 2
    assert best_by_score(np.array([-np.inf, np.nan, -5.0])) == 2
    assert best_by_score(np.array([np.inf, 2.0])) == 1  # +inf is not finite either
    assert best_by_score(np.array([-np.inf, np.nan, -np.inf])) == 0  # nothing finite: the first drawn
    assert rank_by_score(np.array([2.0, np.nan, 5.0, 2.0, -np.inf])).tolist() == [2, 0, 3, 1, 4]
    assert known_sum(np.array([1.0, np.nan, 2.0])) == 3.0 and np.isnan(known_sum(np.array([np.nan, np.nan])))


def test_the_registry_lists_the_searches_and_rejects_unknown_names() -> None:
    assert {"naswot", "random", "rea", "area"} <= set(algorithm_names())  # other modules may add more
    with pytest.raises(InputError, match="unknown search algorithm 'nosuch'; valid choices: area, naswot, random, rea"):
        get_algorithm("nosuch")


# -- NASWOT Algorithm 1 ----------------------------------------------------------------------------

def test_naswot_picks_the_best_scored_of_n_draws_with_replacement(problem: SearchProblem) -> None:
    params = {"n": 100}
    for r in range(20):
        seed = run_seed(1, r)
        result = get_algorithm("naswot").run(problem, params, seed)
        drawn = problem.domain.pool[rng_for(seed).integers(0, len(problem.domain.pool), size=100)]
        values = problem.scorer.values[drawn]
        assert result.arch_index == drawn[int(np.argmax(values))]
        assert result.best_score == values.max()
        assert result.queries == 0 and result.scored == 100
        assert result.simulated_seconds == pytest.approx(problem.scorer.seconds[drawn].sum())
        assert result.fitness == problem.oracle.fitness[result.arch_index]


def test_every_algorithm_is_a_pure_function_of_its_seed(problem: SearchProblem) -> None:
    cases = {"naswot": {"n": 50}, "random": {"n": 20, "budget": Budget("queries", 20).to_json()},
             "rea": {"population": 10, "sample_size": 3, "budget": Budget("queries", 60).to_json()},
             "area": {"population": 10, "sample_size": 3, "candidates": 20, "budget": Budget("queries", 60).to_json()}}
    for name, params in cases.items():
        first = _run(name, problem, params)
        again = _run(name, problem, params)
        assert [repr(vars(r)) for r in first] == [repr(vars(r)) for r in again], name
        assert len({r.arch_index for r in first}) > 1, f"{name}: five seeds should not all pick one architecture"


def test_naswot_falls_back_to_the_first_draw_when_no_score_is_finite() -> None:
    values = np.full(SPACE.size, -np.inf)
    values[::2] = np.nan
    scorer = StoredScores(values, np.zeros(SPACE.size), np.ones(SPACE.size, dtype=bool))
    problem = SearchProblem(Domain(SPACE), fixtures.oracle(), scorer)
    seed = run_seed(3, 0)
    result = get_algorithm("naswot").run(problem, {"n": 10}, seed)
    assert result.arch_index == SPACE.sample(rng_for(seed), 10)[0]


def test_naswot_breaks_ties_by_draw_order() -> None:
    values = np.zeros(SPACE.size)  # every architecture ties
    scorer = StoredScores(values, np.zeros(SPACE.size), np.ones(SPACE.size, dtype=bool))
    problem = SearchProblem(Domain(SPACE), fixtures.oracle(), scorer)
    for r in range(5):
        seed = run_seed(1, r)
        assert get_algorithm("naswot").run(problem, {"n": 30}, seed).arch_index == SPACE.sample(rng_for(seed), 30)[0]


# -- random search ---------------------------------------------------------------------------------

def test_random_search_spends_its_query_budget_and_keeps_the_fittest(problem: SearchProblem) -> None:
    for r in range(10):
        seed = run_seed(2, r)
        result = get_algorithm("random").run(problem, {"n": 25, "budget": Budget("queries", 25).to_json()}, seed)
        drawn = np.array([SPACE.sample(rng, 1)[0] for rng in [rng_for(seed)] for _ in range(25)])
        assert result.queries == 25
        assert result.fitness == problem.oracle.fitness[drawn].max()
        assert result.arch_index == drawn[int(np.argmax(problem.oracle.fitness[drawn]))]


# -- REA and AREA budgets (hand-worked) ------------------------------------------------------------

def _timed_problem(train: float, score: float) -> SearchProblem:
    times = np.full(SPACE.size, train)
    scores = fixtures.column_values("cifar10", "ori-test", 200)  # any finite score vector
    scorer = StoredScores(scores, np.full(SPACE.size, score), np.ones(SPACE.size, dtype=bool))
    return SearchProblem(Domain(SPACE), fixtures.oracle(train_seconds=times), scorer)


@pytest.mark.parametrize("limit, queries", [(100.0, 10), (99.0, 9), (105.0, 10)])
def test_rea_stops_before_a_child_that_would_exceed_a_seconds_budget(limit: float, queries: int) -> None:
    # 10 s per training, P=3: the population costs 30 s, then one child per 10 s while it still fits
    problem = _timed_problem(train=10.0, score=1.0)
    params = {"population": 3, "sample_size": 2, "budget": Budget("seconds", limit).to_json()}
    result = get_algorithm("rea").run(problem, params, run_seed(1, 0))
    assert result.queries == queries
    assert result.simulated_seconds == pytest.approx(10.0 * queries)
    assert result.extra["history"] == queries


def test_area_pays_for_its_scores_under_a_seconds_budget() -> None:
    # M=5 scored at 1 s each (5 s), P=3 trained (30 s), then children while spent + 10 <= 100: 6 more
    problem = _timed_problem(train=10.0, score=1.0)
    params = {"population": 3, "sample_size": 2, "candidates": 5, "budget": Budget("seconds", 100).to_json()}
    result = get_algorithm("area").run(problem, params, run_seed(1, 0))
    assert (result.queries, result.scored) == (9, 5)
    assert result.simulated_seconds == pytest.approx(95.0)
    # with a queries budget the scores are free: the same 9 queries, P + 6 children
    queries = {**params, "budget": Budget("queries", 9).to_json()}
    assert get_algorithm("area").run(problem, queries, run_seed(1, 0)).queries == 9


class _Recording(AccuracyOracle):
    """An oracle that remembers the order of its queries."""

    def query(self, index: int) -> tuple[float, float]:
        self.asked.append(int(index))
        return super().query(index)


class _RecordingScorer(StoredScores):
    def score(self, indices) -> ScoreBatch:
        self.asked.append(np.asarray(indices).copy())
        return super().score(indices)


def test_area_seeds_evolution_with_the_best_scored_candidates_in_draw_order(problem: SearchProblem) -> None:
    base = problem.oracle
    for r in range(5):
        oracle = _Recording(base.size, base.fitness_column, base.fitness, base.train_seconds, base.report,
                            base.report_columns)
        oracle.asked = []
        scorer = _RecordingScorer(problem.scorer.values, problem.scorer.seconds, problem.scorer.present)
        scorer.asked = []
        recorded = SearchProblem(problem.domain, oracle, scorer)
        params = {"population": 4, "sample_size": 3, "candidates": 12, "budget": Budget("queries", 30).to_json()}
        result = get_algorithm("area").run(recorded, params, run_seed(5, r))
        (candidates,) = scorer.asked
        values = problem.scorer.values[candidates]
        top = np.sort(np.argsort(-values, kind="stable")[:4])
        assert oracle.asked[:4] == candidates[top].tolist()
        assert len(oracle.asked) == result.queries == 30
        assert result.fitness == max(base.fitness[i] for i in oracle.asked)


def test_rea_population_members_are_mutations_of_earlier_members(problem: SearchProblem) -> None:
    oracle = _Recording(problem.oracle.size, problem.oracle.fitness_column, problem.oracle.fitness,
                        problem.oracle.train_seconds, problem.oracle.report, problem.oracle.report_columns)
    oracle.asked = []
    params = {"population": 5, "sample_size": 3, "budget": Budget("queries", 40).to_json()}
    get_algorithm("rea").run(SearchProblem(problem.domain, oracle), params, run_seed(1, 0))
    ops = [SPACE.arch(i).split("|") for i in oracle.asked]
    for k, child in enumerate(ops[5:], start=5):
        # each child differs from some earlier architecture in exactly one edge op
        assert any(sum(a != b for a, b in zip(child, parent)) == 1 for parent in ops[:k])


# -- settings --------------------------------------------------------------------------------------

def test_settings_apply_defaults_and_reject_what_does_not_apply() -> None:
    assert get_algorithm("naswot").settings(SearchOptions()) == [{"n": 10}, {"n": 100}, {"n": 1000}]
    area = get_algorithm("area").settings(SearchOptions(budget=Budget("queries", 100)))
    assert area == [{"population": 10, "sample_size": 3, "candidates": 20, "budget": {"kind": "queries", "limit": 100}}]
    bad = [("naswot", SearchOptions(budget=Budget("queries", 10)), "does not apply to search 'naswot'"),
           ("rea", SearchOptions(), "rea needs a budget"),
           ("rea", SearchOptions(budget=Budget("queries", 5)), "smaller than the initial population"),
           ("area", SearchOptions(budget=Budget("queries", 50), candidates=5), "smaller than --population"),
           ("random", SearchOptions(), "random needs --n N"),
           ("rea", SearchOptions(budget=Budget("queries", 50), extra={"tau": "1"}), "unknown --param 'tau'")]
    for name, options, message in bad:
        with pytest.raises(InputError, match=message):
            get_algorithm(name).settings(options)
    with pytest.raises(InputError, match="positive number of seconds"):
        Budget("seconds", -1)


def test_sequential_execution_follows_the_plan(problem: SearchProblem) -> None:
    tasks = plan_runs(2, 3, seed=7)
    assert [(t.setting, t.run) for t in tasks] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert tasks[0].run_seed == tasks[3].run_seed == run_seed(7, 0)  # common random numbers across settings
    outcomes = execute("naswot", problem, [{"n": 10}, {"n": 100}], tasks)
    assert [o.task for o in outcomes] == tasks
    direct = get_algorithm("naswot").run(problem, {"n": 100}, run_seed(7, 2))
    assert repr(vars(outcomes[5].result)) == repr(vars(direct))
