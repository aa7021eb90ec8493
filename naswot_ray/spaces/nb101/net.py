"""Our PyTorch NAS-Bench-101 network (``spaces-spec.md`` §3.5).

Why our own: the official model is a TensorFlow graph; NASWOT's PyTorch port mirrors it. We follow
the spec, so that parameter counts equal NB101's recorded ``trainable_parameters`` (stem 128, 10
labels) and the initial weights follow NASWOT's rule: construct with PyTorch defaults (which
advances the RNG exactly as NASWOT's construction does), then re-draw every weight in ``modules()``
pre-order. The module registration order below is therefore part of the contract:

stem; per stack (max-pool before stacks 2 and 3, then 3 cells); classifier. Inside a cell: the
interior vertex ops in vertex order, then the 1x1 input projections in vertex order (the one for the
output vertex last).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from naswot_ray.spaces.parts import NetworkParts, rectifier_modules

from naswot_ray.spaces.nb101.graph import Cell

#: NB101's defaults: 3 stacks of 3 cells, 128-channel stem (NASWOT's scorer uses 16)
DEFAULT_STEM_CHANNELS = 128
NUM_STACKS = 3
CELLS_PER_STACK = 3


def compute_vertex_channels(in_channels: int, out_channels: int, matrix: Sequence[Sequence[int]]) -> list[int]:
    """Output channels of every vertex, as NB101's ``ComputeVertexChannels``.

    The output's channels are split evenly over the interior vertices that feed it (the lowest
    indexed ones get the remainder, one each); a vertex that does not feed the output takes the
    largest width among its interior successors, so widths never grow along an edge.
    """
    n = len(matrix)
    channels = [0] * n
    channels[0] = in_channels
    channels[n - 1] = out_channels
    if n == 2:
        return channels
    feeders = [v for v in range(1, n - 1) if matrix[v][n - 1]]
    share, remainder = divmod(out_channels, len(feeders))
    for v in feeders:
        channels[v] = share
        if remainder > 0:
            channels[v] += 1
            remainder -= 1
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            for dst in range(v + 1, n - 1):
                if matrix[v][dst]:
                    channels[v] = max(channels[v], channels[dst])
    for v in range(1, n - 1):
        if channels[v] <= 0:
            raise ValueError(f"vertex {v} of the cell got {channels[v]} channels")
        for dst in range(v + 1, n - 1):
            if matrix[v][dst] and channels[dst] > channels[v]:
                raise ValueError(f"channels grow along edge {v}->{dst}: {channels[v]} -> {channels[dst]}")
    if sum(channels[v] for v in feeders) != out_channels:
        raise ValueError("vertex channels feeding the output do not add up to the cell's width")
    return channels


class ConvBnRelu(nn.Sequential):
    """Conv (no bias, 'same' padding) -> BatchNorm -> ReLU: NB101's post-activation conv unit."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )


def _vertex_op(name: str, channels: int) -> nn.Module:
    if name == "conv3x3-bn-relu":
        return ConvBnRelu(channels, channels, 3)
    if name == "conv1x1-bn-relu":
        return ConvBnRelu(channels, channels, 1)
    if name == "maxpool3x3":
        # 'same' max-pool: PyTorch pads with -inf, so padding never wins, as in TF
        return nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
    raise ValueError(f"unknown NB101 op {name!r}")


class NB101Cell(nn.Module):
    """One module (cell): interior vertices sum their inputs then apply their op; see spec §3.5."""

    def __init__(self, cell: Cell, in_channels: int, out_channels: int) -> None:
        super().__init__()
        matrix = cell.matrix
        n = cell.num_vertices
        self.num_vertices = n
        self.vertex_channels = compute_vertex_channels(in_channels, out_channels, matrix)
        channels = self.vertex_channels
        self.vertex_ops = nn.ModuleList([_vertex_op(cell.ops[t], channels[t]) for t in range(1, n - 1)])
        self.projections = nn.ModuleDict(
            {str(t): ConvBnRelu(in_channels, channels[t], 1) for t in range(1, n) if matrix[0][t]}
        )
        # static wiring: interior sources of each vertex (truncated to the vertex's width), in order
        self._sources: list[list[int]] = [[s for s in range(1, t) if matrix[s][t]] for t in range(n)]
        for t in range(1, n - 1):
            for s in self._sources[t]:
                if channels[s] - channels[t] not in (0, 1):
                    raise ValueError(f"edge {s}->{t} needs truncation {channels[s]} -> {channels[t]}; only 1 allowed")
        self._output_feeders = self._sources[n - 1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.num_vertices
        tensors: list[torch.Tensor] = [x]
        for t in range(1, n - 1):
            width = self.vertex_channels[t]
            terms = [tensors[s][:, :width] if tensors[s].shape[1] != width else tensors[s] for s in self._sources[t]]
            if str(t) in self.projections:
                terms.append(self.projections[str(t)](x))
            total = terms[0]
            for term in terms[1:]:
                total = total + term
            tensors.append(self.vertex_ops[t - 1](total))
        feeders = [tensors[t] for t in self._output_feeders]
        out_projection = self.projections[str(n - 1)] if str(n - 1) in self.projections else None
        if not feeders:
            assert out_projection is not None  # pruning guarantees a path to the output
            return out_projection(x)
        out = feeders[0] if len(feeders) == 1 else torch.cat(feeders, dim=1)
        if out_projection is not None:
            out = out + out_projection(x)
        return out


class NB101Network(nn.Module):
    """Stem, 3 stacks x 3 cells (max-pool and doubled width between stacks), global mean, linear.

    ``forward`` returns logits only; :meth:`forward_before_global_avg_pool` gives the last feature
    map. Weights follow NASWOT's re-initialisation (see module docstring).
    """

    def __init__(
        self,
        cell: Cell,
        num_classes: int,
        stem_channels: int = DEFAULT_STEM_CHANNELS,
        in_channels: int = 3,
        num_stacks: int = NUM_STACKS,
        cells_per_stack: int = CELLS_PER_STACK,
    ) -> None:
        super().__init__()
        self.cell = cell
        self.stem = ConvBnRelu(in_channels, stem_channels, 3)
        layers: list[nn.Module] = []
        width_in = width = stem_channels
        for stack in range(num_stacks):
            if stack > 0:
                # TF 'same' 2x2/2 pooling; ceil_mode matches it on odd sizes, no-op on even ones
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True))
                width *= 2
            for _ in range(cells_per_stack):
                layers.append(NB101Cell(cell, width_in, width))
                width_in = width
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(width, num_classes)
        self.reinitialise()

    def reinitialise(self) -> None:
        """NASWOT's rule, in ``modules()`` pre-order: conv N(0, 2/(k*k*C_out)), BN 1/0, linear N(0, 0.01^2)/0."""
        for module in self.modules():
            if any(p.is_meta for p in module.parameters(recurse=False)):
                continue  # shape-only build (e.g. counting parameters): nothing to draw
            if isinstance(module, nn.Conv2d):
                fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
                nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    def forward_before_global_avg_pool(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_before_global_avg_pool(x).mean(dim=(2, 3)))

    def network_parts(self) -> NetworkParts:
        """Taps: the stem (conv+BN+ReLU) and the 9 cells (a max-pool belongs to the segment of the cell
        after it); pre-GAP: the last cell's output (the global mean is functional, no module)."""
        cells = [layer for layer in self.layers if isinstance(layer, NB101Cell)]
        return NetworkParts(feature_taps=[self.stem, *cells], pre_gap=cells[-1],
                            activation_sites=rectifier_modules(self))
