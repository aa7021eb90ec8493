"""Which stored values can be ranked: the one ranking rule ``analyze`` and ``search`` share.

* An error row (``status = error``) is dropped and counted: it has no value.
* A non-finite value the metric declares part of its definition (``Metric.legal_nonfinite``, e.g.
  NASWOT's ``-inf`` for a singular kernel) is kept and ranked at its end: ``-inf`` lowest, ``+inf``
  highest, as the reference's own correlation call does. A legal NaN has no place in an order, so it
  becomes the metric's worst value (``-inf`` when higher is better, ``+inf`` when lower is).
* Any other non-finite value in an ``ok`` row (rows written before metrics declared their legal values,
  when NaN could be stored as ``ok``) is treated as an error: dropped and counted.

A metric the registry does not know (rows from a plugin that is not installed) keeps its infinities
(the store only holds them as ``ok`` when the writer accepted them) and drops NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from naswot_ray.errors import InputError

_UNKNOWN = frozenset({"-inf", "inf"})


def legal_nonfinite(metric: str) -> frozenset[str]:
    """The non-finite values ``metric`` declares legal (unknown metrics: the infinities)."""
    from naswot_ray.metrics import get_metric

    try:
        return frozenset(get_metric(metric).legal_nonfinite)
    except (InputError, ImportError):
        return _UNKNOWN


def higher_is_better(metric: str) -> bool:
    """The registered metric's direction; metrics the registry does not know count as higher-is-better."""
    from naswot_ray.metrics import get_metric

    try:
        return bool(get_metric(metric).higher_is_better)
    except (InputError, ImportError):
        return True


@dataclass
class Usable:
    """Values ready to rank (NaN = dropped) and what happened to the rest."""

    values: np.ndarray
    illegal_inf: np.ndarray  # bool mask: +-inf the metric does not declare, dropped as errors (NaN in values)
    errors: int = 0          # error rows and NaN that is not legal: dropped
    kept_nonfinite: int = 0  # legal non-finite values kept at their end of the ranking


def usable_values(values: np.ndarray, ok: np.ndarray, metric: str, higher: bool | None = None) -> Usable:
    """Apply the ranking rule to one metric's stored values (``ok``: the rows whose status is ok)."""
    v = np.asarray(values, dtype=np.float64).copy()
    ok = np.asarray(ok, dtype=bool)
    legal = legal_nonfinite(metric)
    higher = higher_is_better(metric) if higher is None else higher
    nan = np.isnan(v)
    posinf, neginf = np.isposinf(v), np.isneginf(v)
    errors = ~ok | (nan & ("nan" not in legal))
    illegal = ok & ((posinf & ("inf" not in legal)) | (neginf & ("-inf" not in legal)))
    v[errors | illegal] = np.nan
    legal_nan = ok & nan & ("nan" in legal)
    v[legal_nan] = -np.inf if higher else np.inf
    kept = ok & ~illegal & ~errors & ~np.isfinite(v)
    return Usable(v, illegal, errors=int(errors.sum()), kept_nonfinite=int(kept.sum()))


__all__ = ["Usable", "higher_is_better", "legal_nonfinite", "usable_values"]
