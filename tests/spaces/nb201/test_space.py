"""NB201 space behaviour: mutation, sampling, string validation and the equivalence keys."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space
from naswot_ray.spaces.nb201.space import NB201Space, nb201_arch_table
from naswot_ray.spaces.nb201.cell import format_cell, functional_key, parse_cell, unique_topology_key

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
NATS_TSS_CSV = SHARED / "nb201-nats-tss-200ep-test" / "nats_bench.csv"


@pytest.fixture(scope="module")
def space() -> NB201Space:
    return NB201Space()


def test_registered_metadata() -> None:
    space = get_space("nb201")
    assert isinstance(space, NB201Space)
    assert (space.name, space.size, space.input_size) == ("nb201", 15_625, 32)


def test_mutation_changes_exactly_one_edge(space: NB201Space) -> None:
    rng = np.random.default_rng(0)
    for index in rng.integers(0, space.size, size=300):
        arch = space.arch(int(index))
        child = space.mutate(arch, rng)
        before, after = parse_cell(arch), parse_cell(child)
        assert sum(a != b for a, b in zip(before, after)) == 1
        assert 0 <= space.index(child) < space.size


def test_mutation_reaches_every_neighbour(space: NB201Space) -> None:
    arch = space.arch(9930)
    rng = np.random.default_rng(1)
    assert len({space.mutate(arch, rng) for _ in range(1500)}) == 6 * 4


def test_mutation_is_seeded(space: NB201Space) -> None:
    arch = space.arch(0)
    first = [space.mutate(arch, np.random.default_rng(3)) for _ in range(3)]
    assert len(set(first)) == 1


def test_sampling_is_deterministic_per_seed(space: NB201Space) -> None:
    a = space.sample(np.random.default_rng(42), 1000)
    b = space.sample(np.random.default_rng(42), 1000)
    c = space.sample(np.random.default_rng(43), 1000)
    assert a == b
    assert a != c
    assert all(0 <= i < 15_625 for i in a)
    assert len(set(a)) < 1000  # with replacement (Algorithm 1): repeats occur
    assert all(isinstance(i, int) for i in a)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "'nor_conv_5x5'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "source '1'"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "expected 2"),
        ("|none~0|+|none~0|none~1|", "expected 3"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|none~3|", "expected 3"),
        ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "'none0'"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "wrapped"),
        ("", "node groups"),
    ],
)
def test_malformed_strings_raise_one_line_input_error(space: NB201Space, text: str, needle: str) -> None:
    for call in (space.parse_arch, space.index, space.canonical):
        with pytest.raises(InputError) as caught:
            call(text)
        message = str(caught.value)
        assert needle in message
        assert "\n" not in message
    with pytest.raises(InputError, match="valid ops: none, skip_connect"):
        space.parse_arch("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_non_string_arch_raises(space: NB201Space) -> None:
    with pytest.raises(InputError):
        space.index(5)  # type: ignore[arg-type]


def test_parse_format_round_trip(space: NB201Space) -> None:
    for index in range(0, 15_625, 97):
        arch = space.arch(index)
        assert format_cell(parse_cell(arch)) == arch
        assert space.parse_arch(arch) == arch


def test_build_through_space(space: NB201Space) -> None:
    net = space.build(space.arch(5), 10)
    assert sum(p.numel() for p in net.parameters()) > 0


def test_canonical_examples(space: NB201Space) -> None:
    # x + avg(x) written two ways: via node 1, or via node 2 with a zero edge in between.
    a = "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|none~2|"
    b = "|none~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|none~1|skip_connect~2|"
    assert functional_key(parse_cell(a)) == functional_key(parse_cell(b)) == "avg_pool_3x3(x)+x"
    # The NB201 key keeps the zero term of node 2, so these two stay apart (as in the paper's 6,466).
    assert space.canonical(a) != space.canonical(b)
    # Summation order inside a node does not matter for either key: conv1x1(x) + conv3x3(x) + 0.
    c = "|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|skip_connect~1|none~2|"
    d = "|nor_conv_1x1~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|"
    assert space.canonical(c) == space.canonical(d)
    assert functional_key(parse_cell(c)) == functional_key(parse_cell(d))
    # Swapping nodes 1 and 2 (no 2<-1 edge): the same network, but the NB201 key only agrees when the
    # zero term of node 2 and the pass-through of multi-term nodes do not change the sorted string.
    e = "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|skip_connect~2|"
    f = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|skip_connect~2|"
    assert functional_key(parse_cell(e)) == functional_key(parse_cell(f))
    assert space.canonical(e) != space.canonical(f)
    # An output fed only by zeros.
    assert functional_key(parse_cell("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")) == "zero"


def test_canonical_key_counts() -> None:
    cells = [parse_cell(arch) for arch in nb201_arch_table()]
    unique = defaultdict(set)
    for ops in cells:
        unique[unique_topology_key(ops)].add(functional_key(ops))
    assert len(unique) == 6_466  # NB201 paper: 6,466 unique topologies
    functional = {key for keys in unique.values() for key in keys}
    assert len(functional) == 4_930
    assert all(len(keys) == 1 for keys in unique.values())  # the functional key only merges NB201 classes


def test_functional_key_invariant_under_swapping_nodes_1_and_2() -> None:
    # Without an edge 2<-1, nodes 1 and 2 are interchangeable: swap their input ops and output ops.
    for arch in nb201_arch_table():
        o10, o20, o21, o30, o31, o32 = parse_cell(arch)
        if o21 != "none":
            continue
        swapped = (o20, o10, "none", o30, o32, o31)
        assert functional_key(swapped) == functional_key((o10, o20, o21, o30, o31, o32))


def test_canonical_equals_published_unique_strings(space: NB201Space) -> None:
    if not NATS_TSS_CSV.exists():
        pytest.skip(f"shared data not found at {NATS_TSS_CSV}")
    with NATS_TSS_CSV.open(newline="") as handle:
        rows = [(row["ArchitectureString"], row["UniqueString"]) for row in csv.DictReader(handle)]
    assert len(rows) == 15_625
    ours = {arch: space.canonical(arch) for arch, _ in rows}
    # Same partition of the 15,625 cells ...
    theirs_to_ours: dict[str, set[str]] = defaultdict(set)
    ours_to_theirs: dict[str, set[str]] = defaultdict(set)
    for arch, published in rows:
        theirs_to_ours[published].add(ours[arch])
        ours_to_theirs[ours[arch]].add(published)
    assert len(theirs_to_ours) == len(ours_to_theirs) == 6_466
    assert all(len(v) == 1 for v in theirs_to_ours.values())
    assert all(len(v) == 1 for v in ours_to_theirs.values())
    # ... and in fact the very same strings.
    assert all(ours[arch] == published for arch, published in rows)
