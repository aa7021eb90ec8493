"""NATS-Bench size space: order, recorded parameter/FLOP counts, mutation and forward."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space
from naswot_ray.spaces.nats.sss import (
    NATS_SSS_WIDTHS,
    NatsSssSpace,
    build_nats_sss_network,
    nats_sss_cost,
    parse_channels,
)
from naswot_ray.spaces.nb201.ops import ReLUConvBN, SkipProjection

# spaces-spec 2.3: recorded params (C10, C100, IN16-120) and C10 FLOPs, all / 1e6 in the benchmark.
RECORDED = {
    "8:8:8:8:8": ((11_714, 12_524, 12_704), 4_481_114),
    "8:8:8:16:32": ((49_202, 52_172, 52_832), 6_840_650),
    "8:8:40:32:40": ((144_834, 148_524, 149_344), 21_827_994),
}


@pytest.fixture(scope="module")
def space() -> NatsSssSpace:
    return NatsSssSpace()


def test_registered(space: NatsSssSpace) -> None:
    assert isinstance(get_space("nats_sss"), NatsSssSpace)
    assert (space.name, space.size, space.input_size) == ("nats_sss", 32_768, 32)


@pytest.mark.parametrize(
    ("index", "arch"), [(0, "8:8:8:8:8"), (11, "8:8:8:16:32"), (284, "8:8:40:32:40"), (32_767, "64:64:64:64:64")]
)
def test_known_indices(space: NatsSssSpace, index: int, arch: str) -> None:
    assert space.arch(index) == arch
    assert space.index(arch) == index


def test_order_is_itertools_product(space: NatsSssSpace) -> None:
    expected = [":".join(map(str, widths)) for widths in itertools.product(NATS_SSS_WIDTHS, repeat=5)]
    assert [space.arch(i) for i in range(space.size)] == expected
    assert all(space.index(arch) == i for i, arch in enumerate(expected))


@pytest.mark.parametrize("arch", sorted(RECORDED))
def test_recorded_params_and_flops(arch: str) -> None:
    params, flops = RECORDED[arch]
    for classes, expected in zip((10, 100, 120), params):
        assert nats_sss_cost(arch, classes).params == expected
        assert sum(p.numel() for p in build_nats_sss_network(arch, classes).parameters()) == expected
    assert nats_sss_cost(arch, 10).flops == flops


def test_largest_network_params() -> None:
    assert sum(p.numel() for p in build_nats_sss_network("64:64:64:64:64", 10).parameters()) == 713_674
    assert nats_sss_cost("64:64:64:64:64", 10).params == 713_674


def test_width_change_adapters_and_rectifiers() -> None:
    net = build_nats_sss_network("8:16:24:32:40", 10)
    # cells at layers 2 (16->24) and 4 (32->40) project their node-0 skip edge; layer 0 does not
    assert sum(isinstance(m, SkipProjection) for m in net.modules()) == 2
    assert sum(isinstance(m, ReLUConvBN) for m in net.modules()) == 3 * 5 + 4
    assert sum(type(m) is torch.nn.ReLU for m in net.modules()) == 3 * 5 + 4 + 1
    assert all("ReLU" not in type(m).__name__ for m in net.modules() if type(m) not in (torch.nn.ReLU, ReLUConvBN))


@pytest.mark.parametrize(("size", "classes"), [(32, 10), (16, 120)])
def test_forward(size: int, classes: int) -> None:
    torch.manual_seed(0)
    net = build_nats_sss_network("8:16:24:32:40", classes)
    x = torch.randn(3, 3, size, size)
    logits = net(x)
    assert logits.shape == (3, classes)
    assert torch.isfinite(logits).all()
    assert net.forward_before_global_avg_pool(x).shape == (3, 40, size // 4, size // 4)


def test_mutation_changes_one_width(space: NatsSssSpace) -> None:
    rng = np.random.default_rng(0)
    for index in rng.integers(0, space.size, size=300):
        arch = space.arch(int(index))
        child = space.mutate(arch, rng)
        assert sum(a != b for a, b in zip(parse_channels(arch), parse_channels(child))) == 1
        assert 0 <= space.index(child) < space.size
    start = "8:8:8:8:8"
    assert len({space.mutate(start, rng) for _ in range(1500)}) == 5 * 7


def test_canonical_is_the_string(space: NatsSssSpace) -> None:
    assert space.canonical("8:16:24:32:40") == "8:16:24:32:40"


@pytest.mark.parametrize(
    ("text", "needle"),
    [("8:8:8:8", "4 widths"), ("8:8:8:8:12", "'12'"), ("8:8:8:8:08", "'08'"), ("8:8:x:8:8", "'x'"), ("", "1 widths")],
)
def test_malformed(space: NatsSssSpace, text: str, needle: str) -> None:
    for call in (space.parse_arch, space.index):
        with pytest.raises(InputError, match=needle):
            call(text)
    with pytest.raises(InputError, match="valid widths: 8, 16, 24, 32, 40, 48, 56, 64"):
        space.parse_arch("8:8:8:8:12")
