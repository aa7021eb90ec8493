"""The accuracy oracle: benchmark accuracies as dense arrays indexed by architecture index.

Why arrays: a search "trains" an architecture by looking its accuracy up. Hundreds of runs of
thousands of lookups each must take milliseconds, so the tidy ``accuracies`` table is turned once into
one float64 vector per column (NaN where the table has no value) and shipped to every worker once.

Two roles:

* the *fitness* column is what budgeted searches optimise (REA's parent choice, the best of the history):
  by default the 12-epoch ``cifar10-valid`` validation accuracy, as in NASWOT's REA simulation;
* the *report* columns are what a run's result is judged by: the chosen architecture's accuracies
  after the full training budget (200 epochs on NB201) on every dataset and split the table has.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from naswot_ray.accuracies.schema import AccuracyColumn
from naswot_ray.errors import InputError


#: one accuracy column of the ``accuracies`` table (dataset, split, epochs)
Column = AccuracyColumn


@dataclass
class AccuracyOracle:
    """Fitness (with training times, where known) and report accuracies over ``size`` architectures."""

    size: int
    fitness_column: Column | None            # None: a search that queries no accuracy, on a table without one
    fitness: np.ndarray                      # float64[size], NaN where unknown
    train_seconds: np.ndarray                # float64[size], NaN where unknown
    report: dict[str, np.ndarray] = field(default_factory=dict)  # Column.label -> float64[size]
    report_columns: list[Column] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, values in (("fitness", self.fitness), ("train_seconds", self.train_seconds),
                             *self.report.items()):
            if values.shape != (self.size,):
                raise ValueError(f"oracle array {name} has shape {values.shape}, expected ({self.size},)")

    def query(self, index: int) -> tuple[float, float]:
        """(fitness, training seconds) of architecture ``index``: one simulated training."""
        return float(self.fitness[index]), float(self.train_seconds[index])

    def has_times(self) -> bool:
        return bool(np.isfinite(self.train_seconds).any())

    def accuracies_of(self, index: int) -> dict[str, float]:
        """The report accuracies of ``index`` (NaN where the table has none)."""
        return {column.label: float(self.report[column.label][index]) for column in self.report_columns}

    @property
    def fitness_label(self) -> str:
        return self.fitness_column.label if self.fitness_column is not None else "none"

    def require_fitness_everywhere(self, algorithm: str) -> None:
        """Budgeted searches can reach any architecture (mutation), so the fitness column must cover all."""
        known = int(np.isfinite(self.fitness).sum())
        if known < self.size:
            raise InputError(f"{algorithm} needs a fitness accuracy for every architecture, but column "
                             f"{self.fitness_label} has {known:,} of {self.size:,}; import the complete "
                             "table or pick another column with --fitness")

    def require_times_everywhere(self) -> None:
        """A seconds budget needs the training time of every architecture the search may query."""
        known = int(np.isfinite(self.train_seconds).sum())
        if known == 0:
            raise InputError(f"the accuracies table has no training times for the fitness column "
                             f"{self.fitness_label}, so --budget-seconds cannot be charged; use "
                             "--budget-queries Q, or import a table with times (--train-seconds-column)")
        if known < self.size:
            raise InputError(f"the fitness column {self.fitness_label} has training times for only "
                             f"{known:,} of {self.size:,} architectures; --budget-seconds needs all of them "
                             "(use --budget-queries Q)")


__all__ = ["AccuracyOracle", "Column"]
