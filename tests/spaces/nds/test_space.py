"""NDS search spaces: official-file mode (both layouts, bad files), sampled mode, mutation, options.

Files are tiny NDS-shaped JSONs written by the tests around the documented records. Forwards use
width/depth overrides of sampled archs (CIFAR 32x32; ImageNet variants at 64x64 instead of 224).
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space, space_names
from naswot_ray.spaces.nds.space import NDS_SPACE_NAMES, NDSAnyNetSpace, NDSCellSpace, parse_net
from naswot_ray.spaces.nds.data import arch_key
from tests.spaces.nds.records import AMOEBA_NET, AMOEBA_PARAMS, ANYNET_RECORDS, RESNET_NET, record, write_json

torch.set_num_threads(1)

EXPECTED_NAMES = {
    "nds_amoeba", "nds_darts", "nds_enas", "nds_nasnet", "nds_pnas",
    "nds_darts_fix-w-d", "nds_enas_fix-w-d", "nds_pnas_fix-w-d",
    "nds_amoeba_in", "nds_darts_in", "nds_enas_in", "nds_nasnet_in", "nds_pnas_in",
    "nds_resnet", "nds_resnet-b", "nds_resnext-a", "nds_resnext-b", "nds_vanilla",
    "nds_resnext-a_in", "nds_resnext-b_in",
}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_every_nds_space_is_registered() -> None:
    assert set(NDS_SPACE_NAMES) == EXPECTED_NAMES
    assert EXPECTED_NAMES <= set(space_names())
    assert get_space("nds_pnas_in").input_size == 224 and get_space("nds_pnas").input_size == 32
    assert get_space("nds_resnext-b_in").input_size == 224


# -- official-file mode ---------------------------------------------------------------------------------

def _second_amoeba() -> dict:
    """A different valid Amoeba net (tiny, so building it is cheap)."""
    return parse_net(get_space("nds_amoeba").arch(7)) | {"width": 8, "depth": 4}


def test_list_layout_cell_file(tmp_path: Path) -> None:
    other = _second_amoeba()
    path = write_json(tmp_path / "Amoeba.json", [record(other), record(AMOEBA_NET, AMOEBA_PARAMS), record(other)])
    space = get_space("nds_amoeba").with_options(data_file=str(path))
    assert isinstance(space, NDSCellSpace)
    assert space.size == 3 and list(space.iter_all()) == [0, 1, 2]
    assert space.arch(1) == json.dumps(AMOEBA_NET, sort_keys=True)
    assert space.index(space.arch(1)) == 1
    assert space.index(space.arch(2)) == 0  # duplicate records map to their first position
    assert n_params(space.build(space.arch(1), 10)) == AMOEBA_PARAMS
    reformatted = json.dumps(AMOEBA_NET, indent=2)
    assert space.parse_arch(reformatted) == space.arch(1)
    assert space.options_key().startswith("data=Amoeba.json:")
    assert get_space("nds_amoeba").size is None  # the registry's default object is untouched


@pytest.mark.parametrize("space_name", sorted(ANYNET_RECORDS))
def test_top_mid_layout_anynet_files(tmp_path: Path, space_name: str) -> None:
    net, params, flops = ANYNET_RECORDS[space_name]
    sampled = parse_net(get_space(space_name).arch(3))
    sampled["ds"] = [1, 1, 1, 1]
    payload = {"top": [record(sampled)], "mid": [record(net, params, flops)]}
    path = write_json(tmp_path / f"{space_name}.json", payload)
    space = get_space(space_name).with_options(data_file=path)
    assert space.size == 2
    assert space.arch(1) == arch_key(net)  # records = top + mid
    assert space.index(arch_key(net)) == 1
    assert n_params(space.build(space.arch(1), 10)) == params


def test_naswot_compat_through_the_space(tmp_path: Path) -> None:
    path = write_json(tmp_path / "ResNet.json", [record(RESNET_NET)])
    space = get_space("nds_resnet").with_options(data_file=path, compat="naswot")
    assert n_params(space.build(space.arch(0), 10)) == 599_782
    assert space.options_key().startswith("compat=naswot;data=ResNet.json:")
    resnext = get_space("nds_resnext-a").with_options(compat="naswot")
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        resnext.build(arch_key(ANYNET_RECORDS["nds_resnext-a"][0]), 10)


def test_aux_records_build_with_the_head_but_forward_logits(tmp_path: Path) -> None:
    aux_net = _second_amoeba() | {"aux": True, "drop_prob": 0.2}
    path = write_json(tmp_path / "Amoeba.json", [record(aux_net)])
    space = get_space("nds_amoeba").with_options(data_file=path)
    model = space.build(space.arch(0), 4).train()
    assert hasattr(model, "auxiliary_head")
    out = model(torch.randn(2, 3, 32, 32))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 4)
    with pytest.raises(ValueError, match="NaN"):
        space.with_options(compat="naswot").build(space.arch(0), 4)


@pytest.mark.parametrize("content, match", [
    ("{not json", "not valid JSON"),
    ('{"top": []}', "keys top"),
    ("42", "JSON int"),
    ("[]", "no records"),
    ('[{"params": 1}]', "record 0 has no 'net'"),
])
def test_corrupt_files_are_input_errors(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "DARTS.json"
    path.write_text(content)
    with pytest.raises(InputError, match=match) as info:
        get_space("nds_darts").with_options(data_file=path)
    assert "DARTS.json" in str(info.value)


def test_missing_and_mismatched_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        get_space("nds_darts").with_options(data_file=tmp_path / "nope.json")
    anynet = write_json(tmp_path / "ResNet.json", [record(RESNET_NET)])
    with pytest.raises(InputError, match="record 0 does not fit space 'nds_darts'"):
        get_space("nds_darts").with_options(data_file=anynet)
    amoeba = write_json(tmp_path / "Amoeba.json", [record(AMOEBA_NET)])
    with pytest.raises(InputError, match="8 pairs"):  # DARTS cells have 4 nodes, Amoeba 5
        get_space("nds_darts").with_options(data_file=amoeba)
    with pytest.raises(InputError, match="res_bottleneck_block"):
        get_space("nds_resnext-a").with_options(data_file=anynet)


def test_unknown_arch_and_options_are_input_errors(tmp_path: Path) -> None:
    path = write_json(tmp_path / "Amoeba.json", [record(AMOEBA_NET)])
    space = get_space("nds_amoeba").with_options(data_file=path)
    with pytest.raises(InputError, match="not among the 1 records"):
        space.index(arch_key(_second_amoeba()))
    with pytest.raises(InputError, match="outside space"):
        space.arch(1)
    with pytest.raises(InputError, match="compat"):
        get_space("nds_amoeba").with_options(compat="pycls")
    with pytest.raises(InputError, match="no option"):
        get_space("nds_amoeba").with_options(stem_channels=16)
    with pytest.raises(InputError, match="valid JSON"):
        space.build("{broken", 10)


# -- sampled mode ------------------------------------------------------------------------------------------

def _shrink(space, arch: str) -> str:
    """The same sampled decisions at CI size: cells width 8 depth 4; AnyNet stages depth 1, width <= 64."""
    net = parse_net(arch)
    if isinstance(space, NDSCellSpace):
        net.update(width=8, depth=4)
    else:
        net["ds"] = [1] * len(net["ds"])
        bms = net.get("bot_muls") or [0.0] * len(net["ws"])
        gs = net.get("num_gs") or [1] * len(net["ws"])
        ws = [net["ws"][0]]
        for w, bm, g in zip(net["ws"][1:], bms[1:], gs[1:]):
            small = min(w, 64)
            while int(round(small * bm)) % g:  # keep the group count a divisor of the bottleneck width
                small += 8
            ws.append(small)
        net["ws"] = ws
    return arch_key(net)


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_sampled_spaces_are_deterministic_and_forward(name: str) -> None:
    space = get_space(name)
    assert space.size is None
    with pytest.raises(InputError, match="--limit N"):
        space.iter_all()
    fresh = type(space)(*space_args(space))
    archs = [space.arch(i) for i in range(4)]
    assert archs == [fresh.arch(i) for i in range(4)]  # a function of (name, index) only
    assert len(set(archs)) == 4
    assert space.index(archs[2]) == 2
    for arch in archs:
        assert space.parse_arch(arch) == arch
    side = 64 if space.input_size == 224 else 32
    model = space.build(_shrink(space, archs[0]), 3)
    out = model(torch.randn(2, 3, side, side))
    assert out.shape == (2, 3) and torch.isfinite(out).all()
    indices = space.sample(np.random.default_rng(0), 5)
    assert len(indices) == 5 and all(isinstance(i, int) and i >= 0 for i in indices)


def space_args(space) -> tuple:
    if isinstance(space, NDSCellSpace):
        return space.name, space.family, space.variant
    return space.name, space.family, space.imagenet


def test_sampled_design_rules() -> None:
    fix = parse_net(get_space("nds_pnas_fix-w-d").arch(11))
    assert (fix["width"], fix["depth"]) == (32, 20)
    pnas = parse_net(get_space("nds_pnas").arch(5))
    assert pnas["genotype"]["normal_concat"] == [2, 3, 4, 5, 6] and len(pnas["genotype"]["normal"]) == 10
    darts = parse_net(get_space("nds_darts").arch(5))
    assert darts["genotype"]["reduce_concat"] == [2, 3, 4, 5] and len(darts["genotype"]["reduce"]) == 8
    nasnet = parse_net(get_space("nds_nasnet").arch(5))["genotype"]
    used = {source for _op, source in nasnet["normal"]}
    assert nasnet["normal_concat"] == [n for n in range(2, 7) if n not in used]
    rx = parse_net(get_space("nds_resnext-a").arch(5))
    assert rx["ds"][0] == 1 and rx["ws"][0] == 16 and rx["ss"] == [1, 1, 2, 2] and rx["bot_muls"][0] == 0.0
    widths = {parse_net(get_space("nds_darts").arch(i))["width"] for i in range(40)}
    assert widths == {16, 24, 32}


def test_sampled_index_of_a_foreign_arch_is_an_input_error() -> None:
    space = get_space("nds_enas")
    foreign = parse_net(space.arch(0)) | {"width": 24 if parse_net(space.arch(0))["width"] != 24 else 16}
    with pytest.raises(InputError, match="arch->index"):
        space.index(arch_key(foreign))
    bad_op = parse_net(space.arch(0))
    bad_op["genotype"]["normal"][0][0] = "conv_3x3"  # a NASNet op, not an ENAS one
    with pytest.raises(InputError, match="ENAS normal op"):
        space.parse_arch(arch_key(bad_op))
    with pytest.raises(InputError, match="width"):
        space.parse_arch(arch_key(parse_net(space.arch(0)) | {"width": 40}))


@pytest.mark.parametrize("name", ["nds_nasnet", "nds_darts", "nds_pnas_fix-w-d", "nds_resnext-b", "nds_vanilla",
                                  "nds_resnext-a_in"])
def test_mutation_stays_in_the_space(name: str) -> None:
    space = get_space(name)
    rng = np.random.default_rng(1)
    arch = space.arch(0)
    for _ in range(30):
        child = space.mutate(arch, rng)
        assert child != arch
        assert space.parse_arch(child) == child  # in the design space (ops, inputs, concat, ranges)
        before, after = parse_net(arch), parse_net(child)
        if isinstance(space, NDSAnyNetSpace):
            changed = sum(a != b for key in ("ds", "ws") for a, b in zip(before[key], after[key]))
        else:
            changed = sum(a != b for kind in ("normal", "reduce")
                          for a, b in zip(before["genotype"][kind], after["genotype"][kind]))
        assert changed == 1
        arch = child


def test_mutating_a_file_record_keeps_its_other_keys(tmp_path: Path) -> None:
    path = write_json(tmp_path / "Amoeba.json", [record(AMOEBA_NET)])
    space = get_space("nds_amoeba").with_options(data_file=path)
    child = parse_net(space.mutate(space.arch(0), np.random.default_rng(0)))
    assert (child["width"], child["depth"], child["aux"]) == (32, 12, False)
    assert child["genotype"] != AMOEBA_NET["genotype"]


def test_sampled_archs_are_pinned_across_versions() -> None:
    """Stored scores key sampled archs by index: a change of sampler or numpy stream must not go unnoticed."""
    digests = {"nds_darts": "69c4d78d9c5620e7", "nds_resnext-a_in": "f1575da219326d78"}
    for name, digest in digests.items():
        assert hashlib.sha256(get_space(name).arch(0).encode()).hexdigest()[:16] == digest


def test_spaces_pickle_for_ray_workers(tmp_path: Path) -> None:
    path = write_json(tmp_path / "ResNet.json", [record(RESNET_NET)])
    for space in (get_space("nds_pnas"), get_space("nds_resnet").with_options(data_file=path, compat="naswot")):
        copy = pickle.loads(pickle.dumps(space))
        assert copy.arch(0) == space.arch(0) and copy.options_key() == space.options_key()
