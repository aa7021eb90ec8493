"""The NAS-Bench-201 search space (also NATS-Bench's topology space ``nats_tss``).

15,625 cells (5 ops on 6 edges) in the benchmark's own index order, so results join with official
tables by index and by string, and our own PyTorch network per cell (C=16, N=5).

Index order: every op assignment, enumerated lexicographically in edge order (1<-0, 2<-0, 2<-1, 3<-0,
3<-1, 3<-2) with ops in :data:`NB201_OPS` order and the last edge fastest, then shuffled as Python's
``random.seed(88); random.shuffle(...)`` does. We shuffle with a private ``random.Random(88)`` (same
Mersenne Twister, same result) so building the table never disturbs the global ``random`` state.
"""

from __future__ import annotations

import copy
import functools
import itertools
import random

import numpy as np
from torch import nn

from naswot_ray.errors import InputError, unknown_choice
from naswot_ray.options import Option
from naswot_ray.spaces import register_space
from naswot_ray.spaces.base import Arch, SearchSpace
from naswot_ray.spaces.nb201.cell import EDGES, format_cell, parse_cell, unique_topology_key
from naswot_ray.spaces.nb201.cost import nb201_flops, nb201_param_count
from naswot_ray.spaces.nb201.net import CellNetwork, build_nb201_network
from naswot_ray.spaces.parts import NetworkParts
from naswot_ray.spaces.nb201.ops import NB201_MODELS, NB201_OPS

NB201_SIZE = len(NB201_OPS) ** len(EDGES)  # 15,625
_SHUFFLE_SEED = 88


@functools.cache
def nb201_arch_table() -> tuple[str, ...]:
    """All 15,625 cell strings; position = official index."""
    cells = [format_cell(ops) for ops in itertools.product(NB201_OPS, repeat=len(EDGES))]
    random.Random(_SHUFFLE_SEED).shuffle(cells)
    return tuple(cells)


@functools.cache
def _index_of() -> dict[str, int]:
    return {arch: i for i, arch in enumerate(nb201_arch_table())}


@register_space("nb201", aliases=("nats_tss",))
class NB201Space(SearchSpace):
    """NAS-Bench-201 cells; ``build`` gives the benchmark's C=16, N=5 network with a ``num_classes`` head.

    Option ``model``: ``nb201`` (default, the benchmark's network) or ``samsung`` (the copy in Samsung's
    zero-cost-nas, which the published grad_norm/snip/grasp/fisher/synflow/jacob_cov tables were
    computed with; see :func:`~naswot_ray.spaces.nb201.net.build_nb201_network`).
    """

    name = "nb201"
    options = (Option("model", str, "nb201", "network builder: nb201 (the benchmark's) or samsung (Samsung "
                      "zero-cost-nas's copy: cell conv bias, affine-free BN; behind the published "
                      "grad_norm/snip/grasp/fisher/synflow/jacob_cov tables)", choices=NB201_MODELS),)
    model = "nb201"
    size = NB201_SIZE
    input_size = 32
    description = (
        "NAS-Bench-201 / NATS-Bench topology space: 6-edge cells over 5 ops, 17-layer C=16 network "
        "(CIFAR-10/100 32x32, ImageNet16-120 16x16)."
    )

    def arch(self, index: int) -> Arch:
        return nb201_arch_table()[self.check_index(int(index))]

    def index(self, arch: Arch) -> int:
        found = _index_of().get(arch) if isinstance(arch, str) else None
        if found is None:
            # Every well-formed cell is in the table, so this raises the specific one-line error.
            parse_cell(arch)
            raise InputError(f"NB201 arch {arch!r} is not in the space")
        return found

    def parse_arch(self, text: str) -> Arch:
        parse_cell(text)
        return text

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change the op of one uniformly chosen edge to one of the 4 other ops, uniformly."""
        ops = list(parse_cell(arch))
        edge = int(rng.integers(len(ops)))
        others = [op for op in NB201_OPS if op != ops[edge]]
        ops[edge] = others[int(rng.integers(len(others)))]
        return format_cell(ops)

    def build(self, arch: Arch, num_classes: int) -> nn.Module:
        return build_nb201_network(arch, num_classes, model=self.model)

    def network_parts(self, model: nn.Module) -> NetworkParts:
        """Stem and the 17 cells / reduction blocks as taps, ``lastact`` as pre-GAP (see CellNetwork)."""
        return model.network_parts() if isinstance(model, CellNetwork) else super().network_parts(model)

    def build_thin(self, arch: Arch) -> nn.Module:
        """TE-NAS's linear-region network: the cell at C=1, N=1 (one cell per stage), no stem, fed
        single-channel patches directly."""
        return build_nb201_network(arch, 1, C=1, N=1, stem=False, input_channels=1, model=self.model)

    def build_proxy(self, arch: Arch, num_classes: int, C: int = 3, N: int = 1) -> nn.Module:
        """The cell in a narrower, shallower NB201 skeleton (with stem): TE-NAS computes the NTK on
        its C=3, N=1 supernet, so ``ntk_cond``'s ``tenas`` mode scores each cell at that size."""
        return build_nb201_network(arch, num_classes, C=C, N=N, model=self.model)

    def _configured(self, **options: object) -> "NB201Space":
        model = str(options["model"])
        if model not in NB201_MODELS:
            raise unknown_choice("NB201 model", model, NB201_MODELS)
        configured = copy.copy(self)
        configured.model = model
        return configured

    def options_key(self) -> str:
        return "" if self.model == "nb201" else f"model={self.model}"

    def canonical(self, arch: Arch) -> str:
        """The NB201 paper's unique-topology key (6,466 classes); see :func:`unique_topology_key`."""
        return unique_topology_key(parse_cell(arch))


__all__ = ["NB201Space", "NB201_SIZE", "nb201_arch_table", "nb201_flops", "nb201_param_count"]
