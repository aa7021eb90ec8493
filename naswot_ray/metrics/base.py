"""The Metric abstraction: one training-free score of an untrained network.

A metric declares what it needs (data, labels, gradients, a network at all), which way is better,
which counting or computation modes it offers, its options, the version of its maths, which images of
the run's batch it reads, which non-finite values belong to its definition, the group of metrics it
shares one pass with, and whether it changes the network it is given (re-initialisation,
|weights|, ...). The worker uses these declarations to build each network once and share it (and,
for :class:`ForwardObserver` metrics, one inference forward; for a group, one pass) between all
metrics that allow it; the store puts every declaration a value depends on into the score's identity.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import math
from collections.abc import Mapping

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.errors import unknown_choice
from naswot_ray.options import Option, options_key, resolve_options

#: the non-finite values a metric may declare legal (``Metric.legal_nonfinite``)
NONFINITE_KINDS = ("-inf", "inf", "nan")


@dataclass(frozen=True)
class MetricNeeds:
    """What a metric consumes; the worker uses it to skip shipping or computing what is unused.

    ``network=False`` marks a metric computed without building the architecture's network (a closed
    form from the space, or the engine's own test metrics); the worker then builds nothing.
    """

    data: bool = True
    labels: bool = False
    grad: bool = False
    network: bool = True


@dataclass(frozen=True)
class BatchNeeds:
    """Which images a metric reads. Every input is derived from the run's one batch, so it is reproducible.

    - ``source="run"``: the run's batch; ``size`` takes its first ``size`` images (None: all of them);
    - ``source="gaussian"``: ``size`` N(0, 1) images of the run batch's shape, drawn from the
      architecture's seed (AZ-NAS, Zen, VKDNW);
    - ``source="none"``: no images (only the input shape matters).
    ``labels`` says whether the labels of those images are read (they then join the score's identity).
    """

    source: str = "run"
    size: int | None = None
    labels: bool = False

    def identity(self, batch: Batch) -> tuple[str, str]:
        """(images identity, labels identity) of what this request reads from ``batch``."""
        _, channels, height, width = batch.x.shape
        if self.source == "none":
            return f"none:{channels}x{height}x{width}", ""
        if self.source == "gaussian":
            return f"gaussian:{self.size}x{channels}x{height}x{width}", ""
        prov = batch.provenance
        images = prov.sha256 if self.size is None or self.size >= batch.size else f"{prov.sha256}:first{self.size}"
        labels = ""
        if self.labels:
            labels = prov.labels_sha256 if self.size is None or self.size >= batch.size else f"{prov.labels_sha256}:first{self.size}"
        return images, labels

    def view(self, batch: Batch, *, seed: int) -> Batch:
        """The batch this request reads (a view of ``batch``, or Gaussian images drawn from ``seed``)."""
        if self.source == "gaussian":
            return batch.gaussian_like(self.size or batch.size, seed=seed)
        if self.source == "run" and self.size is not None and self.size < batch.size:
            return batch.head(self.size)
        return batch


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
    #: this metric's resolved options (every declared option, defaults filled in)
    options: dict = field(default_factory=dict)


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
    #: the version of this metric's maths; a change that can move a value bumps it, so new values never
    #: merge with old ones (rows stored before versions existed read as version 0)
    version: int = 1
    #: declared options (type, default, help); their non-default values join the score's identity
    options: tuple[Option, ...] = ()
    #: non-finite values that are part of the definition ("-inf", "inf", "nan"): stored as ``ok`` and
    #: ranked as the worst (or, for "inf", the best) values; any other non-finite value is an error row
    legal_nonfinite: frozenset[str] = frozenset()
    #: metrics computed together in one pass (AZ-NAS's four components): the group's name; members
    #: implement :meth:`score_group`, which returns every member's value at once
    group: str | None = None
    #: exact values that no device or memory format can change (parameter counts): their identity
    #: says device class and memory format "any", so a CPU and a GPU run share them
    device_independent: bool = False

    def setup(self, device: torch.device, worker: str, options: Mapping[str, object]) -> None:
        """Called once per scorer (named ``worker``) before any architecture, on its own device and node,
        with this metric's resolved options.

        What only a worker can discover (a device without a needed feature, a data file missing on
        that node) belongs here: an exception stops that scorer from starting, and the engine caps and
        reports such failures instead of storing them as architecture errors.
        """

    def resolve_options(self, given: Mapping[str, object] | None = None) -> dict[str, object]:
        """Every declared option (given values parsed, defaults filled); unknown keys raise InputError."""
        return resolve_options(self.options, given or {}, owner=f"metric {self.name!r}")

    def options_key(self, resolved: Mapping[str, object]) -> str:
        return options_key(self.options, resolved)

    def batch_needs(self, mode: str, options: Mapping[str, object]) -> BatchNeeds:
        """Which images this metric reads under ``mode``/``options`` (default: the whole run batch)."""
        if not self.needs.data:
            return BatchNeeds(source="none")
        return BatchNeeds(source="run", labels=self.needs.labels)

    def check_value(self, value: float) -> str | None:
        """None when ``value`` is legal, else the error text stored instead of it."""
        if math.isfinite(value):
            return None
        kind = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        if kind in self.legal_nonfinite:
            return None
        legal = ", ".join(sorted(self.legal_nonfinite)) or "none"
        return f"non-finite value {kind} is not part of {self.name}'s definition (legal non-finite values: {legal})"

    def score_group(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext
                    ) -> dict[str, float]:
        """Every member of :attr:`group` from one pass (grouped metrics override this)."""
        raise NotImplementedError(f"metric {self.name!r} is not part of a group")

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


@dataclass(frozen=True)
class MetricRequest:
    """One metric as a run asks for it: the metric, its resolved mode and options.

    Everything here is part of the identity of the values it produces (with the batch, see
    :meth:`BatchNeeds.identity`).
    """

    metric: Metric
    mode: str
    options: tuple[tuple[str, object], ...] = ()

    @property
    def name(self) -> str:
        return self.metric.name

    @property
    def options_dict(self) -> dict[str, object]:
        return dict(self.options)

    @property
    def options_key(self) -> str:
        return self.metric.options_key(self.options_dict)

    @property
    def batch_needs(self) -> BatchNeeds:
        return self.metric.batch_needs(self.mode, self.options_dict)

    @classmethod
    def make(cls, metric: Metric, mode: str | None, options: Mapping[str, object] | None = None) -> "MetricRequest":
        resolved = metric.resolve_options(options)
        return cls(metric, metric.resolve_mode(mode), tuple(sorted(resolved.items())))


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
