"""``mobilenet_like``: a MobileNetV2-style space of 4,096 networks for 32 x 32 images.

A network is a 3x3 stem, three stages of inverted-residual blocks (1x1 expand, depthwise k x k, 1x1
project, a residual connection where shapes allow; ReLU6 rectifiers), a 1x1 head convolution, global
average pooling and a linear classifier. Each stage chooses

- depth: 1 or 2 blocks          - width: stage 1 {16, 24}, stage 2 {24, 32}, stage 3 {32, 48} channels
- kernel: 3 or 5 (depthwise)    - expansion: 3 or 6 (hidden width = input width x expansion)

so 16 choices per stage and 16**3 = 4,096 architectures. An architecture is written
``d1-w16-k3-e3|d2-w32-k5-e6|d1-w48-k3-e3``; its index is the mixed-radix number of its choices (stage 1
most significant; within a stage depth, width, kernel, expansion), so index order is fixed and every
index means the same network on every machine. Options: ``stem_channels`` and ``head_channels``.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from naswot_ray import InputError, NetworkParts, Option, SearchSpace

DEPTHS = (1, 2)
WIDTHS = ((16, 24), (24, 32), (32, 48))
KERNELS = (3, 5)
EXPANSIONS = (3, 6)
STRIDES = (1, 2, 2)
#: (name, choices per stage) of the decisions of one stage, most significant first
DECISIONS = (("d", lambda stage: DEPTHS), ("w", lambda stage: WIDTHS[stage]), ("k", lambda stage: KERNELS),
             ("e", lambda stage: EXPANSIONS))
PER_STAGE = len(DEPTHS) * 2 * len(KERNELS) * len(EXPANSIONS)


def _positive(value: object) -> str | None:
    return None if isinstance(value, int) and value > 0 else "must be a positive integer"


class MobileNetLikeSpace(SearchSpace):
    name = "mobilenet_like"
    size = PER_STAGE ** len(STRIDES)
    input_size = 32
    description = ("Example plugin: MobileNetV2-like, 3 stages x (depth 1-2, width, kernel 3/5, expansion 3/6); "
                   "arch 'd1-w16-k3-e3|d2-w32-k5-e6|d1-w48-k3-e3'.")
    options = (Option("stem_channels", int, 16, "channels of the 3x3 stem convolution", check=_positive),
               Option("head_channels", int, 128, "channels of the 1x1 head convolution before pooling", check=_positive))

    def __init__(self, stem_channels: int = 16, head_channels: int = 128) -> None:
        self.stem_channels, self.head_channels = stem_channels, head_channels

    def _configured(self, **options: object) -> "MobileNetLikeSpace":
        return MobileNetLikeSpace(**{**self.option_values(), **options})  # type: ignore[arg-type]

    # -- index <-> architecture --------------------------------------------------------------
    def choices(self, index: int) -> list[tuple[int, ...]]:
        """Per stage, the position of each decision's choice (depth, width, kernel, expansion)."""
        self.check_index(index)
        stages = []
        for stage in reversed(range(len(STRIDES))):
            code, digits = index % PER_STAGE, []
            index //= PER_STAGE
            for _, options in reversed(DECISIONS):
                digits.append(code % len(options(stage)))
                code //= len(options(stage))
            stages.append(tuple(reversed(digits)))
        return list(reversed(stages))

    def arch(self, index: int) -> str:
        return "|".join("-".join(f"{key}{options(stage)[pick]}" for (key, options), pick in zip(DECISIONS, picks))
                        for stage, picks in enumerate(self.choices(index)))

    def index(self, arch: str) -> int:
        stages = str(arch).split("|")
        if len(stages) != len(STRIDES):
            raise InputError(f"malformed mobilenet_like architecture {arch!r}: expected 3 stages like "
                             "'d1-w16-k3-e3|d2-w32-k5-e6|d1-w48-k3-e3'")
        index = 0
        for stage, text in enumerate(stages):
            parts = text.split("-")
            code = 0
            if len(parts) != len(DECISIONS):
                raise InputError(f"malformed stage {text!r} in {arch!r}: expected d<depth>-w<width>-k<kernel>-e<expansion>")
            for (key, options), part in zip(DECISIONS, parts):
                allowed = options(stage)
                if not part.startswith(key) or not part[1:].isdigit() or int(part[1:]) not in allowed:
                    raise InputError(f"bad choice {part!r} in stage {stage + 1} of {arch!r}; valid: "
                                     + ", ".join(f"{key}{v}" for v in allowed))
                code = code * len(allowed) + allowed.index(int(part[1:]))
            index = index * PER_STAGE + code
        return index

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        picks = [list(p) for p in self.choices(self.index(arch))]
        stage, decision = int(rng.integers(len(STRIDES))), int(rng.integers(len(DECISIONS)))
        count = len(DECISIONS[decision][1](stage))
        picks[stage][decision] = (picks[stage][decision] + int(rng.integers(1, count))) % count
        index = 0
        for stage, stage_picks in enumerate(picks):
            code = 0
            for (_, options), pick in zip(DECISIONS, stage_picks):
                code = code * len(options(stage)) + pick
            index = index * PER_STAGE + code
        return self.arch(index)

    # -- networks ----------------------------------------------------------------------------
    def build(self, arch: str, num_classes: int) -> nn.Module:
        picks = self.choices(self.index(arch))
        stages = [[options(stage)[p] for (_, options), p in zip(DECISIONS, stage_picks)]
                  for stage, stage_picks in enumerate(picks)]
        return MobileNetLike(stages, num_classes, self.stem_channels, self.head_channels)

    def network_parts(self, model: nn.Module) -> NetworkParts:
        """Feature taps: the stem, then every block; pre-pooling features: the head's rectifier output."""
        rectifiers = [m for m in model.modules() if isinstance(m, nn.ReLU6)]
        return NetworkParts(feature_taps=[model.stem, *model.blocks], pre_gap=model.head[-1],
                            activation_sites=rectifiers, source="space")


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, expansion: int, stride: int) -> None:
        super().__init__()
        hidden = c_in * expansion
        self.expand = nn.Sequential(nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True))
        self.depthwise = nn.Sequential(nn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden, bias=False),
                                       nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True))
        self.project = nn.Sequential(nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


class MobileNetLike(nn.Module):
    def __init__(self, stages: list[list[int]], num_classes: int, stem: int, head: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, stem, 3, 1, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU6(inplace=True))
        blocks, width = [], stem
        for (depth, out, kernel, expansion), stride in zip(stages, STRIDES):
            for i in range(depth):
                blocks.append(InvertedResidual(width, out, kernel, expansion, stride if i == 0 else 1))
                width = out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Conv2d(width, head, 1, bias=False), nn.BatchNorm2d(head), nn.ReLU6(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(head, num_classes)

    def forward(self, x):
        return self.classifier(self.pool(self.head(self.blocks(self.stem(x)))).flatten(1))
