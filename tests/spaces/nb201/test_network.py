"""Our NB201 networks: parameter counts, FLOPs, shapes, init order, and the module names metrics rely on."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from naswot_ray.errors import InputError
from naswot_ray.spaces.nb201.space import NB201Space, nb201_arch_table, nb201_flops, nb201_param_count
from naswot_ray.spaces.nb201.cell import parse_cell
from naswot_ray.spaces.nb201.net import build_nb201_network
from naswot_ray.spaces.nb201.ops import ReLUConvBN

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
MERGED_CSV = SHARED / "nb201-merged-200ep" / "nb201_merged_200ep.csv"

ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_POOL = "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|"

# Recorded benchmark params in 1e6 (spaces-spec 1.7): cell -> {num_classes: value}.
RECORDED_PARAMS_M = {
    ALL_SKIP: {10: 0.073306},
    ALL_CONV3: {10: 1.531546},
    "index 0": {10: 0.129306, 100: 0.135156, 120: 0.136456},
    "index 11": {10: 0.802426, 100: 0.808276, 120: 0.809576},
    "index 284": {10: 0.101306, 100: 0.107156, 120: 0.108456},
}

# Whole-number CSV records that are not a single network's count: each is the mean of two records
# that differ by one conv edge (recorded - ours, in parameters). Found by scripts/check_nb201_params.py.
AVERAGED_WHOLE_RECORDS = {737: -14_000, 5065: 121_520, 6545: -121_520, 11964: -121_520, 15372: -121_520}


def _cell(name: str) -> str:
    return NB201Space().arch(int(name.split()[1])) if name.startswith("index ") else name


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(RECORDED_PARAMS_M))
def test_recorded_param_table(name: str) -> None:
    arch = _cell(name)
    for num_classes, recorded in RECORDED_PARAMS_M[name].items():
        ours = nb201_param_count(arch, num_classes)
        assert ours == round(recorded * 1e6)
        assert _count(build_nb201_network(arch, num_classes)) == ours


def test_closed_form_matches_spec_formula_for_every_cell() -> None:
    for arch in nb201_arch_table():
        ops = parse_cell(arch)
        n3, n1 = ops.count("nor_conv_3x3"), ops.count("nor_conv_1x1")
        for k in (10, 100, 120):
            assert nb201_param_count(arch, k) == 72_656 + 65 * k + 243_040 * n3 + 28_000 * n1


def test_params_against_benchmark_records() -> None:
    """Every whole-number record (15,426 cells) equals our count, except 5 known two-record means."""
    if not MERGED_CSV.exists():
        pytest.skip(f"shared data not found at {MERGED_CSV}")
    with MERGED_CSV.open(newline="") as handle:
        recorded = {int(row["index"]): float(row["params_M_cifar10"]) for row in csv.DictReader(handle)}
    space = NB201Space()
    checked_whole = 0
    for index, value in recorded.items():
        rec_params = value * 1e6
        if abs(rec_params - round(rec_params)) > 1e-6:
            continue  # fractional record: a mean over records of different cells, listed by the script
        ours = nb201_param_count(space.arch(index), 10)
        expected_diff = AVERAGED_WHOLE_RECORDS.get(index, 0)
        assert abs(value - (ours + expected_diff) / 1e6) <= 1e-6 + 1e-12, index
        checked_whole += 1
    assert checked_whole == 15_426


def test_500_built_networks_match_the_benchmark_records() -> None:
    """A seeded random 500 networks, built (on the meta device: same modules, no weight init), count
    exactly the closed form and, where the record is a whole number of parameters, the benchmark's
    recorded params_M_cifar10 to 1e-6 M (scripts/check_nb201_params.py builds all 15,625)."""
    space = NB201Space()
    recorded = {}
    if MERGED_CSV.exists():
        with MERGED_CSV.open(newline="") as handle:
            recorded = {int(row["index"]): float(row["params_M_cifar10"]) for row in csv.DictReader(handle)}
    sample = np.random.default_rng(201).choice(15_625, size=500, replace=False).tolist()
    compared = 0
    for index in sample + list(AVERAGED_WHOLE_RECORDS):
        arch = space.arch(index)
        with torch.device("meta"):
            built = _count(build_nb201_network(arch, 10))
        assert built == nb201_param_count(arch, 10), index
        value = recorded.get(index)
        if value is not None and abs(value * 1e6 - round(value * 1e6)) <= 1e-6:
            assert abs(value - (built + AVERAGED_WHOLE_RECORDS.get(index, 0)) / 1e6) <= 1e-6 + 1e-12, index
            compared += 1
    if recorded:
        assert compared >= 490  # about 1.3 % of records are fractional means
    else:
        pytest.skip(f"built counts checked against the closed form; shared data not found at {MERGED_CSV}")


def test_flops_rule() -> None:
    # Conv and Linear only, no pooling/BN (spaces-spec 1.7), computed by hand for the all-skip cell.
    stem = 27 * 16 * 32 * 32
    red1 = 9 * 16 * 32 * 16 * 16 + 9 * 32 * 32 * 16 * 16 + 16 * 32 * 16 * 16
    red2 = 9 * 32 * 64 * 8 * 8 + 9 * 64 * 64 * 8 * 8 + 32 * 64 * 8 * 8
    assert nb201_flops(ALL_SKIP, 10, 32) == stem + red1 + red2 + 64 * 10 + 10
    assert nb201_flops(ALL_POOL, 10, 32) == nb201_flops(ALL_SKIP, 10, 32)
    conv3_edge = 9 * (5 * 16 * 16 * 32 * 32 + 5 * 32 * 32 * 16 * 16 + 5 * 64 * 64 * 8 * 8)
    assert nb201_flops(ALL_CONV3, 10, 32) - nb201_flops(ALL_SKIP, 10, 32) == 6 * conv3_edge
    # ImageNet16-120: every spatial size halves, so conv FLOPs quarter; the head is per image.
    head = 64 * 120 + 120
    assert nb201_flops(ALL_CONV3, 120, 16) - head == (nb201_flops(ALL_CONV3, 120, 32) - head) // 4


def test_flops_match_hooked_count() -> None:
    arch = NB201Space().arch(11)
    net = build_nb201_network(arch, 100)
    total = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += kh * kw * module.in_channels // module.groups * module.out_channels * output[0, 0].numel()
        else:
            total += module.in_features * module.out_features + module.out_features

    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            module.register_forward_hook(hook)
    with torch.no_grad():
        net(torch.zeros(1, 3, 32, 32))
    assert total == nb201_flops(arch, 100, 32)


@pytest.mark.parametrize(("size", "classes"), [(32, 10), (16, 120)])
def test_forward_shapes(size: int, classes: int) -> None:
    torch.manual_seed(0)
    net = build_nb201_network(NB201Space().arch(0), classes)
    x = torch.randn(4, 3, size, size)
    logits = net(x)
    assert isinstance(logits, torch.Tensor)
    assert logits.shape == (4, classes)
    assert torch.isfinite(logits).all()
    features = net.forward_before_global_avg_pool(x)
    assert features.shape == (4, 64, size // 4, size // 4)
    assert (features >= 0).all()  # after the final ReLU
    assert torch.allclose(net.classifier(features.mean(dim=(2, 3))), logits, atol=1e-6)


def test_one_output_unit_as_naswot_builds_it() -> None:
    assert build_nb201_network(ALL_CONV3, 1)(torch.randn(2, 3, 32, 32)).shape == (2, 1)


def test_thin_network_without_stem() -> None:
    net = build_nb201_network(ALL_CONV3, 10, C=1, N=1, stem=False, input_channels=1)
    assert net.stem is None
    assert len(net.cells) == 5
    assert net(torch.randn(7, 1, 3, 3)).shape == (7, 10)
    with pytest.raises(InputError, match="input_channels"):
        build_nb201_network(ALL_CONV3, 10, C=16, N=1, stem=False, input_channels=3)


def test_same_seed_same_weights() -> None:
    arch = NB201Space().arch(123)
    torch.manual_seed(7)
    first = build_nb201_network(arch, 10).state_dict()
    torch.manual_seed(7)
    second = build_nb201_network(arch, 10).state_dict()
    torch.manual_seed(8)
    third = build_nb201_network(arch, 10).state_dict()
    assert list(first) == list(second)
    assert all(torch.equal(first[key], second[key]) for key in first)
    assert not torch.equal(first["stem.0.weight"], third["stem.0.weight"])


@pytest.mark.parametrize("index", [0, 11, 9930])
def test_init_draw_order_follows_spec(index: int) -> None:
    """Replay default init in spaces-spec 1.6 order; equal weights mean equal weights to the benchmark's."""
    arch = NB201Space().arch(index)
    ops = parse_cell(arch)
    shapes: list[tuple[int, ...]] = [(16, 3, 3, 3)]
    for c_in, c_out, kind in [(16, 16, "cell")] * 5 + [(16, 32, "res")] + [(32, 32, "cell")] * 5 + [
        (32, 64, "res")
    ] + [(64, 64, "cell")] * 5:
        if kind == "res":
            shapes += [(c_out, c_in, 3, 3), (c_out, c_out, 3, 3), (c_out, c_in, 1, 1)]
        else:
            shapes += [(c_out, c_out, 3, 3) if op == "nor_conv_3x3" else (c_out, c_out, 1, 1)
                       for op in ops if op in ("nor_conv_3x3", "nor_conv_1x1")]
    torch.manual_seed(3)
    net = build_nb201_network(arch, 10)
    after_build = torch.rand(1)

    torch.manual_seed(3)
    expected = []
    for shape in shapes:
        weight = torch.empty(shape)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
        expected.append(weight)
    head_weight = torch.empty(10, 64)
    nn.init.kaiming_uniform_(head_weight, a=math.sqrt(5))
    head_bias = torch.empty(10).uniform_(-1 / 8, 1 / 8)
    after_replay = torch.rand(1)

    convs = [m.weight for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == len(expected)
    assert all(torch.equal(a, b) for a, b in zip(convs, expected))
    assert torch.equal(net.classifier.weight, head_weight)
    assert torch.equal(net.classifier.bias, head_bias)
    assert torch.equal(after_build, after_replay)


def _reference_hooked(net: nn.Module) -> list[nn.Module]:
    """NASWOT's rule: every module whose type string contains 'ReLU'."""
    return [m for m in net.modules() if "ReLU" in str(type(m))]


@pytest.mark.parametrize(
    ("arch", "conv_edges"),
    [(ALL_NONE, 0), (ALL_SKIP, 0), (ALL_POOL, 0), ("index 0", 2), ("index 11", 3), (ALL_CONV3, 6)],
)
def test_relu_modules_seen_by_name_rule(arch: str, conv_edges: int) -> None:
    net = build_nb201_network(_cell(arch), 1)
    relu_conv_bn = 15 * conv_edges + 4  # conv edges in 15 cells + conv_a/conv_b of 2 reduction blocks
    assert sum(isinstance(m, ReLUConvBN) for m in net.modules()) == relu_conv_bn
    assert sum(type(m) is nn.ReLU for m in net.modules()) == relu_conv_bn + 1  # + lastact
    hooked = _reference_hooked(net)
    assert len(hooked) == 2 * relu_conv_bn + 1
    assert {type(m) for m in hooked} == {nn.ReLU, ReLUConvBN}
    assert all("ReLU" not in type(m).__module__ for m in net.modules())

    calls = 0

    def count(*_: object) -> None:
        nonlocal calls
        calls += 1

    for module in hooked:
        module.register_forward_hook(count)
    net(torch.randn(2, 3, 32, 32))
    assert calls == 2 * relu_conv_bn + 1  # every hooked module runs exactly once


class _CountRelu(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        if func in (torch.relu, torch.relu_, torch.nn.functional.relu, torch.Tensor.relu, torch.Tensor.relu_):
            self.calls += 1
        return func(*args, **(kwargs or {}))


def test_every_rectifier_is_an_nn_relu_module() -> None:
    net = build_nb201_network(ALL_CONV3, 10)
    module_calls = 0

    def count(*_: object) -> None:
        nonlocal module_calls
        module_calls += 1

    for module in net.modules():
        if type(module) is nn.ReLU:
            module.register_forward_hook(count)
    with _CountRelu() as mode:
        net(torch.randn(2, 3, 32, 32))
    assert module_calls == 15 * 6 + 4 + 1
    assert mode.calls == module_calls


def test_none_edge_keeps_autograd_graph() -> None:
    net = build_nb201_network(ALL_NONE, 1)
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    net(x).sum().backward()
    assert x.grad is not None
    first_cell_input = torch.randn(2, 16, 8, 8, requires_grad=True)
    out = net.cells[0](first_cell_input)
    assert out.grad_fn is not None
    assert torch.equal(out, torch.zeros_like(out))


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="conv_9x9"):
        build_nb201_network("|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|", 10)
    with pytest.raises(InputError, match="num_classes"):
        build_nb201_network(ALL_NONE, 0)
