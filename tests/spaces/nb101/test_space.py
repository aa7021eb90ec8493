"""The nb101 SearchSpace on its V <= 5 part (2,532 cells) in a temporary cache directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from naswot_ray.errors import InputError
from naswot_ray.spaces import SPACES, get_space
from naswot_ray.spaces.nb101.space import NB101Space, format_arch, parse_spec
from naswot_ray.spaces.nb101.enumeration import expected_size
from naswot_ray.spaces.nb101.graph import make_cell
from tests.spaces.nb101.cells import INCEPTION_HASH, INCEPTION_README, INCEPTION_STORED, INCEPTION_STORED_ARCH


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nb101-cache")


@pytest.fixture()
def space(shared_cache: Path, monkeypatch: pytest.MonkeyPatch) -> NB101Space:
    monkeypatch.setenv("NASWOT_RAY_CACHE", str(shared_cache))
    monkeypatch.setenv("NASWOT_RAY_NB101_MAX_VERTICES", "5")
    return NB101Space()


def test_registered_and_lazy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASWOT_RAY_CACHE", str(tmp_path))
    monkeypatch.setenv("NASWOT_RAY_NB101_MAX_VERTICES", "5")
    space = NB101Space()
    assert "nb101" in SPACES
    assert space.size == 2_532 and space.max_vertices == 5
    assert NB101Space(max_vertices=7).size == 423_624
    assert not list(tmp_path.iterdir())  # constructing reads and writes nothing
    assert space.arch(0)  # first use builds the table
    assert list(tmp_path.glob("nb101_cells_v1_max5.npz"))


def test_get_space_returns_nb101() -> None:
    # get_space caches the object; check only what needs no table
    space = get_space("nb101")
    assert isinstance(space, NB101Space) and space.name == "nb101"
    assert space.size == expected_size(space.max_vertices)
    assert get_space("nasbench101") is space


def test_index_arch_round_trip_in_hash_order(space: NB101Space) -> None:
    hashes = []
    for i in range(0, space.size, 97):
        arch = space.arch(i)
        assert space.index(arch) == i
        assert space.parse_arch(arch) == arch
        hashes.append(space.canonical(arch))
    assert hashes == sorted(hashes)


def test_arch_string_format() -> None:
    assert format_arch(INCEPTION_STORED) == INCEPTION_STORED_ARCH
    assert parse_spec(INCEPTION_STORED_ARCH) == INCEPTION_STORED
    # NB101's long op names, with input and output listed, parse to the same cell
    full_names = INCEPTION_STORED_ARCH.replace("conv3x3", "conv3x3-bn-relu").replace("conv1x1", "conv1x1-bn-relu")
    assert parse_spec(full_names.replace("|", "|input,") + ",output") == INCEPTION_STORED
    assert parse_spec(" 01.00| ") == make_cell([[0, 1], [0, 0]], ["input", "output"])


def test_parse_accepts_unpruned_and_permuted_specs(space: NB101Space) -> None:
    # vertex 3 is a dead end: pruning leaves input -> conv3x3 -> conv1x1 -> output, stored form
    unpruned = "01010.00100.00001.00000.00000|conv3x3,conv1x1,maxpool3x3"
    stored = space.parse_arch(unpruned)
    assert stored == "0100.0010.0001.0000|conv3x3,conv1x1"
    assert space.index(unpruned) == space.index(stored)
    assert space.hash_of(unpruned) == space.hash_of(stored)
    # two parallel branches written in the other order map to the same stored form
    a = space.parse_arch("0110.0001.0001.0000|conv3x3,maxpool3x3")
    b = space.parse_arch("0110.0001.0001.0000|maxpool3x3,conv3x3")
    assert a == b
    # a bare hash of a cell in the space is accepted too
    assert space.parse_arch(space.hash_of(stored)) == stored


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0110.0001", "is not '<rows>|<ops>'"),
        ("01x.001.000|conv3x3", "0/1 digits"),
        ("011.001.000|conv5x5", "unknown NB101 op 'conv5x5'"),
        ("011.001.000|conv3x3,conv3x3", "3 matrix rows but 2 interior ops"),
        ("010.000.000|conv3x3", "no path from input to output"),
        ("011.001.000|conv3x3x", "unknown NB101 op 'conv3x3x'"),
        ("f" * 32, "is not a cell of space 'nb101'"),
    ],
)
def test_bad_arch_strings_raise_one_line_errors(space: NB101Space, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        space.index(text)
    assert "\n" not in str(info.value)


def test_cells_beyond_a_limited_space_are_rejected(space: NB101Space) -> None:
    with pytest.raises(InputError, match="limited to 5 vertices"):
        space.index(format_arch(INCEPTION_README))


def test_mutate_gives_a_different_valid_neighbour(space: NB101Space) -> None:
    rng = np.random.default_rng(7)
    arch = space.arch(1234)
    seen_kinds = set()
    for _ in range(40):
        child = space.mutate(arch, rng)
        assert space.index(child) != space.index(arch)
        parent_cell, child_cell = space.cell(arch), space.cell(child)
        seen_kinds.add("op" if parent_cell.matrix == child_cell.matrix else "edge")
    assert seen_kinds == {"op", "edge"}
    assert space.mutate(arch, np.random.default_rng(3)) == space.mutate(arch, np.random.default_rng(3))


def test_mutate_grows_the_input_output_cell(space: NB101Space) -> None:
    child = space.mutate("01.00|", np.random.default_rng(0))
    assert space.cell(child).num_vertices == 3


def test_build_uses_stored_form_and_stem_option(space: NB101Space) -> None:
    arch = space.arch(5)
    net = space.build(arch, 10)
    assert net.stem[0].out_channels == 128
    small = space.with_options(stem_channels=16)
    assert small is not space and small.stem_channels == 16 and space.stem_channels == 128
    assert small.options_key() == "stem_channels=16,max_vertices=5"
    assert NB101Space(max_vertices=7).options_key() == ""
    net16 = small.build(arch, 10)
    assert net16.stem[0].out_channels == 16
    assert net16(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert net16.cell == space.cell(arch)
    with pytest.raises(InputError, match="stem_channels"):
        space.with_options(stem_channels=0)
    with pytest.raises(InputError, match="no option 'width'"):
        space.with_options(width=3)


def test_build_of_a_relabelled_spec_uses_the_stored_form(space: NB101Space) -> None:
    # labelings are enumerated in product order, so (conv3x3=0, maxpool=2) is found before (2, 0)
    spec = "0110.0001.0001.0000|maxpool3x3,conv3x3"
    assert space.parse_arch(spec) == "0110.0001.0001.0000|conv3x3,maxpool3x3"
    assert format_arch(space.build(spec, 10).cell) == "0110.0001.0001.0000|conv3x3,maxpool3x3"


def test_full_space_hash_of_needs_no_table() -> None:
    space = NB101Space(max_vertices=7, cache_path="/nonexistent/never-built.npz")
    assert space.hash_of(INCEPTION_STORED_ARCH) == INCEPTION_HASH
