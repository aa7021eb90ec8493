"""NDS cell networks: exact parameter counts (spaces-spec 4.7, 4.11), op shapes, ReLU naming, init order.

The big fidelity checks only construct and count (no forward); forwards use tiny widths.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from naswot_ray.errors import InputError
from naswot_ray.spaces.nds.cell_net import (
    NetworkCIFAR,
    NetworkImageNet,
    count_parameters,
    reduction_cells,
)
from naswot_ray.spaces.nds.genotypes import PUBLISHED_GENOTYPES, genotype_from_dict, loose_ends
from naswot_ray.spaces.nds.ops import OPS, FactorizedReduce, ReLUConvBN, make_op
from tests.spaces.nds.records import AMOEBA_NET, AMOEBA_PARAMS

torch.set_num_threads(1)

# genotype -> (params with the aux head excluded, params the aux head adds) at C=36, L=20, 10 classes
SPEC_4_11 = {
    "NASNet": (3_830_950, 457_994),
    "AmoebaNet": (3_145_078, 457_994),
    "PNASNet": (4_481_110, 494_858),
    "ENAS": (3_859_894, 457_994),
    "DARTS_V1": (3_169_414, 476_426),
    "DARTS_V2": (3_349_342, 476_426),
}


@pytest.mark.parametrize("name", sorted(SPEC_4_11))
def test_published_genotype_parameter_counts(name: str) -> None:
    net = NetworkCIFAR(36, 10, 20, True, PUBLISHED_GENOTYPES[name])
    without_aux, aux = SPEC_4_11[name]
    assert count_parameters(net) == without_aux
    assert count_parameters(net, include_auxiliary=True) - without_aux == aux


def test_darts_v2_cifar_is_exactly_the_published_count() -> None:
    net = NetworkCIFAR(36, 10, 20, False, PUBLISHED_GENOTYPES["DARTS_V2"])
    assert sum(p.numel() for p in net.parameters()) == 3_349_342


def test_darts_v2_imagenet_parameter_count() -> None:
    net = NetworkImageNet(48, 1000, 14, False, PUBLISHED_GENOTYPES["DARTS_V2"])
    assert count_parameters(net) == 4_718_752


def test_documented_amoeba_record_parameter_count() -> None:
    genotype = genotype_from_dict(AMOEBA_NET["genotype"])
    net = NetworkCIFAR(AMOEBA_NET["width"], 10, AMOEBA_NET["depth"], AMOEBA_NET["aux"], genotype)
    assert sum(p.numel() for p in net.parameters()) == AMOEBA_PARAMS


@pytest.mark.parametrize("layers, expected", [(4, (1, 2)), (8, (2, 5)), (12, (4, 8)), (16, (5, 10)), (20, (6, 13))])
def test_reduction_positions(layers: int, expected: tuple[int, int]) -> None:
    assert reduction_cells(layers) == expected
    net = NetworkCIFAR(8, 10, layers, False, PUBLISHED_GENOTYPES["DARTS_V2"])
    assert tuple(i for i, cell in enumerate(net.cells) if cell.reduction) == expected


C = 8
OP_PARAMS = {  # spaces-spec 4.4, at width C, stride 1
    "none": 0, "avg_pool_3x3": 0, "max_pool_3x3": 0, "max_pool_5x5": 0, "max_pool_7x7": 0, "skip_connect": 0,
    "conv_1x1": C * C + 2 * C, "conv_3x3": 9 * C * C + 2 * C,
    "conv_3x1_1x3": 6 * C * C + 2 * C, "conv_7x1_1x7": 14 * C * C + 2 * C,
    "sep_conv_3x3": 2 * (9 * C + C * C + 2 * C), "sep_conv_5x5": 2 * (25 * C + C * C + 2 * C),
    "sep_conv_7x7": 2 * (49 * C + C * C + 2 * C),
    "dil_conv_3x3": 9 * C + C * C + 2 * C, "dil_conv_5x5": 25 * C + C * C + 2 * C,
    "dil_sep_conv_3x3": 2 * (9 * C + C * C + 2 * C),
}


@pytest.mark.parametrize("name", sorted(OP_PARAMS))
def test_op_parameters_and_shapes(name: str) -> None:
    x = torch.randn(2, C, 9, 9)  # odd size: pycls padding keeps every op shape-consistent
    for stride, side in ((1, 9), (2, 5)):
        op = make_op(name, C, stride)
        assert op(x).shape == (2, C, side, side)
    assert sum(p.numel() for p in make_op(name, C, 1).parameters()) == OP_PARAMS[name]
    strided_skip = make_op("skip_connect", C, 2)
    assert isinstance(strided_skip, FactorizedReduce)
    assert sum(p.numel() for p in strided_skip.parameters()) == C * C + 2 * C


def test_unknown_op_is_an_input_error() -> None:
    with pytest.raises(InputError, match="conv_9x9"):
        make_op("conv_9x9", C, 1)
    assert "none" in OPS and "dil_sep_conv_3x3" in OPS


def test_factorized_reduce_pads_like_pycls() -> None:
    fr = FactorizedReduce(4, 4)
    x = torch.randn(1, 4, 5, 5)
    out = fr(x)
    # second half reads x shifted by one pixel, zero-padded at the bottom/right
    shifted = torch.nn.functional.pad(torch.relu(x), (0, 1, 0, 1))[:, :, 1:, 1:]
    expected = fr.bn(torch.cat([fr.conv_1(torch.relu(x)), fr.conv_2(shifted)], dim=1))
    assert out.shape == (1, 4, 3, 3)
    assert torch.allclose(out, expected)


def test_only_rectifiers_and_preprocessing_have_relu_in_their_class_name() -> None:
    net = NetworkCIFAR(8, 10, 5, True, PUBLISHED_GENOTYPES["NASNet"])
    named = [m for m in net.modules() if "ReLU" in str(type(m))]
    assert {type(m) for m in named} == {nn.ReLU, ReLUConvBN}
    for m in named:
        if isinstance(m, ReLUConvBN):
            assert isinstance(m.op[0], nn.ReLU)
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    assert all(not m.inplace for m in relus)
    # preprocess1 always, preprocess0 unless the previous cell reduced (FactorizedReduce)
    expected_containers = sum(2 - isinstance(cell.preprocess0, FactorizedReduce) for cell in net.cells)
    assert sum(isinstance(m, ReLUConvBN) for m in named) == expected_containers


def test_forward_returns_logits_only_even_with_aux_in_train_mode() -> None:
    net = NetworkCIFAR(8, 3, 4, True, PUBLISHED_GENOTYPES["DARTS_V2"]).train()
    out = net(torch.randn(2, 3, 32, 32))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 3)
    assert hasattr(net, "auxiliary_head")
    features = net.forward_before_global_avg_pool(torch.randn(2, 3, 32, 32))
    assert features.shape == (2, net.classifier.in_features, 8, 8)


def test_imagenet_skeleton_forward_on_a_small_input() -> None:
    # 64x64 instead of 224 to keep CI fast: stems /8, two reductions -> 2x2
    net = NetworkImageNet(8, 5, 4, True, PUBLISHED_GENOTYPES["PNASNet"])
    assert net(torch.randn(2, 3, 64, 64)).shape == (2, 5)
    assert net.forward_before_global_avg_pool(torch.randn(1, 3, 64, 64)).shape[-1] == 2


def test_construction_order_stem_first_and_aux_before_classifier() -> None:
    genotype = PUBLISHED_GENOTYPES["DARTS_V2"]
    torch.manual_seed(3)
    net = NetworkCIFAR(8, 10, 4, False, genotype)
    torch.manual_seed(3)
    stem_alone = nn.Conv2d(3, 24, 3, padding=1, bias=False)
    assert torch.equal(net.stem[0].weight, stem_alone.weight)
    torch.manual_seed(3)
    with_aux = NetworkCIFAR(8, 10, 4, True, genotype)
    # identical cells, but the aux head is drawn before the classifier, which therefore differs
    assert torch.equal(net.cells[-1].ops[0].op[1].weight, with_aux.cells[-1].ops[0].op[1].weight)
    assert not torch.equal(net.classifier.weight, with_aux.classifier.weight)


def test_loose_ends_and_genotype_validation() -> None:
    g = genotype_from_dict(AMOEBA_NET["genotype"])
    assert loose_ends(g.normal) == (3, 5, 6) and loose_ends(g.reduce) == (3, 6)
    bad = {**AMOEBA_NET["genotype"], "normal": [["sep_conv_3x3", 2]] + AMOEBA_NET["genotype"]["normal"][1:]}
    with pytest.raises(InputError, match="input 2"):
        genotype_from_dict(bad)
    with pytest.raises(InputError, match="missing"):
        genotype_from_dict({"normal": []})
