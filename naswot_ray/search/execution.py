"""Running many independent runs: the plan (which setting, which run, which seed) and a plain loop.

The loop here is the sequential reference; the engine's Ray runner executes the same :class:`RunTask`
lists in batches with :func:`execute` inside each task, so "R runs on Ray" and "R runs in a loop" run
identical code on identical inputs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from naswot_ray.search import get_algorithm
from naswot_ray.search.base import SearchProblem, SearchResult
from naswot_ray.search.seeds import run_seed


@dataclass(frozen=True)
class RunTask:
    """Run ``run`` (0-based) of setting ``setting``, seeded with ``run_seed``."""

    setting: int
    run: int
    run_seed: int


@dataclass
class RunOutcome:
    task: RunTask
    result: SearchResult
    wall_seconds: float


def plan_runs(settings: int, runs: int, seed: int) -> list[RunTask]:
    """Every (setting, run) pair; run r has the same seed in every setting (common random numbers)."""
    return [RunTask(s, r, run_seed(seed, r)) for s in range(settings) for r in range(runs)]


def execute(algorithm: str, problem: SearchProblem, settings: Sequence[dict], tasks: Sequence[RunTask]
            ) -> list[RunOutcome]:
    """Run ``tasks`` one after another; ``wall_seconds`` is each run's own compute time."""
    search = get_algorithm(algorithm)
    outcomes = []
    for task in tasks:
        started = time.perf_counter()
        result = search.run(problem, settings[task.setting], task.run_seed)
        outcomes.append(RunOutcome(task, result, time.perf_counter() - started))
    return outcomes


__all__ = ["RunOutcome", "RunTask", "execute", "plan_runs"]
