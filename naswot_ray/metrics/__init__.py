"""Training-free metrics, registered by name (``@register_metric`` on a Metric subclass).

``get_metric("naswot")`` returns a metric object; ``metric_names()`` lists them. Each metric lives in
its own module listed in the registry's ``modules``; nothing else needs to change to add one.
"""

from __future__ import annotations

from naswot_ray.errors import InputError
from naswot_ray.metrics.base import BatchNeeds, ForwardObserver, Metric, MetricNeeds, MetricRequest, ScoringContext
from naswot_ray.registry import Registry

METRICS: Registry[Metric] = Registry("metric", package="naswot_ray.metrics", modules=(
    "naswot", "params", "epsilon", "ntk_cond", "linear_regions", "synflow", "grad_norm", "snip", "grasp", "fisher",
    "jacob_cov", "flops", "az_nas", "zico", "plain", "epe_nas", "l2_norm", "meco", "swap", "swap_reg", "zen", "vkdnw",
    "vkdnw_aleph", "vkdnw_jacov"))
register_metric = METRICS.register


def get_metric(name: str) -> Metric:
    """The (shared) metric object for ``name`` or an alias; unknown names raise InputError."""
    return METRICS.instance(name)


def metric_names() -> list[str]:
    return METRICS.names()


def metric_groups() -> dict[str, list[str]]:
    """Group name -> its member metrics (registration order), from the members' ``group`` attribute.

    A group's name requests all its members (``--metrics az_nas``); the members share one pass.
    """
    groups: dict[str, list[str]] = {}
    for name in metric_names():
        group = get_metric(name).group
        if group:
            groups.setdefault(group, []).append(name)
    return groups


def parse_metric_list(text: str) -> list[str]:
    """Parse ``naswot,params`` into canonical names (a group name expands to its members);
    unknown or empty entries raise InputError."""
    names = [part.strip() for part in text.split(",")]
    groups = metric_groups()
    if not text.strip() or any(not n for n in names):
        raise InputError(f"malformed metric list {text!r}; expected comma-separated names from: "
                         + ", ".join(sorted([*metric_names(), *groups])))
    resolved: list[str] = []
    for name in names:
        if name in groups and name not in METRICS:
            resolved.extend(groups[name])
        elif name not in METRICS and groups:
            valid = sorted([*metric_names(), *METRICS.names(include_aliases=True)[len(metric_names()):], *groups])
            raise InputError(f"unknown metric {name!r}; valid choices: {', '.join(valid)}")
        else:
            resolved.append(get_metric(name).name)
    return list(dict.fromkeys(resolved))


__all__ = [
    "Metric", "MetricNeeds", "BatchNeeds", "MetricRequest", "ForwardObserver", "ScoringContext", "METRICS",
    "register_metric", "get_metric", "metric_names", "metric_groups", "parse_metric_list",
]
