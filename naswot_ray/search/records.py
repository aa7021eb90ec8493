"""The ``searches`` table: one row per search run, with what was chosen and how it scored.

Identity (``key``): a digest of everything that determines a run's result: space, where candidates
were drawn from, algorithm, params, score source, fitness column, search seed and run number. Running
the same search again replaces its rows (the latest wins when reading) instead of duplicating them;
``run_id`` tells which invocation wrote a row.

Accuracies are stored as one JSON object per row, ``{"cifar10:ori-test:200": 93.1, ...}`` (null where
the table has no value): one row per run keeps "one run = one row" for counting and joining, and DuckDB
reads a column with ``json_extract_string(accuracies, '$."cifar10:ori-test:200"')::DOUBLE``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone

import pyarrow as pa

from naswot_ray.search import get_algorithm
from naswot_ray.search.base import SearchProblem
from naswot_ray.search.execution import RunOutcome
from naswot_ray.store import register_table

SEARCHES = "searches"

SEARCHES_SCHEMA = pa.schema([
    ("key", pa.string()),
    ("run_id", pa.string()),              # the invocation that wrote the row
    ("algorithm", pa.string()),
    ("space", pa.string()),
    ("domain", pa.string()),              # "space", or "pool:<count>:<digest>" with --within-scored
    ("params", pa.string()),              # JSON, the algorithm's setting
    ("setting", pa.string()),             # the setting's label in the summary, e.g. N=100
    ("n", pa.int64()),                    # N where the setting has one
    ("seed", pa.int64()),                 # --seed of the search
    ("run", pa.int64()),                  # run number, 0-based
    ("run_seed", pa.int64()),             # the run's own seed, derived from (seed, run)
    ("score_source", pa.string()),        # stored:<variant>, live:<variant>, or none
    ("fitness_column", pa.string()),      # DATASET:SPLIT:EPOCHS the search optimised
    ("arch_index", pa.int64()),
    ("arch", pa.string()),
    ("fitness", pa.float64()),            # the chosen architecture's fitness accuracy
    ("score", pa.float64()),              # the best score the run saw (score-based searches)
    ("accuracies", pa.string()),          # JSON {DATASET:SPLIT:EPOCHS: accuracy %}
    ("queries", pa.int64()),              # trained-accuracy lookups
    ("scored", pa.int64()),               # architectures scored
    ("simulated_seconds", pa.float64()),  # simulated training + measured scoring seconds
    ("wall_seconds", pa.float64()),       # the run's own compute time
    ("extra", pa.string()),               # JSON, algorithm-specific details
    ("created_at", pa.timestamp("us", tz="UTC")),
])

register_table(SEARCHES, SEARCHES_SCHEMA, ("key", "created_at DESC"))


def domain_label(problem: SearchProblem) -> str:
    pool = problem.domain.pool
    if pool is None:
        return "space"
    digest = hashlib.sha1(pool.astype("int64").tobytes()).hexdigest()[:12]
    return f"pool:{len(pool)}:{digest}"


def search_key(*, space: str, domain: str, algorithm: str, params_json: str, score_source: str, fitness: str,
               seed: int, run: int) -> str:
    text = "|".join(str(p) for p in (space, domain, algorithm, params_json, score_source, fitness, seed, run))
    return hashlib.sha1(text.encode()).hexdigest()


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def search_rows(*, algorithm: str, problem: SearchProblem, settings: Sequence[dict], outcomes: Sequence[RunOutcome],
                seed: int, run_id: str, score_source: str) -> list[dict]:
    """One ``searches`` row per outcome."""
    search = get_algorithm(algorithm)
    space = problem.space
    domain = domain_label(problem)
    fitness_column = problem.oracle.fitness_label
    now = datetime.now(timezone.utc)
    rows = []
    for outcome in outcomes:
        params = settings[outcome.task.setting]
        params_json = json.dumps(params, sort_keys=True)
        result = outcome.result
        accuracies = {k: _finite_or_none(v) for k, v in problem.oracle.accuracies_of(result.arch_index).items()}
        rows.append({
            "key": search_key(space=space.name, domain=domain, algorithm=search.name, params_json=params_json,
                              score_source=score_source, fitness=fitness_column, seed=seed, run=outcome.task.run),
            "run_id": run_id, "algorithm": search.name, "space": space.name, "domain": domain,
            "params": params_json, "setting": search.label(params), "n": params.get("n"), "seed": seed,
            "run": outcome.task.run, "run_seed": outcome.task.run_seed, "score_source": score_source,
            "fitness_column": fitness_column, "arch_index": result.arch_index, "arch": space.arch(result.arch_index),
            "fitness": result.fitness, "score": result.best_score, "accuracies": json.dumps(accuracies, sort_keys=True),
            "queries": result.queries, "scored": result.scored, "simulated_seconds": result.simulated_seconds,
            "wall_seconds": outcome.wall_seconds, "extra": json.dumps(result.extra, sort_keys=True), "created_at": now,
        })
    return rows


__all__ = ["SEARCHES", "SEARCHES_SCHEMA", "domain_label", "search_key", "search_rows"]
