"""Training-free metrics, registered by name (``@register_metric`` on a Metric subclass).

``get_metric("naswot")`` returns a metric object; ``metric_names()`` lists them. Each metric lives in
its own module listed in ``_MODULES``; nothing else needs to change to add one.
"""

from __future__ import annotations

import functools
import importlib

from naswot_ray.errors import InputError
from naswot_ray.metrics.base import ForwardObserver, Metric, MetricNeeds, ScoringContext
from naswot_ray.registry import Registry

METRICS: Registry[Metric] = Registry("metric")
register_metric = METRICS.register

_MODULES = ("naswot", "params", "epsilon", "ntk_cond", "linear_regions", "synflow", "grad_norm", "snip", "grasp", "fisher", "jacob_cov", "flops")


@functools.cache
def _load_all() -> None:
    for module in _MODULES:
        importlib.import_module(f"naswot_ray.metrics.{module}")


def get_metric(name: str) -> Metric:
    _load_all()
    return _build_metric(METRICS.canonical_name(name))


@functools.cache
def _build_metric(canonical_name: str) -> Metric:
    return METRICS.get(canonical_name)


def metric_names() -> list[str]:
    _load_all()
    return METRICS.names()


def parse_metric_list(text: str) -> list[str]:
    """Parse ``naswot,params`` into canonical names; unknown or empty entries raise InputError."""
    names = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not n for n in names):
        raise InputError(f"malformed metric list {text!r}; expected comma-separated names from: "
                         + ", ".join(sorted(metric_names())))
    resolved = [get_metric(n).name for n in names]
    return list(dict.fromkeys(resolved))


__all__ = [
    "Metric", "MetricNeeds", "ForwardObserver", "ScoringContext", "METRICS", "register_metric",
    "get_metric", "metric_names", "parse_metric_list",
]
