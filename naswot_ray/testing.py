"""Test-only metrics for the engine's own tests and benchmarks: faults and costs on demand.

Not part of the metric registry's module list: a job loads them as a plugin
(``ScoreJob(plugins=["naswot_ray.testing"])``), in the driver and in every scorer, exactly as a
user's plugin would be. Each stands in for a fault that cannot be produced for real on a CPU box
(a broken GPU, a constructor that fails on one node) or isolates one cost (the control plane).
"""

from __future__ import annotations

import time

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext
from naswot_ray.options import Option


@register_metric("zero_cost")
class ZeroCost(Metric):
    """Builds no network, reads no data, returns the index: what the engine costs per row by itself."""

    name = "zero_cost"
    description = "test only: no network, no data, value = arch index (control-plane benchmark)"
    needs = MetricNeeds(data=False, network=False)
    device_independent = True

    def score(self, model: nn.Module | None, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        return float(ctx.arch_index)


@register_metric("sleep")
class Sleep(Metric):
    """Sleeps ``seconds`` per architecture in a Python loop (so the per-architecture alarm can interrupt it)."""

    name = "sleep"
    description = "test only: sleeps, value 0"
    needs = MetricNeeds(data=False, network=False)
    options = (Option("seconds", float, 1.0, "seconds to sleep per architecture"),)

    def score(self, model: nn.Module | None, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        deadline = time.monotonic() + float(ctx.options["seconds"])
        while time.monotonic() < deadline:
            time.sleep(0.01)
        return 0.0


def _chosen(worker: str, which: str) -> bool:
    """Whether scorer ``worker`` (``scorer-1@host``, or its replacement ``scorer-1-r2@host``) is among
    ``which`` (``*`` or ``scorer-0,scorer-1``)."""
    slot = worker.split("@", 1)[0].split("-r", 1)[0]
    return which == "*" or slot in which.split(",")


@register_metric("device_error")
class DeviceError(Metric):
    """Raises the error a broken GPU raises (a sticky CUDA error) on the chosen scorers."""

    name = "device_error"
    description = "test only: a sticky CUDA error on chosen scorers"
    needs = MetricNeeds(data=False, network=False)
    options = (Option("broken", str, "*", "scorers whose device is broken: * or scorer-0,scorer-1"),
               Option("healthy_seconds", float, 0.0,
                      "seconds a healthy scorer spends per architecture (so a broken one surely gets work)"))

    def score(self, model: nn.Module | None, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        if _chosen(ctx.extras.get("worker", ""), str(ctx.options["broken"])):
            raise torch.AcceleratorError("CUDA error: an illegal memory access was encountered")
        time.sleep(float(ctx.options["healthy_seconds"]))
        return 1.0


@register_metric("broken_setup")
class BrokenSetup(Metric):
    """Fails when the chosen scorers start (as a CUDA init error or a file missing on one node would)."""

    name = "broken_setup"
    description = "test only: chosen scorers fail to start"
    needs = MetricNeeds(data=False, network=False)
    options = (Option("broken", str, "*", "scorers that fail to start: * or scorer-0,scorer-1"),)

    def setup(self, device: torch.device, worker: str, options) -> None:
        if _chosen(worker, str(options["broken"])):
            raise RuntimeError("simulated constructor failure: /data/imagenet16 is missing on this node")

    def score(self, model: nn.Module | None, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        return 0.0





# -- a space that costs nothing ------------------------------------------------------------------
from naswot_ray.spaces import register_space  # noqa: E402
from naswot_ray.spaces.base import SearchSpace  # noqa: E402


@register_space("test_counting")
class CountingSpace(SearchSpace):
    """Ten million architectures named by their index; networks are never built (with ``zero_cost``).

    With it, a run measures only the engine: leasing, scoring bookkeeping, writing, committing.
    """

    name = "test_counting"
    size = 10_000_000
    description = "test only: architectures are their index; no networks"

    def arch(self, index: int) -> str:
        return str(self.check_index(int(index)))

    def index(self, arch: str) -> int:
        return self.check_index(int(arch))

    def mutate(self, arch: str, rng) -> str:
        return str((int(arch) + 1 + int(rng.integers(self.size - 1))) % self.size)

    def build(self, arch: str, num_classes: int) -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.LazyLinear(num_classes))
__all__ = ["BrokenSetup", "CountingSpace", "DeviceError", "Sleep", "ZeroCost"]
