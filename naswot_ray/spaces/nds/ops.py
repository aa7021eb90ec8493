"""The cell operations of the NDS cell spaces (DARTS ops as extended by pycls/unnas; spaces-spec 4.4).

Why these exact classes and names: training-free metrics look at the module tree. NASWOT's reference
hooks every module whose class name (``str(type(m))``) contains "ReLU". In the reference pycls code
only the cell *preprocessing* is a ``ReLUConvBN`` container; the conv ops (conv_1x1, conv_3x3,
conv_3x1_1x3, conv_7x1_1x7) are plain ``nn.Sequential`` whose first element is a ReLU. We keep the same
split, so a reference-compatible NASWOT counts exactly what the reference counts (preprocessing twice,
every other rectifier once). No other class here has "ReLU" in its name, every rectifier is an
``nn.ReLU(inplace=False)`` module (never ``F.relu``, which hooks would miss), and every Conv2d is created
in the order spaces-spec 4.3 gives, so default-initialised weights match the reference under one seed.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from naswot_ray.errors import unknown_choice


def _conv(c_in: int, c_out: int, kernel: int | tuple[int, int], stride: int | tuple[int, int] = 1,
          padding: int | tuple[int, int] = 0, dilation: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation,
                     groups=groups, bias=False)


class ReLUConvBN(nn.Module):
    """ReLU -> Conv k x k (no bias) -> BN: the cell preprocessing (``preprocess0``/``preprocess1``).

    The class name deliberately contains "ReLU" (its first op is a ReLU, so a hook on it sees exactly
    the inner ReLU's input), reproducing the reference's double count of preprocessing rectifiers.
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, padding: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            _conv(c_in, c_out, kernel_size, stride, padding),
            nn.BatchNorm2d(c_out, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing a pixel phase: two offset 1x1 stride-2 convs, concatenated.

    pycls variant: the input is zero-padded by one row and column at the bottom/right before the shift,
    so odd spatial sizes work (DARTS slices without padding and breaks on odd sizes; even sizes give the
    same result either way).
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even output width, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = _conv(c_in, c_out // 2, 1, stride=2)
        self.conv_2 = _conv(c_in, c_out // 2, 1, stride=2)
        self.bn = nn.BatchNorm2d(c_out, affine=True)
        self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = self.pad(x)[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class Zero(nn.Module):
    """The ``none`` op: multiply by zero (subsampling first when strided).

    Multiplying rather than allocating keeps the output in the autograd graph, as in the reference, so
    gradient-based metrics and NASWOT's faithful backward pass see the same graph.
    """

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)

    def extra_repr(self) -> str:
        return f"stride={self.stride}"


class SepConv(nn.Module):
    """Separable conv applied twice: [ReLU, depthwise k x k (stride s), 1x1, BN] then the same at stride 1.

    ``dilation=2`` gives pycls's ``dil_sep_conv_3x3`` (dilation in both depthwise convs).
    """

    def __init__(self, c: int, kernel_size: int, stride: int, padding: int, dilation: int = 1) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            _conv(c, c, kernel_size, stride, padding, dilation, groups=c),
            _conv(c, c, 1),
            nn.BatchNorm2d(c, affine=True),
            nn.ReLU(inplace=False),
            _conv(c, c, kernel_size, 1, padding, dilation, groups=c),
            _conv(c, c, 1),
            nn.BatchNorm2d(c, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilConv(nn.Module):
    """Dilated separable conv, once: ReLU, depthwise k x k (dilation 2, stride s), 1x1, BN."""

    def __init__(self, c: int, kernel_size: int, stride: int, padding: int, dilation: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            _conv(c, c, kernel_size, stride, padding, dilation, groups=c),
            _conv(c, c, 1),
            nn.BatchNorm2d(c, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


def _plain_conv(c: int, k: int, stride: int) -> nn.Module:
    """ReLU -> Conv k x k -> BN as a plain Sequential (the reference's conv_1x1/conv_3x3 are not named)."""
    return nn.Sequential(nn.ReLU(inplace=False), _conv(c, c, k, stride, (k - 1) // 2),
                         nn.BatchNorm2d(c, affine=True))


def _factorized_conv(c: int, k: int, stride: int) -> nn.Module:
    """ReLU -> Conv(1 x k, stride (1, s)) -> Conv(k x 1, stride (s, 1)) -> BN (conv_3x1_1x3, conv_7x1_1x7)."""
    pad = (k - 1) // 2
    return nn.Sequential(
        nn.ReLU(inplace=False),
        _conv(c, c, (1, k), (1, stride), (0, pad)),
        _conv(c, c, (k, 1), (stride, 1), (pad, 0)),
        nn.BatchNorm2d(c, affine=True),
    )


def _skip(c: int, stride: int) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(c, c)


OpFactory = Callable[[int, int], nn.Module]

#: every op name any NDS cell space uses -> factory(C, stride)
OPS: dict[str, OpFactory] = {
    "none": lambda c, s: Zero(s),
    "skip_connect": _skip,
    "avg_pool_2x2": lambda c, s: nn.AvgPool2d(2, stride=s, padding=0, count_include_pad=False),
    "avg_pool_3x3": lambda c, s: nn.AvgPool2d(3, stride=s, padding=1, count_include_pad=False),
    "avg_pool_5x5": lambda c, s: nn.AvgPool2d(5, stride=s, padding=2, count_include_pad=False),
    "max_pool_2x2": lambda c, s: nn.MaxPool2d(2, stride=s, padding=0),
    "max_pool_3x3": lambda c, s: nn.MaxPool2d(3, stride=s, padding=1),
    "max_pool_5x5": lambda c, s: nn.MaxPool2d(5, stride=s, padding=2),
    "max_pool_7x7": lambda c, s: nn.MaxPool2d(7, stride=s, padding=3),
    "conv_1x1": lambda c, s: _plain_conv(c, 1, s),
    "conv_3x3": lambda c, s: _plain_conv(c, 3, s),
    "conv_3x1_1x3": lambda c, s: _factorized_conv(c, 3, s),
    "conv_7x1_1x7": lambda c, s: _factorized_conv(c, 7, s),
    "sep_conv_3x3": lambda c, s: SepConv(c, 3, s, 1),
    "sep_conv_5x5": lambda c, s: SepConv(c, 5, s, 2),
    "sep_conv_7x7": lambda c, s: SepConv(c, 7, s, 3),
    "dil_conv_3x3": lambda c, s: DilConv(c, 3, s, 2, 2),
    "dil_conv_5x5": lambda c, s: DilConv(c, 5, s, 4, 2),
    "dil_sep_conv_3x3": lambda c, s: SepConv(c, 3, s, 2, dilation=2),
}


def make_op(name: str, channels: int, stride: int) -> nn.Module:
    """The op ``name`` at width ``channels`` and ``stride``; unknown names raise InputError."""
    factory = OPS.get(name)
    if factory is None:
        raise unknown_choice("NDS cell op", name, OPS)
    return factory(channels, stride)


__all__ = ["OPS", "make_op", "ReLUConvBN", "FactorizedReduce", "Zero", "SepConv", "DilConv"]
