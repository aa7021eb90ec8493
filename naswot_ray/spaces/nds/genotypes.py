"""DARTS-style cell genotypes: the NDS record form, validation, and the published cells (spaces-spec 4.2, 4.11).

A genotype is (normal, normal_concat, reduce, reduce_concat). ``normal``/``reduce`` hold 2n
(op, input) pairs; pairs 2k and 2k+1 feed intermediate node k+2. Input 0 is the (preprocessed) output
of the cell two back, 1 the previous cell's, j >= 2 intermediate node j-2. The cell output concatenates
the states named in the concat list, so the cell's width multiplier is the length of that list.

Why a separate module: the same genotype object is read from NDS JSON records, drawn by the sampler,
mutated, and built; keeping its validation in one place means every path rejects the same bad input
with the same one-line message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from naswot_ray.errors import InputError
from naswot_ray.spaces.nds.ops import OPS

Pair = tuple[str, int]


@dataclass(frozen=True)
class Genotype:
    normal: tuple[Pair, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Pair, ...]
    reduce_concat: tuple[int, ...]

    def to_dict(self) -> dict[str, list]:
        """The NDS record form (pairs as 2-element lists), ready for ``json.dumps(sort_keys=True)``."""
        return {
            "normal": [[op, int(i)] for op, i in self.normal],
            "normal_concat": [int(i) for i in self.normal_concat],
            "reduce": [[op, int(i)] for op, i in self.reduce],
            "reduce_concat": [int(i) for i in self.reduce_concat],
        }


def _pairs(raw: object, what: str) -> tuple[Pair, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) == 0 or len(raw) % 2:
        raise InputError(f"genotype {what!r} must be a non-empty list of 2n [op, input] pairs, got {raw!r}")
    pairs: list[Pair] = []
    for position, pair in enumerate(raw):
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise InputError(f"genotype {what!r} pair {position} must be [op, input], got {pair!r}")
        op, source = pair
        if op not in OPS:
            raise InputError(f"genotype {what!r} pair {position}: unknown op {op!r}; valid: {', '.join(sorted(OPS))}")
        if isinstance(source, bool) or not isinstance(source, int):
            raise InputError(f"genotype {what!r} pair {position}: input must be an int, got {source!r}")
        node = position // 2 + 2
        if not 0 <= source < node:
            raise InputError(f"genotype {what!r} pair {position} feeds node {node}; its input {source} is not in 0..{node - 1}")
        pairs.append((op, source))
    return tuple(pairs)


def _concat(raw: object, what: str, num_states: int) -> tuple[int, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) == 0:
        raise InputError(f"genotype {what!r} must be a non-empty list of state indices, got {raw!r}")
    out = []
    for value in raw:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < num_states:
            raise InputError(f"genotype {what!r}: {value!r} is not a state index in 0..{num_states - 1}")
        out.append(value)
    return tuple(out)


def genotype_from_dict(raw: object) -> Genotype:
    """Validate an NDS ``net["genotype"]`` dict; malformed input raises a one-line InputError."""
    if not isinstance(raw, Mapping):
        raise InputError(f"genotype must be a dict with normal/normal_concat/reduce/reduce_concat, got {type(raw).__name__}")
    missing = [k for k in ("normal", "normal_concat", "reduce", "reduce_concat") if k not in raw]
    if missing:
        raise InputError(f"genotype is missing {missing[0]!r}")
    normal = _pairs(raw["normal"], "normal")
    reduce = _pairs(raw["reduce"], "reduce")
    return Genotype(
        normal=normal,
        normal_concat=_concat(raw["normal_concat"], "normal_concat", len(normal) // 2 + 2),
        reduce=reduce,
        reduce_concat=_concat(raw["reduce_concat"], "reduce_concat", len(reduce) // 2 + 2),
    )


def loose_ends(pairs: Sequence[Pair]) -> tuple[int, ...]:
    """Intermediate nodes that no pair in the cell reads: the NASNet/Amoeba/ENAS concat rule."""
    used = {source for _op, source in pairs}
    return tuple(node for node in range(2, len(pairs) // 2 + 2) if node not in used)


def _g(normal: str, normal_concat: Sequence[int], reduce: str, reduce_concat: Sequence[int]) -> Genotype:
    """Compact table form: 'op<-i op<-i | ...' per node, as in spaces-spec 4.11."""

    def parse(text: str) -> tuple[Pair, ...]:
        pairs = []
        for token in text.split():
            op, source = token.split("<-")
            pairs.append((_ABBREV.get(op, op), int(source)))
        return tuple(pairs)

    return Genotype(parse(normal), tuple(normal_concat), parse(reduce), tuple(reduce_concat))


_ABBREV = {
    "sep3": "sep_conv_3x3", "sep5": "sep_conv_5x5", "sep7": "sep_conv_7x7", "dil3": "dil_conv_3x3",
    "avg3": "avg_pool_3x3", "max3": "max_pool_3x3", "skip": "skip_connect", "c71": "conv_7x1_1x7",
}

#: The published cells of spaces-spec 4.11 (DARTS genotype format), for regression checks and baselines.
PUBLISHED_GENOTYPES: dict[str, Genotype] = {
    "NASNet": _g(
        "sep5<-1 sep3<-0 sep5<-0 sep3<-0 avg3<-1 skip<-0 avg3<-0 avg3<-0 sep3<-1 skip<-1", (2, 3, 4, 5, 6),
        "sep5<-1 sep7<-0 max3<-1 sep7<-0 avg3<-1 sep5<-0 skip<-3 avg3<-2 sep3<-2 max3<-1", (4, 5, 6),
    ),
    "AmoebaNet": _g(
        "avg3<-0 max3<-1 sep3<-0 sep5<-2 sep3<-0 avg3<-3 sep3<-1 skip<-1 skip<-0 avg3<-1", (4, 5, 6),
        "avg3<-0 sep3<-1 max3<-0 sep7<-2 sep7<-0 avg3<-1 max3<-0 max3<-1 c71<-0 sep3<-5", (3, 4, 6),
    ),
    "PNASNet": _g(
        "sep5<-0 max3<-0 sep7<-1 max3<-1 sep5<-1 sep3<-1 sep3<-4 max3<-1 sep3<-0 skip<-1", (2, 3, 4, 5, 6),
        "sep5<-0 max3<-0 sep7<-1 max3<-1 sep5<-1 sep3<-1 sep3<-4 max3<-1 sep3<-0 skip<-1", (2, 3, 4, 5, 6),
    ),
    "ENAS": _g(
        "sep3<-1 skip<-1 sep5<-1 skip<-0 avg3<-0 sep3<-1 sep3<-0 avg3<-0 sep5<-1 avg3<-0", (2, 3, 4, 5, 6),
        "sep5<-0 avg3<-1 sep3<-1 avg3<-1 avg3<-1 sep3<-1 sep5<-4 avg3<-1 sep3<-5 sep5<-0", (2, 3, 6),
    ),
    "DARTS_V1": _g(
        "sep3<-1 sep3<-0 skip<-0 sep3<-1 skip<-0 sep3<-1 sep3<-0 skip<-2", (2, 3, 4, 5),
        "max3<-0 max3<-1 skip<-2 max3<-0 max3<-0 skip<-2 skip<-2 avg3<-0", (2, 3, 4, 5),
    ),
    "DARTS_V2": _g(
        "sep3<-0 sep3<-1 sep3<-0 sep3<-1 sep3<-1 skip<-0 skip<-0 dil3<-2", (2, 3, 4, 5),
        "max3<-0 max3<-1 skip<-2 max3<-1 max3<-0 skip<-2 skip<-2 max3<-1", (2, 3, 4, 5),
    ),
}

__all__ = ["Genotype", "Pair", "genotype_from_dict", "loose_ends", "PUBLISHED_GENOTYPES"]
