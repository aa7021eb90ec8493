"""NDS AnyNet: the documented records' exact params and FLOPs, NASWOT's deviations, init and structure."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from naswot_ray.errors import InputError
from naswot_ray.spaces.nds.anynet import (
    ResStemCifar,
    ResStemIN,
    SimpleStemIN,
    anynet_layout,
    build_anynet,
    nds_flops,
)
from tests.spaces.nds.records import ANYNET_RECORDS, RESNET_NET, RESNEXT_A_NET, VANILLA_NET

torch.set_num_threads(1)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("space", sorted(ANYNET_RECORDS))
def test_documented_records_params_and_flops_exactly(space: str) -> None:
    net, params, flops = ANYNET_RECORDS[space]
    model = build_anynet(net, 10)
    assert isinstance(model.stem, ResStemCifar)
    assert len(model.layout.stages) == 3
    assert n_params(model) == params
    assert nds_flops(net, 32) == flops


def test_naswot_compat_reproduces_the_reference_counts() -> None:
    resnet = build_anynet(RESNET_NET, 10, compat="naswot", res_stem=True)
    vanilla = build_anynet(VANILLA_NET, 10, compat="naswot", res_stem=False)
    assert n_params(resnet) == 599_782
    assert n_params(vanilla) == 693_750
    assert isinstance(resnet.stem, ResStemIN) and isinstance(vanilla.stem, SimpleStemIN)
    assert len(resnet.layout.stages) == 4  # the NDS stem entry became a one-block stage
    assert resnet.layout.stem_width == 12


def test_naswot_compat_resnext_record_fails_like_the_reference() -> None:
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        build_anynet(RESNEXT_A_NET, 10, compat="naswot", res_stem=True)


def test_naswot_compat_reads_num_gs_as_group_width() -> None:
    net = {**RESNEXT_A_NET, "bot_muls": [0.25, 0.25, 0.25, 0.25]}
    stages = anynet_layout(net, compat="naswot").stages
    # stage 2 of the record: w=64, bot_mul 0.25 -> w_b 16, value 2 -> 16 // 2 = 8 groups (NDS reading: 2)
    assert stages[1].bottleneck_width == 16 and stages[1].groups == 8
    assert anynet_layout(RESNEXT_A_NET).stages[0].groups == 2


def test_forward_logits_and_features() -> None:
    model = build_anynet(RESNEXT_A_NET, 7)
    x = torch.randn(2, 3, 32, 32)
    assert model(x).shape == (2, 7)
    assert model.forward_before_global_avg_pool(x).shape == (2, 16, 8, 8)


def test_imagenet_reading_uses_the_resnet_imagenet_stem() -> None:
    net = {**RESNEXT_A_NET, "ds": [1, 1, 1, 1], "ws": [32, 64, 128, 16], "ss": [2, 1, 2, 2]}
    model = build_anynet(net, 5, imagenet=True)
    assert isinstance(model.stem, ResStemIN)
    # 64x64 in CI instead of 224: stem /4, then stages 1, 2, 2 -> 4x4
    assert model.forward_before_global_avg_pool(torch.randn(2, 3, 64, 64)).shape == (2, 16, 4, 4)


def test_pycls_initialisation() -> None:
    torch.manual_seed(0)
    model = build_anynet(RESNET_NET, 10)
    conv = model.s3.b2.f.b  # 40 -> 40, 3x3: std sqrt(2 / (9 * 40))
    assert abs(conv.weight.std().item() - (2 / (9 * 40)) ** 0.5) < 0.005
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) and not m.bias.any()
               for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert not model.fc.bias.any() and abs(model.fc.weight.std().item() - 0.01) < 0.004
    torch.manual_seed(0)
    again = build_anynet(RESNET_NET, 10)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_registration_order_matches_pycls() -> None:
    model = build_anynet(RESNET_NET, 10)
    names = [name for name, _ in model.s2.b1.named_children()]
    assert names == ["proj", "bn", "f", "relu"]
    assert [n for n, _ in model.s1.b1.f.named_children()] == ["a", "a_bn", "a_relu", "b", "b_bn"]
    relu_named = {type(m) for m in model.modules() if "ReLU" in str(type(m))}
    assert relu_named == {nn.ReLU}


@pytest.mark.parametrize("bad, match", [
    ({**RESNET_NET, "block_type": "dense_block"}, "dense_block"),
    ({**RESNET_NET, "ws": [16, 24]}, "equal lengths"),
    ({**RESNET_NET, "ds": [2, 12, 12, 12]}, "stem"),
    ({**RESNET_NET, "se_r": 0.25}, "se_r"),
    ({**RESNEXT_A_NET, "num_gs": []}, "num_gs"),
    ({**RESNET_NET, "bot_muls": [0.0, 0.25, 0.25, 0.25]}, "takes no bot_muls"),
])
def test_malformed_nets_are_input_errors(bad: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        build_anynet(bad, 10)
