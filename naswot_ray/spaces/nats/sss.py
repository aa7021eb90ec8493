"""The NATS-Bench size search space (``nats_sss``): 32,768 width choices for one fixed cell.

An architecture is a channel string ``c0:c1:c2:c3:c4`` with each width in 8..64 step 8. Index order is
itertools.product order over the five widths (c0 most significant), the benchmark's own order. The
network (spaces-spec 2.2) is the NB201 skeleton with one layer per width: stem to c0, cell c0->c0,
reduction c0->c1, cell c1->c2, reduction c2->c3, cell c3->c4, head on c4; cells that change width use
channel adapters on their node-0 edges.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import nn

from naswot_ray.errors import InputError
from naswot_ray.spaces import register_space
from naswot_ray.spaces.base import Arch, SearchSpace
from naswot_ray.spaces.nb201.cell import parse_cell
from naswot_ray.spaces.nb201.cost import Cost, plan_cost
from naswot_ray.spaces.nb201.net import CELL, REDUCE, CellNetwork, LayerSpec
from naswot_ray.spaces.parts import NetworkParts

NATS_SSS_WIDTHS: tuple[int, ...] = (8, 16, 24, 32, 40, 48, 56, 64)
NATS_SSS_DEPTH = 5
NATS_SSS_SIZE = len(NATS_SSS_WIDTHS) ** NATS_SSS_DEPTH  # 32,768
#: The cell every SSS network uses (NB201 index 9930, stored in each record's arch_config['genotype']).
NATS_SSS_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
_KINDS = (CELL, REDUCE, CELL, REDUCE, CELL)
_POSITION = {width: pos for pos, width in enumerate(NATS_SSS_WIDTHS)}


def parse_channels(text: str) -> tuple[int, ...]:
    """The five widths of a channel string; a malformed string raises a one-line InputError."""
    valid = ", ".join(map(str, NATS_SSS_WIDTHS))
    if not isinstance(text, str):
        raise InputError(f"NATS-SSS arch must be a string like '8:16:24:32:64', got {text!r}")
    parts = text.split(":")
    if len(parts) != NATS_SSS_DEPTH:
        raise InputError(
            f"NATS-SSS arch {text!r} has {len(parts)} widths; expected {NATS_SSS_DEPTH} joined by ':' (each one of {valid})"
        )
    widths = []
    for part in parts:
        if not part.isdigit() or int(part) not in _POSITION or part != str(int(part)):
            raise InputError(f"width {part!r} in NATS-SSS arch {text!r} is not valid; valid widths: {valid}")
        widths.append(int(part))
    return tuple(widths)


def format_channels(widths: Sequence[int]) -> str:
    return ":".join(str(w) for w in widths)


def nats_sss_layer_plan(widths: Sequence[int]) -> list[LayerSpec]:
    """[cell c0->c0, reduce c0->c1, cell c1->c2, reduce c2->c3, cell c3->c4]."""
    plan: list[LayerSpec] = []
    previous = widths[0]
    for kind, width in zip(_KINDS, widths):
        plan.append((kind, previous, width))
        previous = width
    return plan


def build_nats_sss_network(arch: str, num_classes: int) -> CellNetwork:
    """Our network for channel string ``arch`` with a ``num_classes`` head (CIFAR stem, 3 input channels)."""
    widths = parse_channels(arch)
    return CellNetwork(nats_sss_layer_plan(widths), parse_cell(NATS_SSS_CELL), num_classes, stem_channels=widths[0])


def nats_sss_cost(arch: str, num_classes: int, input_size: int = 32) -> Cost:
    """Parameters and FLOPs (raw; the benchmark stores both / 1e6), spaces-spec 2.3."""
    widths = parse_channels(arch)
    return plan_cost(
        nats_sss_layer_plan(widths), parse_cell(NATS_SSS_CELL), num_classes, input_size, stem_channels=widths[0]
    )


@register_space("nats_sss")
class NatsSssSpace(SearchSpace):
    """NATS-Bench size space; ``canonical`` is the string itself (no two width strings build the same network)."""

    name = "nats_sss"
    size = NATS_SSS_SIZE
    input_size = 32
    description = "NATS-Bench size space: widths c0:c1:c2:c3:c4 in 8..64 for a fixed cell, 5-layer network."

    def arch(self, index: int) -> Arch:
        index = self.check_index(int(index))
        widths = []
        for _ in range(NATS_SSS_DEPTH):
            index, pos = divmod(index, len(NATS_SSS_WIDTHS))
            widths.append(NATS_SSS_WIDTHS[pos])
        return format_channels(reversed(widths))

    def index(self, arch: Arch) -> int:
        index = 0
        for width in parse_channels(arch):
            index = index * len(NATS_SSS_WIDTHS) + _POSITION[width]
        return index

    def parse_arch(self, text: str) -> Arch:
        parse_channels(text)
        return text

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change one uniformly chosen layer's width to one of the 7 other widths, uniformly."""
        widths = list(parse_channels(arch))
        layer = int(rng.integers(NATS_SSS_DEPTH))
        others = [w for w in NATS_SSS_WIDTHS if w != widths[layer]]
        widths[layer] = others[int(rng.integers(len(others)))]
        return format_channels(widths)

    def build(self, arch: Arch, num_classes: int) -> nn.Module:
        return build_nats_sss_network(arch, num_classes)

    def network_parts(self, model: nn.Module) -> NetworkParts:
        """NB201's skeleton: the stem and the 5 layers as taps, ``lastact`` as pre-GAP."""
        return model.network_parts() if isinstance(model, CellNetwork) else super().network_parts(model)


__all__ = [
    "NATS_SSS_CELL",
    "NATS_SSS_SIZE",
    "NATS_SSS_WIDTHS",
    "NatsSssSpace",
    "build_nats_sss_network",
    "nats_sss_cost",
    "parse_channels",
]
