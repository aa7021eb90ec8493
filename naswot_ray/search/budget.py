"""Search budgets and the ledger that charges them.

Why a ledger object: every budgeted search (random, REA, AREA) must stop by the same rule as the
reference simulations (AutoDL-Projects ``R_EA.py`` / random search, metrics-spec section 3.2): keep going
while the money spent is below the budget, and stop *without* adding a candidate whose cost would take
the total past it. Two currencies:

* ``queries``: one unit per trained-accuracy lookup (the count of "trained" networks);
* ``seconds``: the benchmark's training time of each queried architecture (``train_seconds`` of the
  fitness column), plus, for AREA, the measured scoring time of its M candidates.

The ledger also keeps the simulated seconds when the budget is in queries (where the table has times),
so every run reports a simulated search time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from naswot_ray.errors import InputError, unknown_choice

BUDGET_KINDS = ("queries", "seconds")


@dataclass(frozen=True)
class Budget:
    """How much a search may spend: ``limit`` trained-accuracy queries or simulated seconds."""

    kind: str
    limit: float

    def __post_init__(self) -> None:
        if self.kind not in BUDGET_KINDS:
            raise unknown_choice("budget kind", self.kind, BUDGET_KINDS)
        if not (math.isfinite(self.limit) and self.limit > 0):
            raise InputError(f"budget must be a positive number of {self.kind}, got {self.limit!r}")
        if self.kind == "queries" and self.limit != int(self.limit):
            raise InputError(f"--budget-queries must be a whole number, got {self.limit!r}")

    @property
    def label(self) -> str:
        return f"{int(self.limit)} queries" if self.kind == "queries" else f"{self.limit:g} s"

    def to_json(self) -> dict:
        return {"kind": self.kind, "limit": int(self.limit) if self.kind == "queries" else float(self.limit)}

    @classmethod
    def from_json(cls, data: dict) -> "Budget":
        return cls(str(data["kind"]), float(data["limit"]))


class Ledger:
    """What one run has spent: queries, simulated training seconds and scoring seconds."""

    def __init__(self, budget: Budget | None) -> None:
        self.budget = budget
        self.queries = 0
        self.train_seconds = 0.0
        self.score_seconds = 0.0
        self.scored = 0

    @property
    def spent(self) -> float:
        """Spent in the budget's currency (0 without a budget)."""
        if self.budget is None:
            return 0.0
        if self.budget.kind == "queries":
            return float(self.queries)
        return self.train_seconds + self.score_seconds

    def exhausted(self) -> bool:
        """True once nothing more may be started (the reference's ``while total < budget`` test)."""
        return self.budget is not None and self.spent >= self.budget.limit

    def affords(self, train_seconds: float) -> bool:
        """Whether one more query of an architecture that trains in ``train_seconds`` fits the budget."""
        if self.budget is None:
            return True
        cost = 1.0 if self.budget.kind == "queries" else train_seconds
        return self.spent + cost <= self.budget.limit

    def charge_query(self, train_seconds: float) -> None:
        self.queries += 1
        self.train_seconds += train_seconds

    def charge_scoring(self, seconds: float, count: int) -> None:
        self.score_seconds += seconds
        self.scored += count

    @property
    def simulated_seconds(self) -> float:
        """Simulated training time (NaN where the table has none) plus measured scoring time."""
        return self.train_seconds + self.score_seconds


__all__ = ["BUDGET_KINDS", "Budget", "Ledger"]
