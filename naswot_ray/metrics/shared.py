"""Work that several metrics of one architecture can share: one result per (computation, inputs).

Why: proxies whose definitions agree on the initialisation, the images and the BN mode (spec 0.2 and
13) read the same forward or forward+backward. ZiCo's first labelled batch gives ``plain`` its gradients
(and ``epe_nas`` its input Jacobian from the same forward); ``swap_reg`` is SWAP's pattern count times a
size prior. The worker makes one :class:`SharedPasses` per architecture and hands it to every metric
(``ctx.extras["shared"]``); a metric scored alone gets a private one, so values never depend on what
else was requested: a shared result is keyed by everything it depends on, and computed exactly as the
metric alone would compute it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

SHARED_KEY = "shared"


class SharedPasses:
    """Per-architecture memo of shared computations, plus which metrics the run requested.

    ``requested`` maps metric name -> resolved options, so a pass can compute, in the same forward,
    what the other requested metrics will read from it (and nothing for metrics nobody asked for).
    """

    def __init__(self, requested: Mapping[str, dict] | None = None) -> None:
        # the options are read, never changed: the worker passes the same per-run mapping for every
        # architecture instead of copying each metric's options again per architecture
        self.requested: dict[str, dict] = dict(requested or {})
        self._results: dict[tuple, Any] = {}
        #: how many times each key was computed (tests check a shared pass runs once)
        self.computed: dict[tuple, int] = {}

    def wants(self, metric: str) -> bool:
        return metric in self.requested

    def options(self, metric: str) -> dict:
        return self.requested.get(metric, {})

    def get(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """The result stored under ``key``, computing (and keeping) it on first use."""
        if key not in self._results:
            self._results[key] = compute()
            self.computed[key] = self.computed.get(key, 0) + 1
        return self._results[key]


def shared_passes(ctx: object) -> SharedPasses:
    """The run's per-architecture memo from the scoring context, or a private one (scored alone)."""
    extras = getattr(ctx, "extras", None)
    if isinstance(extras, dict):
        found = extras.get(SHARED_KEY)
        if isinstance(found, SharedPasses):
            return found
        private = SharedPasses()
        extras[SHARED_KEY] = private
        return private
    return SharedPasses()


__all__ = ["SHARED_KEY", "SharedPasses", "shared_passes"]
