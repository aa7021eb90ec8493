"""The ``samsung`` NB201 model option: Samsung zero-cost-nas's network layout and weight-init order."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space
from naswot_ray.spaces.nb201.cell import parse_cell
from naswot_ray.spaces.nb201.net import InferCell, build_nb201_network
from naswot_ray.spaces.nb201.ops import ResNetBasicblock

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"


def samsung_order_tensors(arch: str, C: int, N: int, classes: int) -> list[torch.Tensor]:
    """Weights drawn in the creation order of Samsung's NAS201Model, with bare torch modules.

    Their cell is a supernet: per edge, the candidates none, avg_pool, conv3x3 (bias), conv1x1 (bias),
    skip are all created and only the chosen one runs. Their reduction creates the shortcut conv
    before conv_a and conv_b. Listed in our network's module order (shortcut last).
    """
    ops = parse_cell(arch)
    torch.manual_seed(0)
    tensors = [nn.Conv2d(3, C, 3, padding=1, bias=False).weight]

    def cells(width: int) -> None:
        for _ in range(N):
            for op in ops:
                conv3 = nn.Conv2d(width, width, 3, padding=1, bias=True)
                conv1 = nn.Conv2d(width, width, 1, bias=True)
                chosen = {"nor_conv_3x3": conv3, "nor_conv_1x1": conv1}.get(op)
                if chosen is not None:
                    tensors.extend([chosen.weight, chosen.bias])

    def reduction(c_in: int, c_out: int) -> None:
        shortcut = nn.Conv2d(c_in, c_out, 1, bias=False)
        conv_a = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False)
        conv_b = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        tensors.extend([conv_a.weight, conv_b.weight, shortcut.weight])

    cells(C)
    reduction(C, 2 * C)
    cells(2 * C)
    reduction(2 * C, 4 * C)
    cells(4 * C)
    head = nn.Linear(4 * C, classes)
    return tensors + [head.weight, head.bias]


def our_tensors(model: nn.Module) -> list[torch.Tensor]:
    out = []
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            out.append(module.weight)
            if module.bias is not None:
                out.append(module.bias)
    return out


def test_weights_follow_samsung_creation_order() -> None:
    expected = samsung_order_tensors(ARCH, C=8, N=2, classes=10)
    torch.manual_seed(0)
    model = build_nb201_network(ARCH, 10, C=8, N=2, model="samsung")
    ours = our_tensors(model)
    assert [t.shape for t in ours] == [t.shape for t in expected]
    assert all(torch.equal(a, b) for a, b in zip(ours, expected))
    # the benchmark's network draws differently (no candidate convs, shortcut last): a real difference
    torch.manual_seed(0)
    default = our_tensors(build_nb201_network(ARCH, 10, C=8, N=2))
    # [stem, edge-0 conv3x3 weight, edge-1 conv1x1 weight, ...] vs [stem, conv3x3 weight, its bias, conv1x1 weight]
    assert default[2].shape == ours[3].shape and not torch.equal(default[2], ours[3])


def test_cell_convs_have_bias_and_affine_free_bn_reductions_keep_the_benchmark_form() -> None:
    model = build_nb201_network(ARCH, 10, C=8, N=1, model="samsung")
    cell_bns = [m for c in model.modules() if isinstance(c, InferCell) for m in c.modules()
                if isinstance(m, nn.BatchNorm2d)]
    cell_convs = [m for c in model.modules() if isinstance(c, InferCell) for m in c.modules() if isinstance(m, nn.Conv2d)]
    assert cell_bns and all(not bn.affine and not bn.track_running_stats for bn in cell_bns)
    assert cell_convs and all(conv.bias is not None for conv in cell_convs)
    reductions = [m for m in model.modules() if isinstance(m, ResNetBasicblock)]
    assert len(reductions) == 2
    for block in reductions:
        assert all(bn.affine for bn in block.modules() if isinstance(bn, nn.BatchNorm2d))
        assert all(conv.bias is None for conv in block.modules() if isinstance(conv, nn.Conv2d))
    # only the ops that run are in the network: 3 conv edges per cell, 3 cells
    assert len(cell_convs) == 3 * 3
    assert model(torch.randn(2, 3, 16, 16)).shape == (2, 10)


def test_space_option() -> None:
    space = get_space("nb201").with_options(model="samsung")
    assert space.options_key() == "model=samsung" and get_space("nb201").options_key() == ""
    assert get_space("nb201").model == "nb201"  # the registry's shared instance is untouched
    net = space.build(ARCH, 10)
    assert any(isinstance(m, nn.Conv2d) and m.bias is not None for m in net.modules())
    with pytest.raises(InputError, match="bad value 'xautodl' for option 'model' of space 'nb201'; valid choices: nb201, samsung"):
        get_space("nb201").with_options(model="xautodl")
