"""The contract every registered search space keeps, checked over the whole registry.

Parametrised over ``space_names()``, so a space added to the registry is covered with no edit here:
index <-> arch round trips, seeded sampling, mutation staying in the space, networks that build, run and
return logits of shape (B, num_classes), a finite NASWOT score, and parameter counts that do not change
between builds. nb101 is its V <= 5 part here (tests/conftest.py sets NASWOT_RAY_NB101_MAX_VERTICES).

Cost: each space's network checks use two *small* architectures (the first candidates under
``SMALL_PARAMS`` parameters among a few seeded ones), a batch of 4 random images and one torch thread.
Input size: the space's own (32 px) except the ImageNet (``_in``, 224 px) variants, which are run at
64 x 64 here to keep the test fast; their networks end in global pooling, so only the cost changes.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from torch import nn

from naswot_ray.data import BatchSpec
from naswot_ray.data.base import Batch
from naswot_ray.data.sources import draw_batch
from naswot_ray.errors import InputError
from naswot_ray.metrics import get_metric
from naswot_ray.spaces import SPACES, SearchSpace, get_space, space_names

NAMES = space_names()
NUM_CLASSES = 7  # not 10, so a head hard-wired to CIFAR-10 would show
BATCH = 4
#: an architecture counts as small below this many parameters
SMALL_PARAMS = 1_500_000
#: candidates built when looking for two small architectures
MAX_CANDIDATES = 8
#: the cap on image side in this test (ImageNet-size spaces run at 64 px; see the module docstring)
MAX_TEST_IMAGE = 64


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def image_side(space: SearchSpace) -> int:
    return min(space.input_size, MAX_TEST_IMAGE)


def candidate_indices(space: SearchSpace, count: int) -> list[int]:
    """Seeded indices: a uniform sample of a finite space, the first indices of an open-ended one."""
    if space.size is None:
        return list(range(count))
    return [int(i) for i in np.random.default_rng(0).choice(space.size, size=min(count, space.size), replace=False)]


def build(space: SearchSpace, arch: str) -> nn.Module:
    torch.manual_seed(0)
    return space.build(arch, NUM_CLASSES)


@functools.cache
def small_archs(name: str) -> tuple[tuple[str, int], ...]:
    """Two (arch, parameter count) pairs: the first small candidates, else the two smallest ones."""
    space = get_space(name)
    seen: list[tuple[int, str]] = []
    for index in candidate_indices(space, MAX_CANDIDATES):
        arch = space.arch(index)
        seen.append((n_params(build(space, arch)), arch))
        small = [(a, p) for p, a in seen if p < SMALL_PARAMS]
        if len(small) == 2:
            return tuple(small)
    return tuple((a, p) for p, a in sorted(seen)[:2])


@functools.cache
def random_batch(side: int) -> Batch:
    return draw_batch(BatchSpec("random", batch_size=BATCH, seed=0, image_size=side, num_classes=NUM_CLASSES))


@pytest.mark.parametrize("name", NAMES)
def test_index_arch_round_trip(name: str) -> None:
    space = get_space(name)
    if space.size is not None:
        picks = [0, space.size - 1, *candidate_indices(space, 5)]
    else:  # open-ended: the index of an arch this space produced, including far-out indices
        picks = [0, 1, 977, 2**31 - 1]
    for index in picks:
        arch = space.arch(index)
        assert isinstance(arch, str) and arch
        try:
            assert space.index(arch) == index
        except NotImplementedError:
            pytest.skip(f"space {name!r} cannot map an arch back to its index")
        assert space.parse_arch(arch) == arch
        assert space.arch(index) == arch  # stable within a process


@pytest.mark.parametrize("name", NAMES)
def test_indices_outside_the_space_are_input_errors(name: str) -> None:
    space = get_space(name)
    with pytest.raises(InputError):
        space.arch(-1)
    if space.size is not None:
        with pytest.raises(InputError):
            space.arch(space.size)
    with pytest.raises(InputError):
        space.parse_arch("not an architecture")


@pytest.mark.parametrize("name", NAMES)
def test_sampling_is_deterministic_per_seed(name: str) -> None:
    space = get_space(name)
    first = space.sample(np.random.default_rng(7), 6)
    assert first == space.sample(np.random.default_rng(7), 6)
    assert first != space.sample(np.random.default_rng(8), 6)
    upper = space.size if space.size is not None else 2**63
    assert all(isinstance(i, int) and 0 <= i < upper for i in first)
    # a fresh space object (another worker, another run) gives the same architectures for them
    fresh = SPACES.get(name)
    assert [fresh.arch(i) for i in first[:3]] == [space.arch(i) for i in first[:3]]


@pytest.mark.parametrize("name", NAMES)
def test_mutation_stays_in_the_space(name: str) -> None:
    space = get_space(name)
    for seed, index in enumerate(candidate_indices(space, 3)):
        parent = space.arch(index)
        child = space.mutate(parent, np.random.default_rng(seed))
        assert child == space.mutate(parent, np.random.default_rng(seed))  # seeded
        assert child != parent
        assert space.parse_arch(child) == child
        if space.size is not None:
            child_index = space.index(child)
            assert child_index != index and space.arch(child_index) == child


@pytest.mark.parametrize("name", NAMES)
def test_networks_build_and_return_logits(name: str) -> None:
    space = get_space(name)
    batch = random_batch(image_side(space))
    for arch, _ in small_archs(name):
        model = build(space, arch).train()
        with torch.no_grad():
            logits = model(batch.x)
        assert isinstance(logits, torch.Tensor), f"{name} returned {type(logits).__name__}, not logits"
        assert logits.shape == (BATCH, NUM_CLASSES)
        assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", NAMES)
def test_naswot_is_finite(name: str) -> None:
    space = get_space(name)
    batch = random_batch(image_side(space))
    naswot = get_metric("naswot")
    scores = [naswot.score(build(space, arch).train(), batch, seed=0, mode="reference", ctx=None)
              for arch, _ in small_archs(name)]
    assert all(math.isfinite(s) for s in scores), scores


@pytest.mark.parametrize("name", NAMES)
def test_parameter_counts_are_stable(name: str) -> None:
    space = get_space(name)
    for arch, counted in small_archs(name):
        assert counted > 0
        assert n_params(build(space, arch)) == counted
        assert n_params(SPACES.get(name).build(arch, NUM_CLASSES)) == counted  # another space object too
