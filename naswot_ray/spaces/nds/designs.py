"""The NDS design spaces as sets we can sample from, test membership of, and mutate within.

A design is what an NDS sweep draws its networks from: for cell spaces the op list, the number of
intermediate nodes, the concat rule and the width/depth choices (spaces-spec 4.2, 4.6); for AnyNet
spaces the block type and the per-stage depth/width/bottleneck/group choices (spaces-spec 4.8, 4.10).
Architectures are NDS ``net`` dicts, so sampled networks and networks read from official files go
through one builder.

Which values are verified and which are not:
- Cell op lists, node counts and concat rules: pycls/unnas's lists (spaces-spec 4.2). Whether DARTS
  records contain ``none`` and whether a node's two inputs may coincide are [UNVERIFIED]; we keep
  ``none`` (pycls's list) and draw the two inputs independently (the Amoeba record repeats inputs).
- The sampling distribution (uniform op and input per pair, normal and reduce cells independent) is
  [UNVERIFIED]; it only matters for sampled spaces, never for records read from a file.
- CIFAR width {16, 24, 32} and depth {4, 8, 12, 16, 20}: NNI's NDS defaults [UNVERIFIED against the
  paper]. ``_fix-w-d``: width 32, depth 20 [UNVERIFIED; the notebook's 0-3 M params / 0-0.5 GFLOPs axes
  fit this and not width 16].
- ImageNet cell ranges (our choice, [UNVERIFIED]): width {32, 40, 48}, depth {8, 11, 14}, centred on
  DARTS's own ImageNet setting (C=48, L=14, 4.7 M params).
- AnyNet ranges (spaces-spec 4.10, from memory of the paper's Table 1, all [UNVERIFIED]): widths are
  multiples of 8; Vanilla/ResNet d in 1..24, w in 16..256; ResNeXt-A d in 1..16, w in 16..256,
  bottleneck ratio 1/bot_mul in {1, 2, 4}, groups in {1, 2, 4}; ResNeXt-B the same with w in
  64..1024 and groups in {1, 2, 4, 8, 16}; ResNet-B (our reading: ResNeXt-A's ranges with 1 group).
  Bottleneck stages are redrawn until the group count divides the bottleneck width. Entry 0 is the
  stem, fixed at depth 1, width 16, stride 1 (as in every documented CIFAR record); stage strides are
  1, 2, 2. ImageNet AnyNet (our choice): same stage ranges, stem width 32 with stride 2 (built as the
  ResNet ImageNet stem).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from naswot_ray.errors import InputError
from naswot_ray.spaces.nds.anynet import anynet_layout
from naswot_ray.spaces.nds.genotypes import Genotype, genotype_from_dict, loose_ends


def _pick(rng: np.random.Generator, choices: tuple | list):
    return choices[int(rng.integers(len(choices)))]


def _check_choice(value: object, choices: tuple, what: str) -> None:
    if value not in choices:
        raise InputError(f"{what} {value!r} is outside the design space; valid: {', '.join(map(str, choices))}")


# -- cell spaces --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CellDesign:
    """A DARTS-style cell design space (one family at one width/depth range)."""

    family: str
    ops: tuple[str, ...]
    nodes: int
    loose_end_concat: bool  # NASNet/Amoeba/ENAS concat the unused nodes; PNAS/DARTS concat all nodes
    widths: tuple[int, ...]
    depths: tuple[int, ...]

    def concat_for(self, pairs: tuple[tuple[str, int], ...]) -> tuple[int, ...]:
        return loose_ends(pairs) if self.loose_end_concat else tuple(range(2, self.nodes + 2))

    def _sample_cell(self, rng: np.random.Generator) -> tuple[tuple[str, int], ...]:
        pairs = []
        for node in range(2, self.nodes + 2):
            for _ in range(2):
                op = _pick(rng, self.ops)
                pairs.append((op, int(rng.integers(node))))
        return tuple(pairs)

    def sample(self, rng: np.random.Generator) -> dict:
        """A uniformly drawn ``net``: width, depth, then the normal cell's pairs, then the reduce cell's."""
        width = int(_pick(rng, self.widths))
        depth = int(_pick(rng, self.depths))
        normal = self._sample_cell(rng)
        reduce = self._sample_cell(rng)
        genotype = Genotype(normal, self.concat_for(normal), reduce, self.concat_for(reduce))
        return _cell_net(genotype, width, depth)

    def check(self, net: Mapping) -> None:
        """Raise InputError unless ``net`` is a member of this design space."""
        genotype = _genotype_of(net)
        _check_choice(net.get("width"), self.widths, f"{self.family} width")
        _check_choice(net.get("depth"), self.depths, f"{self.family} depth")
        for kind, pairs, concat in (("normal", genotype.normal, genotype.normal_concat),
                                    ("reduce", genotype.reduce, genotype.reduce_concat)):
            if len(pairs) != 2 * self.nodes:
                raise InputError(f"{self.family} cells have {self.nodes} nodes ({2 * self.nodes} pairs); "
                                 f"the {kind} cell has {len(pairs)} pairs")
            for op, _source in pairs:
                _check_choice(op, self.ops, f"{self.family} {kind} op")
            if tuple(concat) != self.concat_for(pairs):
                raise InputError(f"{self.family} {kind}_concat must be {list(self.concat_for(pairs))}, got {list(concat)}")

    def mutate(self, net: Mapping, rng: np.random.Generator) -> dict:
        """Change the op or the input of one pair of one cell (normal or reduce), uniformly.

        The new value differs from the old one; loose-end concat lists are recomputed, everything else
        (width, depth, aux, drop_prob and any other record key) is kept.
        """
        genotype = _genotype_of(net)
        kind = "normal" if rng.integers(2) == 0 else "reduce"
        pairs = list(getattr(genotype, kind))
        position = int(rng.integers(len(pairs)))
        op, source = pairs[position]
        if rng.integers(2) == 0:
            pairs[position] = (_pick(rng, [o for o in self.ops if o != op]), source)
        else:
            node = position // 2 + 2
            pairs[position] = (op, int(_pick(rng, [i for i in range(node) if i != source])))
        new_pairs = tuple(pairs)
        concat = self.concat_for(new_pairs) if self.loose_end_concat else getattr(genotype, f"{kind}_concat")
        fields = {"normal": genotype.normal, "normal_concat": genotype.normal_concat,
                  "reduce": genotype.reduce, "reduce_concat": genotype.reduce_concat}
        fields[kind] = new_pairs
        fields[f"{kind}_concat"] = concat
        out = dict(net)
        out["genotype"] = Genotype(**fields).to_dict()
        return out


def _genotype_of(net: Mapping) -> Genotype:
    if not isinstance(net, Mapping) or "genotype" not in net:
        raise InputError("an NDS cell-space arch must be a JSON dict with 'genotype', 'width' and 'depth'")
    return genotype_from_dict(net["genotype"])


def _cell_net(genotype: Genotype, width: int, depth: int) -> dict:
    return {"aux": False, "depth": depth, "drop_prob": 0.0, "genotype": genotype.to_dict(), "width": width}


_NASNET_OPS = ("skip_connect", "conv_3x1_1x3", "conv_7x1_1x7", "dil_conv_3x3", "avg_pool_3x3", "max_pool_3x3",
               "max_pool_5x5", "max_pool_7x7", "conv_1x1", "conv_3x3", "sep_conv_3x3", "sep_conv_5x5",
               "sep_conv_7x7")
_AMOEBA_OPS = ("skip_connect", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "avg_pool_3x3", "max_pool_3x3",
               "dil_sep_conv_3x3", "conv_7x1_1x7")
_PNAS_OPS = ("sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "conv_7x1_1x7", "skip_connect", "avg_pool_3x3",
             "max_pool_3x3", "dil_conv_3x3")
_ENAS_OPS = ("skip_connect", "sep_conv_3x3", "sep_conv_5x5", "avg_pool_3x3", "max_pool_3x3")
_DARTS_OPS = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
              "dil_conv_3x3", "dil_conv_5x5")

#: family -> (ops, intermediate nodes, loose-end concat)
CELL_FAMILIES: dict[str, tuple[tuple[str, ...], int, bool]] = {
    "NASNet": (_NASNET_OPS, 5, True),
    "Amoeba": (_AMOEBA_OPS, 5, True),
    "PNAS": (_PNAS_OPS, 5, False),
    "ENAS": (_ENAS_OPS, 5, True),
    "DARTS": (_DARTS_OPS, 4, False),
}
CIFAR_WIDTHS = (16, 24, 32)
CIFAR_DEPTHS = (4, 8, 12, 16, 20)
FIX_WD_WIDTH, FIX_WD_DEPTH = 32, 20
IMAGENET_WIDTHS = (32, 40, 48)
IMAGENET_DEPTHS = (8, 11, 14)


def cell_design(family: str, variant: str) -> CellDesign:
    """``variant`` is "cifar", "fix-w-d" or "in"."""
    ops, nodes, loose = CELL_FAMILIES[family]
    widths, depths = {
        "cifar": (CIFAR_WIDTHS, CIFAR_DEPTHS),
        "fix-w-d": ((FIX_WD_WIDTH,), (FIX_WD_DEPTH,)),
        "in": (IMAGENET_WIDTHS, IMAGENET_DEPTHS),
    }[variant]
    return CellDesign(family, ops, nodes, loose, widths, depths)


# -- AnyNet spaces ------------------------------------------------------------------------------------

def _multiples_of_8(lo: int, hi: int) -> tuple[int, ...]:
    return tuple(range(lo, hi + 1, 8))


@dataclass(frozen=True)
class AnyNetDesign:
    """An AnyNet design space: three independently drawn stages behind a fixed stem entry."""

    family: str
    block_type: str
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    bot_muls: tuple[float, ...] = ()
    groups: tuple[int, ...] = ()
    stem: tuple[int, int, int] = (1, 16, 1)  # entry 0: depth, width, stride
    strides: tuple[int, ...] = (1, 2, 2)

    @property
    def bottleneck(self) -> bool:
        return self.block_type == "res_bottleneck_block"

    def _valid_stage(self, width: int, bot_mul: float, groups: int) -> bool:
        w_b = int(round(width * bot_mul))
        return w_b >= 1 and w_b % groups == 0

    def _sample_stage(self, rng: np.random.Generator) -> tuple[int, int, float, int]:
        depth = int(_pick(rng, self.depths))
        while True:
            width = int(_pick(rng, self.widths))
            if not self.bottleneck:
                return depth, width, 0.0, 1
            bot_mul, groups = float(_pick(rng, self.bot_muls)), int(_pick(rng, self.groups))
            if self._valid_stage(width, bot_mul, groups):
                return depth, width, bot_mul, groups

    def sample(self, rng: np.random.Generator) -> dict:
        stages = [self._sample_stage(rng) for _ in self.strides]
        return self._net(stages)

    def _net(self, stages: list[tuple[int, int, float, int]]) -> dict:
        d0, w0, s0 = self.stem
        net = {
            "block_type": self.block_type,
            "ds": [d0] + [s[0] for s in stages],
            "ws": [w0] + [s[1] for s in stages],
            "ss": [s0] + list(self.strides),
            "bot_muls": [],
            "num_gs": [],
        }
        if self.bottleneck:
            net["bot_muls"] = [0.0] + [s[2] for s in stages]
            net["num_gs"] = [1] + [s[3] for s in stages]
        return net

    def _stages_of(self, net: Mapping) -> list[tuple[int, int, float, int]]:
        anynet_layout(net)  # structural validation with the builder's own messages
        if net.get("block_type") != self.block_type:
            raise InputError(f"{self.family} uses {self.block_type}, got block_type {net.get('block_type')!r}")
        n = len(net["ds"])
        bms = net.get("bot_muls") or [0.0] * n
        gs = net.get("num_gs") or [1] * n
        return [(net["ds"][i], net["ws"][i], float(bms[i]), int(gs[i])) for i in range(1, n)]

    def check(self, net: Mapping) -> None:
        """Raise InputError unless ``net`` is a member of this design space."""
        stages = self._stages_of(net)
        if len(stages) != len(self.strides):
            raise InputError(f"{self.family} nets have {len(self.strides) + 1} entries (stem + stages), got {len(stages) + 1}")
        d0, w0, s0 = self.stem
        if (net["ds"][0], net["ws"][0], net["ss"][0]) != (d0, w0, s0):
            raise InputError(f"{self.family} entry 0 (the stem) must be d={d0}, w={w0}, s={s0}")
        if list(net["ss"][1:]) != list(self.strides):
            raise InputError(f"{self.family} stage strides must be {list(self.strides)}, got {net['ss'][1:]}")
        for i, (depth, width, bot_mul, groups) in enumerate(stages, start=1):
            _check_choice(depth, self.depths, f"{self.family} stage {i} depth")
            _check_choice(width, self.widths, f"{self.family} stage {i} width")
            if self.bottleneck:
                _check_choice(bot_mul, self.bot_muls, f"{self.family} stage {i} bot_mul")
                _check_choice(groups, self.groups, f"{self.family} stage {i} groups")
                if not self._valid_stage(width, bot_mul, groups):
                    raise InputError(f"{self.family} stage {i}: {groups} groups do not divide bottleneck width "
                                     f"{int(round(width * bot_mul))}")

    def mutate(self, net: Mapping, rng: np.random.Generator) -> dict:
        """Change one stage's depth or width to another value of its range (keeping groups valid)."""
        stages = self._stages_of(net)
        i = int(rng.integers(len(stages)))
        depth, width, bot_mul, groups = stages[i]
        widths = [w for w in self.widths if w != width
                  and (not self.bottleneck or self._valid_stage(w, bot_mul, groups))]
        if rng.integers(2) == 0 or not widths:
            stages[i] = (int(_pick(rng, [d for d in self.depths if d != depth])), width, bot_mul, groups)
        else:
            stages[i] = (depth, int(_pick(rng, widths)), bot_mul, groups)
        out = dict(net)
        out["ds"] = [net["ds"][0]] + [s[0] for s in stages]
        out["ws"] = [net["ws"][0]] + [s[1] for s in stages]
        return out


_BOT_MULS = (1.0, 0.5, 0.25)
ANYNET_FAMILIES: dict[str, AnyNetDesign] = {
    "Vanilla": AnyNetDesign("Vanilla", "double_plain_block", tuple(range(1, 25)), _multiples_of_8(16, 256)),
    "ResNet": AnyNetDesign("ResNet", "res_basic_block", tuple(range(1, 25)), _multiples_of_8(16, 256)),
    "ResNet-B": AnyNetDesign("ResNet-B", "res_bottleneck_block", tuple(range(1, 17)), _multiples_of_8(16, 256),
                             _BOT_MULS, (1,)),
    "ResNeXt-A": AnyNetDesign("ResNeXt-A", "res_bottleneck_block", tuple(range(1, 17)), _multiples_of_8(16, 256),
                              _BOT_MULS, (1, 2, 4)),
    "ResNeXt-B": AnyNetDesign("ResNeXt-B", "res_bottleneck_block", tuple(range(1, 17)), _multiples_of_8(64, 1024),
                              _BOT_MULS, (1, 2, 4, 8, 16)),
}
IMAGENET_ANYNET_STEM = (1, 32, 2)


def anynet_design(family: str, imagenet: bool) -> AnyNetDesign:
    design = ANYNET_FAMILIES[family]
    if imagenet:
        design = AnyNetDesign(design.family, design.block_type, design.depths, design.widths, design.bot_muls,
                              design.groups, stem=IMAGENET_ANYNET_STEM, strides=design.strides)
    return design


__all__ = [
    "CellDesign", "AnyNetDesign", "cell_design", "anynet_design", "CELL_FAMILIES", "ANYNET_FAMILIES",
    "CIFAR_WIDTHS", "CIFAR_DEPTHS", "FIX_WD_WIDTH", "FIX_WD_DEPTH", "IMAGENET_WIDTHS", "IMAGENET_DEPTHS",
]
