"""The edge operations and the reduction block of NAS-Bench-201 / NATS-Bench networks.

Why these exact classes and names: training-free metrics look at the module tree. NASWOT's reference
hooks every module whose class name contains "ReLU", so the conv op is a container called
``ReLUConvBN`` (matched once as the container and once through its inner ``nn.ReLU``, exactly as with
the benchmark's own code), and nothing else here has "ReLU" in its class name or module path. No op uses
a functional ReLU, which such hooks would miss. Every Conv2d/Linear is created in the benchmark's order
(spaces-spec 1.6), so default-initialised weights match the benchmark's networks under the same seed.
"""

from __future__ import annotations

import torch
from torch import nn

from naswot_ray.errors import unknown_choice

#: NB201 op names in the benchmark's order; the order defines the index enumeration.
NB201_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


#: network variants: ``nb201`` is the benchmark's own network (xautodl TinyNetwork); ``samsung`` is the
#: copy in Samsung's zero-cost-nas (``NAS201Model``), behind every number of Abdelfattah et al. 2021
NB201_MODELS: tuple[str, ...] = ("nb201", "samsung")
#: the order in which Samsung's supernet cell creates an edge's candidate ops (its OPS dict order)
SAMSUNG_OP_ORDER: tuple[str, ...] = ("none", "avg_pool_3x3", "nor_conv_3x3", "nor_conv_1x1", "skip_connect")


class ReLUConvBN(nn.Module):
    """ReLU -> Conv2d -> BatchNorm2d: the NB201 conv op and the halves of the reduction block.

    The benchmark's form has no conv bias and an affine BN with running statistics; Samsung's cells
    use ``affine=False`` (so a conv bias instead, ``bias = not affine``) and no running statistics.
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, padding: int, *,
                 affine: bool = True) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=not affine),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` op: an all-zero output.

    With equal widths it multiplies by 0 rather than allocating zeros, so the result stays in the
    autograd graph (NASWOT's backward pass must still reach the modules that feed a ``none`` edge) and
    NaN/inf inputs propagate as NaN, as in the benchmark. With a width change (NATS-SSS only) it
    returns fresh zeros of the output width, again as the benchmark does.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.c_in = c_in
        self.c_out = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.c_in == self.c_out:
            return x.mul(0.0)
        shape = list(x.shape)
        shape[1] = self.c_out
        return x.new_zeros(shape)

    def extra_repr(self) -> str:
        return f"c_in={self.c_in}, c_out={self.c_out}"


class SkipProjection(nn.Module):
    """``skip_connect`` across a width change (NATS-SSS only): Conv1x1 (no bias) -> BN, without a ReLU.

    This is the benchmark's FactorizedReduce at stride 1, whose ReLU only runs in its stride-2 branch;
    leaving the ReLU out keeps the set of rectifiers a hook sees equal to the set that actually runs.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=True, track_running_stats=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class AvgPool3x3(nn.Module):
    """``avg_pool_3x3``: 3x3 average pooling, stride 1, padding 1, padding excluded from the mean.

    Across a width change (NATS-SSS only) a 1x1 ReLUConvBN adapter runs first, as in the benchmark.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.preprocess = None if c_in == c_out else ReLUConvBN(c_in, c_out, 1, 1, 0)
        self.pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preprocess is not None:
            x = self.preprocess(x)
        return self.pool(x)


def make_edge_op(name: str, c_in: int, c_out: int, model: str = "nb201") -> nn.Module:
    """The stride-1 module for one cell edge; ``name`` must be one of :data:`NB201_OPS`.

    ``model="samsung"``: Samsung's cell is a masked supernet that creates every candidate op of an edge
    (in :data:`SAMSUNG_OP_ORDER`, convs with ``affine=False``) and runs only the chosen one. The unused
    convs are created here too and dropped, so the chosen op's initial weights come from the same point
    of the seeded stream as in their network, while the network holds (and metrics see) only the ops
    that run.
    """
    if model == "samsung":
        if name not in NB201_OPS:
            raise unknown_choice("NB201 op", name, NB201_OPS)
        if c_in != c_out:
            raise ValueError(f"the samsung NB201 model has equal cell widths, got {c_in} -> {c_out}")
        return {op: _edge_op(op, c_in, c_out, affine=False) for op in SAMSUNG_OP_ORDER}[name]
    if model != "nb201":
        raise unknown_choice("NB201 model", model, NB201_MODELS)
    return _edge_op(name, c_in, c_out, affine=True)


def _edge_op(name: str, c_in: int, c_out: int, *, affine: bool) -> nn.Module:
    if name == "none":
        return Zero(c_in, c_out)
    if name == "skip_connect":
        return nn.Identity() if c_in == c_out else SkipProjection(c_in, c_out)
    if name == "nor_conv_1x1":
        return ReLUConvBN(c_in, c_out, 1, 1, 0, affine=affine)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c_in, c_out, 3, 1, 1, affine=affine)
    if name == "avg_pool_3x3":
        return AvgPool3x3(c_in, c_out)
    raise unknown_choice("NB201 op", name, NB201_OPS)


class ResNetBasicblock(nn.Module):
    """The fixed stride-2 reduction block between stages.

    Main path: ReLUConvBN 3x3 stride 2, then ReLUConvBN 3x3 stride 1. Shortcut: 2x2 average pooling
    then a 1x1 conv, with no BN and no ReLU. Output = shortcut + main path, with no ReLU after the sum.
    Created in the benchmark's order (conv_a, conv_b, shortcut conv) so init draws line up.
    """

    def __init__(self, c_in: int, c_out: int, model: str = "nb201") -> None:
        super().__init__()
        shortcut_first = model == "samsung"  # Samsung's reduction creates its shortcut conv first
        if shortcut_first:
            downsample = self._shortcut(c_in, c_out)
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = downsample if shortcut_first else self._shortcut(c_in, c_out)

    @staticmethod
    def _shortcut(c_in: int, c_out: int) -> nn.Sequential:
        return nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))
