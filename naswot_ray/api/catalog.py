"""What exists: the registered spaces and metrics (built in and from plugins), with their declarations.

One description per space and per metric, shared by ``nr.list_spaces()`` / ``nr.list_metrics()`` and the
``naswot-ray spaces`` / ``metrics`` commands, so Python and the command line never disagree about a
space's options, a metric's version or where either came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from naswot_ray.options import Option
from naswot_ray.registry import BUILT_IN


@dataclass(frozen=True)
class SpaceInfo:
    name: str
    size: int | None
    description: str
    origin: str
    aliases: tuple[str, ...]
    options: tuple[Option, ...]
    #: the one line ``naswot-ray spaces`` prints
    line: str


@dataclass(frozen=True)
class MetricInfo:
    name: str
    description: str
    higher_is_better: bool
    modes: tuple[str, ...]
    version: int
    legal_nonfinite: tuple[str, ...]
    group: str | None
    origin: str
    options: tuple[Option, ...]
    #: the one line ``naswot-ray metrics`` prints first
    line: str


def space_info(name: str) -> SpaceInfo:
    from naswot_ray.spaces import SPACES, get_space

    space = get_space(name)
    canonical = SPACES.canonical_name(name)
    aliases = tuple(SPACES.aliases_of(canonical))
    origin = SPACES.origin(canonical)
    line = space.describe() + (f" (alias: {', '.join(aliases)})" if aliases else "") + _from(origin)
    return SpaceInfo(canonical, space.size, space.description, origin, aliases, tuple(space.options), line)


def metric_info(name: str) -> MetricInfo:
    from naswot_ray.metrics import METRICS, get_metric

    metric = get_metric(name)
    origin = METRICS.origin(metric.name)
    nonfinite = tuple(sorted(metric.legal_nonfinite))
    line = metric.describe() + _from(origin)
    return MetricInfo(metric.name, metric.description, metric.higher_is_better, tuple(metric.modes), metric.version,
                      nonfinite, metric.group, origin, tuple(metric.options), line)


def metric_detail_lines(info: MetricInfo) -> list[str]:
    """The indented lines under a metric's line: version, legal non-finite values, group, options."""
    facts = [f"version {info.version}", f"legal non-finite values: {', '.join(info.legal_nonfinite) or 'none'}"]
    if info.group:
        facts.append(f"group: {info.group} (scored in one pass with its members)")
    lines = ["    " + "; ".join(facts)]
    lines += [f"    option {option.describe()}" for option in info.options]
    return lines


def space_detail_lines(info: SpaceInfo) -> list[str]:
    """``spaces --details NAME``: the space's line, where it comes from, then one line per option."""
    lines = [info.line, f"    from: {info.origin}"]
    if not info.options:
        return lines + ["    options: none"]
    return lines + [f"    option {option.describe()}" for option in info.options] + [
        f"    set with: --space-option KEY=VALUE (e.g. --space-option {info.options[0].name}="
        f"{info.options[0].default if info.options[0].default is not None else 'VALUE'})"]


def list_spaces(*, details: bool = False) -> list[str] | "pandas.DataFrame":  # noqa: F821
    """Registered space names (built in, then plugins); with ``details``, a DataFrame of name, size,
    origin, aliases, options and description."""
    from naswot_ray.spaces import space_names

    names = space_names()
    if not details:
        return names
    import pandas as pd

    infos = [space_info(name) for name in names]
    return pd.DataFrame([{"name": i.name, "size": i.size, "origin": i.origin, "aliases": list(i.aliases),
                          "options": [o.name for o in i.options], "description": i.description} for i in infos])


def list_metrics(*, details: bool = False) -> list[str] | "pandas.DataFrame":  # noqa: F821
    """Registered metric names; with ``details``, a DataFrame of each metric's declarations."""
    from naswot_ray.metrics import metric_names

    names = metric_names()
    if not details:
        return names
    import pandas as pd

    infos = [metric_info(name) for name in names]
    return pd.DataFrame([{"name": i.name, "higher_is_better": i.higher_is_better, "modes": list(i.modes),
                          "version": i.version, "legal_nonfinite": list(i.legal_nonfinite), "group": i.group,
                          "options": [o.name for o in i.options], "origin": i.origin,
                          "description": i.description} for i in infos])


def get_space(name: str, **options: object):
    """The space registered as ``name`` (or an alias), configured with ``options`` (its declared options;
    an unknown key or a bad value is a one-line InputError naming the valid ones)."""
    from naswot_ray.spaces import get_space as registered

    return registered(name).with_options(**options)


def _from(origin: str) -> str:
    return "" if origin == BUILT_IN else f" [from {origin}]"


__all__ = ["MetricInfo", "SpaceInfo", "get_space", "list_metrics", "list_spaces", "metric_detail_lines", "metric_info",
           "space_detail_lines", "space_info"]
