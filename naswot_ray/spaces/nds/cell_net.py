"""The DARTS-style skeletons NDS cell spaces are built on: NetworkCIFAR and NetworkImageNet (spaces-spec 4.3, 4.5).

pycls/unnas flavour: FactorizedReduce zero-pads before its shift, and both skeletons end in adaptive
average pooling + Linear. Construction order follows spaces-spec 4.3 exactly (stem conv; per cell
preprocess0, preprocess1, then the ops in genotype order; the auxiliary head; the classifier) and no
re-initialisation happens, so default-init weights equal the reference's under the same seed.

Scoring-specific choices:
- ``forward`` returns logits only, in train and eval mode alike. The auxiliary head is still built
  when a record says ``aux`` (it holds parameters and, being created before the classifier, shifts the
  classifier's initial weights), but it is never called.
- Drop path is off (NDS records' ``drop_prob`` is a training setting; NASWOT scores with 0).
"""

from __future__ import annotations

import torch
from torch import nn

from naswot_ray.spaces.nds.genotypes import Genotype, Pair
from naswot_ray.spaces.parts import NetworkParts, rectifier_modules
from naswot_ray.spaces.nds.ops import FactorizedReduce, ReLUConvBN, make_op

STEM_MULTIPLIER = 3


def reduction_cells(layers: int) -> tuple[int, int]:
    """Positions of the two reduction cells among ``layers`` cells: floor(L/3) and floor(2L/3)."""
    return layers // 3, 2 * layers // 3


class Cell(nn.Module):
    """One cell: preprocess both inputs to width C, build 2n ops, sum op pairs into nodes, concat."""

    def __init__(self, genotype: Genotype, c_prev_prev: int, c_prev: int, c: int,
                 reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(c_prev_prev, c)
        else:
            self.preprocess0 = ReLUConvBN(c_prev_prev, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0)
        pairs: tuple[Pair, ...] = genotype.reduce if reduction else genotype.normal
        self.concat: tuple[int, ...] = genotype.reduce_concat if reduction else genotype.normal_concat
        self.multiplier = len(self.concat)
        self.reduction = reduction
        self.indices: tuple[int, ...] = tuple(source for _op, source in pairs)
        # In a reduction cell only ops reading a cell input (index < 2) change the resolution.
        self.ops = nn.ModuleList(
            make_op(op, c, 2 if reduction and source < 2 else 1) for op, source in pairs
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(len(self.ops) // 2):
            a, b = 2 * node, 2 * node + 1
            states.append(self.ops[a](states[self.indices[a]]) + self.ops[b](states[self.indices[b]]))
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    """DARTS's CIFAR auxiliary classifier (8x8 input); built for parameter fidelity, never run."""

    def __init__(self, c: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class AuxiliaryHeadImageNet(nn.Module):
    """DARTS's ImageNet auxiliary classifier (14x14 input): stride-2 pool and no BN after the 768 conv."""

    def __init__(self, c: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=2, padding=0, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class _CellNetwork(nn.Module):
    """Shared cell stack, heads and forward of the two skeletons; subclasses build the stem(s)."""

    cells: nn.ModuleList

    def _build_cells(self, genotype: Genotype, c: int, layers: int, c_stem: int, reduction_prev: bool,
                     auxiliary: bool, num_classes: int, aux_head: type[nn.Module]) -> None:
        if layers < 1:
            raise ValueError(f"a cell network needs at least 1 cell, got depth {layers}")
        self.layers = layers
        reductions = reduction_cells(layers)
        c_prev_prev, c_prev, c_cur = c_stem, c_stem, c
        c_aux = c_prev
        self.cells = nn.ModuleList()
        for i in range(layers):
            reduction = i in reductions
            if reduction:
                c_cur *= 2
            cell = Cell(genotype, c_prev_prev, c_prev, c_cur, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_cur
            if i == reductions[1]:
                c_aux = c_prev
        self.has_auxiliary = auxiliary
        if auxiliary:
            self.auxiliary_head = aux_head(c_aux, num_classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def _stems(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward_before_global_avg_pool(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the last cell (no BN/ReLU follows it in this skeleton)."""
        s0, s1 = self._stems(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return s1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.global_pooling(self.forward_before_global_avg_pool(x))
        return self.classifier(features.flatten(1))

    def stem_taps(self) -> list[nn.Module]:
        raise NotImplementedError

    def network_parts(self) -> NetworkParts:
        """Taps: the stem(s), then every cell (two-input cells: a segment's VJP is the partial Jacobian
        with the older input held fixed, spec 0.1); pre-GAP: the last cell's output. The auxiliary head
        never runs, so its rectifiers never fire."""
        return NetworkParts(feature_taps=[*self.stem_taps(), *self.cells], pre_gap=self.cells[-1],
                            activation_sites=rectifier_modules(self))


class NetworkCIFAR(_CellNetwork):
    """Stem Conv3x3(3 -> 3C) + BN (no ReLU), then ``layers`` cells, reductions at L//3 and 2L//3."""

    def __init__(self, c: int, num_classes: int, layers: int, auxiliary: bool, genotype: Genotype) -> None:
        super().__init__()
        c_stem = STEM_MULTIPLIER * c
        self.stem = nn.Sequential(nn.Conv2d(3, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem))
        self._build_cells(genotype, c, layers, c_stem, False, auxiliary, num_classes, AuxiliaryHeadCIFAR)

    def _stems(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.stem(x)
        return s, s

    def stem_taps(self) -> list[nn.Module]:
        return [self.stem]


class NetworkImageNet(_CellNetwork):
    """Two stride-4/stride-2 stems (the first cell sees a 'reduced' s0, hence FactorizedReduce), then cells."""

    def __init__(self, c: int, num_classes: int, layers: int, auxiliary: bool, genotype: Genotype) -> None:
        super().__init__()
        if c % 2:
            raise ValueError(f"NetworkImageNet needs an even width, got {c}")
        self.stem0 = nn.Sequential(
            nn.Conv2d(3, c // 2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c // 2),
            nn.ReLU(inplace=False),
            nn.Conv2d(c // 2, c, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c),
        )
        self.stem1 = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c),
        )
        self._build_cells(genotype, c, layers, c, True, auxiliary, num_classes, AuxiliaryHeadImageNet)

    def _stems(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s0 = self.stem0(x)
        return s0, self.stem1(s0)

    def stem_taps(self) -> list[nn.Module]:
        return [self.stem0, self.stem1]


def count_parameters(model: nn.Module, *, include_auxiliary: bool = False) -> int:
    """sum(numel) over parameters; the DARTS convention drops names containing 'auxiliary'."""
    return sum(p.numel() for name, p in model.named_parameters()
               if include_auxiliary or "auxiliary" not in name)


__all__ = [
    "Cell", "NetworkCIFAR", "NetworkImageNet", "_CellNetwork", "AuxiliaryHeadCIFAR", "AuxiliaryHeadImageNet",
    "reduction_cells", "count_parameters",
]
