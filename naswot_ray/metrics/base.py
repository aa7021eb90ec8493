"""The Metric abstraction: one training-free score of an untrained network.

A metric declares what it needs (data, labels, gradients), which way is better, which counting or
computation modes it offers, and whether it changes the network it is given (re-initialisation,
|weights|, ...). The worker uses these declarations to build each network once and share it (and,
for :class:`ForwardObserver` metrics, one inference forward) between all metrics that allow it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.errors import unknown_choice


@dataclass(frozen=True)
class MetricNeeds:
    """What a metric consumes; the worker uses it to skip shipping or computing what is unused."""

    data: bool = True
    labels: bool = False
    grad: bool = False


@dataclass
class ScoringContext:
    """Everything about the architecture being scored beyond the network and batch.

    ``rebuild`` returns a fresh network with the same initial weights (it re-seeds before building),
    for metrics that modify the network or need several independent copies.
    """

    space: object
    arch: str
    arch_index: int
    num_classes: int
    device: torch.device
    bn_mode: str
    rebuild: Callable[[], nn.Module]
    extras: dict = field(default_factory=dict)


class Metric(ABC):
    """Base class. Subclasses set the class attributes and implement :meth:`score`."""

    name: str = ""
    #: one line for ``naswot-ray metrics``: paper, formula, passes
    description: str = ""
    higher_is_better: bool = True
    needs: MetricNeeds = MetricNeeds()
    #: computation variants; the first is the default. Recorded in the score row's ``mode``.
    modes: tuple[str, ...] = ("default",)
    #: True when :meth:`score` changes weights or state so the network cannot be reused after it
    mutates_model: bool = False
    #: "raw", or "log" when values would overflow float64 and are stored as natural logs
    value_scale: str = "raw"

    def resolve_mode(self, mode: str | None) -> str:
        """Map a requested mode to one this metric offers; metrics with one mode ignore the request."""
        if mode is None or len(self.modes) == 1:
            return self.modes[0]
        if mode not in self.modes:
            raise unknown_choice(f"mode for metric {self.name!r}", mode, self.modes)
        return mode

    @abstractmethod
    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        """The metric's value for ``model`` (already on ``ctx.device`` and in ``ctx.bn_mode``)."""

    def describe(self) -> str:
        better = "higher is better" if self.higher_is_better else "lower is better"
        modes = f" modes: {', '.join(self.modes)}." if len(self.modes) > 1 else ""
        return f"{self.name}: {self.description} ({better}).{modes}"


class ForwardObserver(ABC):
    """A metric that can read what it needs from a forward pass it does not run itself.

    ``attach`` registers hooks and returns a finaliser; after the shared inference forward the
    worker calls the finaliser, which removes the hooks and returns the value. Several observers
    therefore share one forward pass of one network.
    """

    @abstractmethod
    def attach(self, model: nn.Module, batch: Batch, *, mode: str) -> Callable[[], float]:
        """Register hooks on ``model``; return a callable that detaches them and gives the value."""

    def observes(self, mode: str) -> bool:
        """Whether ``mode`` can be computed off the shared forward (else :meth:`Metric.score` runs)."""
        return True
