"""NB201-style networks: the cell, the stacked skeleton, and the NB201 (C=16, N=5) builder.

One skeleton serves NAS-Bench-201 (17 layers of fixed widths C, 2C, 4C) and NATS-Bench SSS (5 layers
with free widths): both are a stem, a list of layers that are either a cell or a stride-2 residual
reduction block, then BN + ReLU, global average pooling and a linear head. A *plan* lists the layers
as ``(kind, c_in, c_out)``; the same plan drives the closed-form parameter and FLOP counts, so the
counts and the built networks cannot drift apart.

Modules are created in the benchmark's order (spaces-spec 1.6: stem conv, then per layer the cell's
conv edges in edge order or conv_a, conv_b, shortcut, then the head), so default-initialised weights
equal the benchmark's under the same CPU seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from naswot_ray.errors import InputError
from naswot_ray.spaces.parts import NetworkParts, rectifier_modules
from naswot_ray.spaces.nb201.cell import EDGES, NUM_NODES, parse_cell
from naswot_ray.spaces.nb201.ops import ResNetBasicblock, make_edge_op

CELL = "cell"
REDUCE = "reduce"
#: One layer of a plan: (CELL or REDUCE, input channels, output channels).
LayerSpec = tuple[str, int, int]


def nb201_layer_plan(C: int = 16, N: int = 5) -> list[LayerSpec]:
    """N cells at C, reduction C->2C, N cells at 2C, reduction 2C->4C, N cells at 4C."""
    plan: list[LayerSpec] = [(CELL, C, C)] * N
    plan += [(REDUCE, C, 2 * C)] + [(CELL, 2 * C, 2 * C)] * N
    plan += [(REDUCE, 2 * C, 4 * C)] + [(CELL, 4 * C, 4 * C)] * N
    return plan


class InferCell(nn.Module):
    """A fixed NB201 cell: node i = sum of its incoming edge ops, in edge order; output = node 3.

    Only the edges leaving node 0 see ``c_in``; every other edge maps ``c_out`` to ``c_out`` (NB201
    always has c_in == c_out; NATS-SSS cells may widen or narrow).
    """

    def __init__(self, ops: Sequence[str], c_in: int, c_out: int, model: str = "nb201") -> None:
        super().__init__()
        if len(ops) != len(EDGES):
            raise InputError(f"an NB201 cell has {len(EDGES)} edges, got {len(ops)} ops: {list(ops)!r}")
        self.ops = tuple(ops)
        self.edges = nn.ModuleList(
            make_edge_op(op, c_in if src == 0 else c_out, c_out, model) for op, (_, src) in zip(self.ops, EDGES)
        )
        self._incoming = tuple(
            tuple((k, src) for k, (dst, src) in enumerate(EDGES) if dst == node) for node in range(1, NUM_NODES)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for incoming in self._incoming:
            # Python's sum, in edge order, so outputs match the benchmark's bit for bit.
            nodes.append(sum(self.edges[k](nodes[src]) for k, src in incoming))
        return nodes[-1]

    def extra_repr(self) -> str:
        return f"ops={self.ops!r}"


class CellNetwork(nn.Module):
    """Stem -> plan layers -> BN + ReLU -> global average pool -> Linear. ``forward`` returns logits only.

    ``stem_channels=None`` drops the stem so the input feeds the first layer directly (TE-NAS's thin
    linear-region network); the first layer must then take ``input_channels``.
    """

    def __init__(
        self,
        plan: Sequence[LayerSpec],
        cell_ops: Sequence[str],
        num_classes: int,
        *,
        stem_channels: int | None,
        input_channels: int = 3,
        model: str = "nb201",
    ) -> None:
        super().__init__()
        if not plan:
            raise InputError("a cell network needs at least one layer")
        if num_classes < 1:
            raise InputError(f"num_classes must be >= 1, got {num_classes}")
        first_in = plan[0][1]
        if stem_channels is None:
            if first_in != input_channels:
                raise InputError(
                    f"without a stem the first layer takes the input directly: its width {first_in} "
                    f"must equal input_channels={input_channels}"
                )
            self.stem: nn.Module | None = None
        else:
            if stem_channels != first_in:
                raise InputError(f"stem width {stem_channels} must equal the first layer's input width {first_in}")
            self.stem = nn.Sequential(
                nn.Conv2d(input_channels, stem_channels, 3, padding=1, bias=False), nn.BatchNorm2d(stem_channels)
            )
        layers: list[nn.Module] = []
        previous_out = first_in
        for kind, c_in, c_out in plan:
            if c_in != previous_out:
                raise InputError(f"layer plan breaks: a layer takes {c_in} channels after one that gives {previous_out}")
            if kind == CELL:
                layers.append(InferCell(cell_ops, c_in, c_out, model))
            elif kind == REDUCE:
                layers.append(ResNetBasicblock(c_in, c_out, model))
            else:
                raise InputError(f"unknown layer kind {kind!r}; valid kinds: {CELL}, {REDUCE}")
            previous_out = c_out
        self.cells = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(previous_out), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(previous_out, num_classes)

    def forward_before_global_avg_pool(self, x: torch.Tensor) -> torch.Tensor:
        """The last feature map (after the final BN + ReLU), before pooling."""
        if self.stem is not None:
            x = self.stem(x)
        for layer in self.cells:
            x = layer(x)
        return self.lastact(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.global_pooling(self.forward_before_global_avg_pool(x)).flatten(1)
        return self.classifier(features)

    def network_parts(self) -> NetworkParts:
        """Taps: the stem (conv + BN, no ReLU; absent in thin networks), then every cell and reduction
        block, not ``lastact`` (spec 0.1: 18 taps on NB201); pre-GAP: ``lastact`` (BN + ReLU)."""
        taps = ([self.stem] if self.stem is not None else []) + list(self.cells)
        return NetworkParts(feature_taps=taps, pre_gap=self.lastact, activation_sites=rectifier_modules(self))


def build_nb201_network(
    arch: str, num_classes: int, C: int = 16, N: int = 5, stem: bool = True, input_channels: int = 3,
    model: str = "nb201",
) -> CellNetwork:
    """The NAS-Bench-201 network for cell string ``arch`` (benchmark default C=16, N=5).

    ``model`` picks the implementation (:data:`~naswot_ray.spaces.nb201.ops.NB201_MODELS`): the
    benchmark's, or Samsung's zero-cost-nas copy (cell convs with a bias, affine-free BN without running
    statistics, its init order), whose differences move some proxies' correlations a lot.

    ``stem=False`` feeds the input straight into the first cell, which then needs ``C == input_channels``
    (TE-NAS's thin network: C=1, N=1, one-channel patches).
    """
    if C < 1 or N < 0:
        raise InputError(f"NB201 network needs C >= 1 and N >= 0, got C={C}, N={N}")
    return CellNetwork(
        nb201_layer_plan(C, N),
        parse_cell(arch),
        num_classes,
        stem_channels=C if stem else None,
        input_channels=input_channels,
        model=model,
    )
