"""Closed-form parameter and FLOP counts for NB201-style networks (spaces-spec 1.7 and 2.3).

Why closed forms: the benchmarks record ``params`` and ``flop`` per architecture, and counting them
from a plan is instant, so whole spaces can be checked or annotated without building 15,625 networks.
The counts follow the same plan the builder uses (:mod:`naswot_ray.spaces.nb201.net`).

Rules: parameters are ``sum(p.numel())`` (BN gamma/beta and Linear bias included, running statistics
excluded). FLOPs count only Conv2d and Linear: a conv costs k*k*C_in*C_out*H_out*W_out (no conv here has
a bias), a Linear in*out + out; pooling and BN are free. The benchmarks store both divided by 1e6.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from naswot_ray.spaces.nb201.cell import EDGES, parse_cell
from naswot_ray.spaces.nb201.net import CELL, LayerSpec, nb201_layer_plan

_KERNEL = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}


@dataclass(frozen=True)
class Cost:
    """Parameter count and FLOPs (both raw, not divided by 1e6)."""

    params: int
    flops: int


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _cell_cost(ops: Sequence[str], c_in: int, c_out: int, size: int) -> Cost:
    params = flops = 0
    for op, (_, src) in zip(ops, EDGES):
        width_in = c_in if src == 0 else c_out
        if op in _KERNEL:
            k = _KERNEL[op]
            params += k * k * width_in * c_out + 2 * c_out
            flops += k * k * width_in * c_out * size * size
        elif op in ("skip_connect", "avg_pool_3x3") and width_in != c_out:
            # 1x1 conv + BN adapter (skip projection, or the pooling op's ReLUConvBN)
            params += width_in * c_out + 2 * c_out
            flops += width_in * c_out * size * size
    return Cost(params, flops)


def plan_cost(
    plan: Sequence[LayerSpec],
    cell_ops: Sequence[str],
    num_classes: int,
    input_size: int,
    *,
    stem_channels: int | None,
    input_channels: int = 3,
) -> Cost:
    """Parameters and FLOPs of the :class:`~naswot_ray.spaces.nb201.net.CellNetwork` with these arguments."""
    params = flops = 0
    size = input_size
    if stem_channels is not None:
        params += 9 * input_channels * stem_channels + 2 * stem_channels
        flops += 9 * input_channels * stem_channels * size * size
    for kind, c_in, c_out in plan:
        if kind == CELL:
            cell = _cell_cost(cell_ops, c_in, c_out, size)
            params += cell.params
            flops += cell.flops
            continue
        main = _conv_out(size, 3, 2, 1)
        short = _conv_out(size, 2, 2, 0)
        params += (9 * c_in * c_out + 2 * c_out) + (9 * c_out * c_out + 2 * c_out) + c_in * c_out
        flops += 9 * c_in * c_out * main * main + 9 * c_out * c_out * main * main + c_in * c_out * short * short
        size = main
    width = plan[-1][2]
    params += 2 * width + width * num_classes + num_classes
    flops += width * num_classes + num_classes
    return Cost(params, flops)


def nb201_cost(arch: str, num_classes: int, input_size: int = 32, *, C: int = 16, N: int = 5) -> Cost:
    """Parameters and FLOPs of the NB201 network for ``arch`` (with stem, 3 input channels)."""
    return plan_cost(nb201_layer_plan(C, N), parse_cell(arch), num_classes, input_size, stem_channels=C)


def nb201_param_count(arch: str, num_classes: int) -> int:
    """Parameter count of the benchmark network (C=16, N=5); the API's ``params`` is this / 1e6.

    Equals 72,656 + 65*K + 243,040*n3 + 28,000*n1 for n3 3x3 and n1 1x1 conv edges (spaces-spec 1.7).
    """
    return nb201_cost(arch, num_classes).params


def nb201_flops(arch: str, num_classes: int, input_size: int = 32) -> int:
    """FLOPs of the benchmark network (conv and linear only); the API's ``flop`` is this / 1e6.

    ``input_size`` is 32 for CIFAR and 16 for ImageNet16-120.
    """
    return nb201_cost(arch, num_classes, input_size).flops
