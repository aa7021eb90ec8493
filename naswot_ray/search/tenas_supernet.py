"""The NB201 pruning supernet of TE-NAS: every edge holds all five ops, an alive mask says which count.

Why a mask on one network instead of one network per candidate: TE-NAS compares the supernet before
and after removing one op *with identical weights* (it copies the weights of the unpruned network into
the pruned one). Running the same module twice with two masks gives exactly that, with no copying.

The mixed edge is DARTS-V1's softmax-weighted sum with TE-NAS's architecture weights: alive ops have
alpha 0 and pruned ones -1000, so each of the k alive ops is weighted exactly 1/k and pruned ops are
not run at all (their parameters get no gradient, so they drop out of the NTK's Jacobian). One mask is
shared by every cell, as NB201 searches one cell.

Layouts used by the search (``prune_tenas.py``): the NTK network is C=3, N=1 with stem (cells at 3, 6
and 12 channels with the fixed residual reductions between); the linear-region network is C=1, N=1
*truncated to its first layer* (TE-NAS's ``depth=1``), without stem: one cell on 1-channel input.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from naswot_ray.errors import InputError
from naswot_ray.spaces.nb201.cell import EDGES, NUM_NODES, format_cell
from naswot_ray.spaces.nb201.net import CELL, REDUCE, nb201_layer_plan
from naswot_ray.spaces.nb201.ops import NB201_OPS, ResNetBasicblock, make_edge_op

#: alive[edge][op] in EDGES x NB201_OPS order
Mask = tuple[tuple[bool, ...], ...]


def full_mask() -> Mask:
    return tuple(tuple(True for _ in NB201_OPS) for _ in EDGES)


def without(mask: Mask, edge: int, op: int) -> Mask:
    """``mask`` with op ``op`` of edge ``edge`` pruned."""
    return tuple(tuple(alive and not (e == edge and o == op) for o, alive in enumerate(row)) for e, row in enumerate(mask))


def is_single_path(mask: Mask) -> bool:
    return all(sum(row) == 1 for row in mask)


def mask_cell(mask: Mask) -> str:
    """The NB201 cell string of a single-path mask."""
    if not is_single_path(mask):
        raise ValueError(f"mask is not a single path: {mask}")
    return format_cell([NB201_OPS[row.index(True)] for row in mask])


class SuperCell(nn.Module):
    """An NB201 cell whose every edge holds all five ops; ``forward`` sums the alive ones, each times 1/k."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            nn.ModuleList(make_edge_op(op, c_in if src == 0 else c_out, c_out) for op in NB201_OPS) for _, src in EDGES
        )
        self._incoming = tuple(
            tuple((k, src) for k, (dst, src) in enumerate(EDGES) if dst == node) for node in range(1, NUM_NODES)
        )

    def forward(self, x: torch.Tensor, mask: Mask) -> torch.Tensor:
        nodes = [x]
        for incoming in self._incoming:
            terms = []
            for k, src in incoming:
                alive = [op for op, keep in zip(self.edges[k], mask[k]) if keep]
                if not alive:
                    raise ValueError(f"edge {k} of the supernet has no op left")
                weight = 1.0 / len(alive)
                terms.append(sum(op(nodes[src]) * weight for op in alive))
            nodes.append(sum(terms))
        return nodes[-1]


class SuperNetwork(nn.Module):
    """Stem (optional) -> NB201 layer plan of SuperCells and reductions -> BN + ReLU -> pool -> Linear.

    ``depth`` keeps only the first ``depth`` layers of the plan (TE-NAS's thin network: 1). The alive
    mask is an attribute (:meth:`set_mask`), so the network keeps the single-tensor call signature the
    metric helpers (NTK, region counting) expect.
    """

    def __init__(self, C: int, N: int, num_classes: int, *, stem: bool = True, input_channels: int = 3,
                 depth: int | None = None) -> None:
        super().__init__()
        plan = nb201_layer_plan(C, N)
        if depth is not None:
            if depth < 1:
                raise InputError(f"supernet depth must be >= 1, got {depth}")
            plan = plan[:depth]
        if not stem and plan[0][1] != input_channels:
            raise InputError(f"without a stem the first cell takes the input directly: C={C} must equal "
                             f"input_channels={input_channels}")
        self.stem = (nn.Sequential(nn.Conv2d(input_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
                     if stem else None)
        layers: list[nn.Module] = []
        for kind, c_in, c_out in plan:
            layers.append(SuperCell(c_in, c_out) if kind == CELL else ResNetBasicblock(c_in, c_out))
            assert kind in (CELL, REDUCE)
        self.cells = nn.ModuleList(layers)
        last = plan[-1][2]
        self.lastact = nn.Sequential(nn.BatchNorm2d(last), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(last, num_classes)
        self.mask: Mask = full_mask()

    def set_mask(self, mask: Sequence[Sequence[bool]]) -> "SuperNetwork":
        rows = tuple(tuple(bool(a) for a in row) for row in mask)
        if len(rows) != len(EDGES) or any(len(row) != len(NB201_OPS) for row in rows):
            raise ValueError(f"a supernet mask is {len(EDGES)} x {len(NB201_OPS)} booleans")
        self.mask = rows
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stem is not None:
            x = self.stem(x)
        for layer in self.cells:
            x = layer(x, self.mask) if isinstance(layer, SuperCell) else layer(x)
        return self.classifier(self.global_pooling(self.lastact(x)).flatten(1))


__all__ = ["Mask", "SuperCell", "SuperNetwork", "full_mask", "is_single_path", "mask_cell", "without"]
