"""naswot-ray: score neural architectures without training, over whole NAS benchmark spaces, on Ray.

``import naswot_ray as nr`` is the one documented entry point; everything not listed here is private
and may move. Every command has a Python twin:

- ``nr.score(model, images, metrics=...)``: training-free scores of any ``nn.Module`` -> ``{metric: value}``
- ``nr.score_space(space, metrics=..., limit=..., store=...)``: ``score-all`` from Python (same engine,
  same stored rows); ``space`` is a registered name or a :class:`SearchSpace` object from your script
- ``nr.load_scores(store, ...)``: a store as a pandas DataFrame (one row per architecture, one column per
  metric, accuracies joined on request); ``nr.correlations(store, ...)``: the table ``analyze`` prints
- ``nr.rerun(run_id, store=...)``: replay a stored run's exact configuration (``rerun``)
- ``nr.list_spaces()``, ``nr.list_metrics()``, ``nr.get_space(name, **options)``, ``nr.Batch.from_images(...)``

For your own space or metric (in a script, or in a package registered by entry point; see the README,
"Your own space or metric"): :class:`SearchSpace`, :class:`Metric`, :class:`MetricNeeds`,
:class:`ScoringContext`, :class:`NetworkParts`, :class:`Option`, :func:`register_space`, :func:`register_metric`.

Importing this package is cheap: nothing here imports torch or Ray until a name above is first used
(module ``__getattr__``), so ``import naswot_ray`` never slows a CLI start or a notebook.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: public name -> the module that defines it (imported on first use)
_EXPORTS = {
    "score": "naswot_ray.api.models",
    "ScoringFailed": "naswot_ray.api.models",
    "score_space": "naswot_ray.api.runs",
    "rerun": "naswot_ray.api.replay",
    "load_scores": "naswot_ray.api.results",
    "correlations": "naswot_ray.api.results",
    "list_spaces": "naswot_ray.api.catalog",
    "list_metrics": "naswot_ray.api.catalog",
    "get_space": "naswot_ray.api.catalog",
    "Batch": "naswot_ray.data.base",
    "SearchSpace": "naswot_ray.spaces.base",
    "register_space": "naswot_ray.spaces",
    "Metric": "naswot_ray.metrics.base",
    "MetricNeeds": "naswot_ray.metrics.base",
    "ScoringContext": "naswot_ray.metrics.base",
    "NetworkParts": "naswot_ray.spaces.parts",
    "register_metric": "naswot_ray.metrics",
    "Option": "naswot_ray.options",
    "InputError": "naswot_ray.errors",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # what static checkers and IDEs see; at run time these load lazily
    from naswot_ray.api.catalog import get_space, list_metrics, list_spaces
    from naswot_ray.api.models import ScoringFailed, score
    from naswot_ray.api.replay import rerun
    from naswot_ray.api.results import correlations, load_scores
    from naswot_ray.api.runs import score_space
    from naswot_ray.data.base import Batch
    from naswot_ray.errors import InputError
    from naswot_ray.metrics import register_metric
    from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext
    from naswot_ray.options import Option
    from naswot_ray.spaces import register_space
    from naswot_ray.spaces.base import SearchSpace
    from naswot_ray.spaces.parts import NetworkParts


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'naswot_ray' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
