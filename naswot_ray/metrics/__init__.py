"""Training-free metrics, registered by name (``@register_metric`` on a Metric subclass).

``get_metric("naswot")`` returns a metric object; ``metric_names()`` lists them. Each metric lives in
its own module listed in the registry's ``modules``; nothing else needs to change to add one.
"""

from __future__ import annotations

from naswot_ray.errors import InputError
from naswot_ray.metrics.base import ForwardObserver, Metric, MetricNeeds, ScoringContext
from naswot_ray.registry import Registry

METRICS: Registry[Metric] = Registry("metric", package="naswot_ray.metrics", modules=(
    "naswot", "params", "epsilon", "ntk_cond", "linear_regions", "synflow", "grad_norm", "snip", "grasp", "fisher",
    "jacob_cov", "flops"))
register_metric = METRICS.register


def get_metric(name: str) -> Metric:
    """The (shared) metric object for ``name`` or an alias; unknown names raise InputError."""
    return METRICS.instance(name)


def metric_names() -> list[str]:
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
