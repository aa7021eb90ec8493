"""Reading one architecture's results through the benchmark packages' ``ArchResults`` objects.

NAS-Bench-201 (``nas_201_api``) and NATS-Bench (``nats_bench``) store, per architecture and training
budget ("hp"), an ``ArchResults``: per dataset the trials of several seeds, each with per-epoch train
and evaluation curves. Both packages expose the same methods, so one walker serves both:
``get_dataset_names()``, ``query(dataset)`` (seed -> trial), ``get_metrics(dataset, set)`` (mean over
seeds of the last epoch, ``is_random=False``, the number every paper reports) and
``get_compute_costs(dataset)`` (params and FLOPs in millions).
"""

from __future__ import annotations

from typing import Any

from naswot_ray.accuracies.schema import DATASETS, SPLITS, AccuracyColumn, AccuracyRows
from naswot_ray.errors import InputError

MILLION = 1e6


def add_arch_results(rows: AccuracyRows, *, index: int, arch: str, results: Any, epochs: int,
                     warnings: set[str]) -> None:
    """Append every (dataset, split) accuracy of one ArchResults; unknown dataset/set names become warnings."""
    if not results.get_dataset_names():
        raise InputError("it holds no trials")
    for dataset in results.get_dataset_names():
        if dataset not in DATASETS:
            warnings.add(f"skipped dataset {dataset!r} (not one of {', '.join(DATASETS)})")
            continue
        trials = list(results.query(dataset).values())
        eval_sets = set(trials[0].get_eval_set())
        for trial in trials[1:]:
            eval_sets &= set(trial.get_eval_set())
        costs = results.get_compute_costs(dataset)
        train = results.get_metrics(dataset, "train", is_random=False)
        common = {"params": _millions(costs.get("params")), "flops": _millions(costs.get("flops")),
                  "train_seconds": train.get("all_time")}
        rows.add(arch_index=index, arch=arch, column=AccuracyColumn(dataset, "train", epochs),
                 accuracy=train["accuracy"], **common)
        for name in sorted(eval_sets):
            if name not in SPLITS:
                warnings.add(f"skipped evaluation set {name!r} of {dataset} (not one of {', '.join(SPLITS)})")
                continue
            metrics = results.get_metrics(dataset, name, is_random=False)
            rows.add(arch_index=index, arch=arch, column=AccuracyColumn(dataset, name, epochs),
                     accuracy=metrics["accuracy"], **common)


def walk_or_fail(rows: AccuracyRows, *, index: int, arch: str, results: Any, epochs: int,
                 warnings: set[str], origin: str, expected: str) -> None:
    """:func:`add_arch_results`, turning any failure inside the package objects into one InputError line."""
    try:
        add_arch_results(rows, index=index, arch=arch, results=results, epochs=epochs, warnings=warnings)
    except InputError as err:
        if str(err).startswith(rows.origin):
            raise
        raise InputError(f"{origin}: architecture {index} ({epochs} epochs): {err}; expected {expected}") from None
    except Exception as err:  # malformed records surface as KeyError/AttributeError/TypeError inside the package
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"{origin}: architecture {index} ({epochs} epochs) cannot be read "
                         f"({type(err).__name__}: {reason}); expected {expected}") from None


def _millions(value: Any) -> float | None:
    return None if value is None else float(value) * MILLION


__all__ = ["add_arch_results", "walk_or_fail"]
