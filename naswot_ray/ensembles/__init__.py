"""Training-free ensembles: rank aggregation of stored scores, shared by ``analyze`` and ``search``.

Why a package of its own: both the analysis (which reports ensembles) and the search algorithms (which
use one as their score) must compute an ensemble the same way, and the layers above (analysis, search)
may not import each other. Nothing here reads the store or a trained accuracy.

* :mod:`naswot_ray.ensembles.rank`: oriented ranks, rank sum, log-rank sum, lexicographic dense ranks;
* :mod:`naswot_ray.ensembles.values`: the ranking rule for non-finite and error values;
* :mod:`naswot_ray.ensembles.spec`: the ``ensemble:...`` names, the published presets, evaluation.
"""

from naswot_ray.ensembles.rank import KINDS, SYMMETRIC, combine_ranks, dense_lex_ranks, oriented, oriented_ranks
from naswot_ray.ensembles.spec import (PREFIX, PRESETS, Lookup, Member, Spec, Term, evaluate, is_ensemble, parse_spec,
                                       resolve)
from naswot_ray.ensembles.values import Usable, higher_is_better, legal_nonfinite, usable_values

__all__ = ["KINDS", "PREFIX", "PRESETS", "SYMMETRIC", "Lookup", "Member", "Spec", "Term", "Usable", "combine_ranks",
           "dense_lex_ranks", "evaluate", "higher_is_better", "is_ensemble", "legal_nonfinite", "oriented",
           "oriented_ranks", "parse_spec", "resolve", "usable_values"]
