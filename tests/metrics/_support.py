"""Shared helpers for the metric tests: batches, scoring contexts, and NB201 degenerate cells."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import pytest
import torch
from torch import nn

from naswot_ray.data.base import Batch, BatchProvenance
from naswot_ray.metrics import get_metric
from naswot_ray.metrics.base import ScoringContext

ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
MIXED = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"


class FakeSpace:
    """The attributes of a search space that metrics read (name, input_size, optional build_thin)."""

    def __init__(self, name: str = "test", input_size: int = 32, thin: Callable[[str], nn.Module] | None = None):
        self.name = name
        self.input_size = input_size
        if thin is not None:
            self.build_thin = thin


def make_batch(x: torch.Tensor, y: torch.Tensor | None = None, num_classes: int = 10) -> Batch:
    prov = BatchProvenance("test", "train", x.shape[0], 0, "sha", "none", x.shape[-1], num_classes)
    return Batch(x, y, prov)


def make_ctx(build: Callable[[], nn.Module], *, space: object | None = None, arch: str = "a",
             num_classes: int = 10) -> ScoringContext:
    return ScoringContext(space=space if space is not None else FakeSpace(), arch=arch, arch_index=0,
                          num_classes=num_classes, device=torch.device("cpu"), bn_mode="train", rebuild=build)


def score(name: str, model: nn.Module, batch: Batch | None, *, seed: int = 0, mode: str | None = None,
          ctx: ScoringContext | None = None, space: object | None = None, arch: str = "a") -> float:
    """Score ``model`` with the registered metric ``name`` the way the worker does."""
    metric = get_metric(name)
    ctx = ctx if ctx is not None else make_ctx(lambda: model, space=space, arch=arch)
    return metric.score(model, batch, seed=seed, mode=metric.resolve_mode(mode), ctx=ctx)


def nb201_builder() -> Callable[..., nn.Module]:
    """``build_nb201_network``, or skip when the NB201 network module is not there."""
    if importlib.util.find_spec("naswot_ray.spaces.nb201.net") is None:
        pytest.skip("naswot_ray.spaces.nb201.net is missing")
    from naswot_ray.spaces.nb201.net import build_nb201_network

    return build_nb201_network


def nb201_space(build: Callable[..., nn.Module]) -> FakeSpace:
    """An NB201-like space offering TE-NAS's thin network (C=1, N=1, no stem, one input channel)."""
    return FakeSpace("nb201", 32, thin=lambda arch: build(arch, 1, C=1, N=1, stem=False, input_channels=1))


def nb201_case(arch: str, *, batch_size: int = 4, side: int = 8, num_classes: int = 10,
               seed: int = 0) -> tuple[Callable[[], nn.Module], Batch, ScoringContext]:
    """A small-input NB201 (C=16, N=5) scoring case: a seeded builder, a labelled batch, a context."""
    build_net = nb201_builder()

    def build() -> nn.Module:
        torch.manual_seed(seed)
        return build_net(arch, num_classes).train()

    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(batch_size, 3, side, side, generator=gen)
    y = torch.randint(0, num_classes, (batch_size,), generator=gen)
    ctx = make_ctx(build, space=nb201_space(build_net), arch=arch, num_classes=num_classes)
    return build, make_batch(x, y, num_classes), ctx
