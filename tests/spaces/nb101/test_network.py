"""Our NB101 network (spaces-spec.md §3.5): channel rule, parameter counts, init, forward."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from torch import nn

from naswot_ray.spaces.nb101 import cache as nb101_cache
from naswot_ray.spaces.nb101.enumeration import first_found_forms
from naswot_ray.spaces.nb101.graph import make_cell
from naswot_ray.spaces.nb101.net import NB101Network, compute_vertex_channels
from tests.spaces.nb101.cells import (
    C1,
    C3,
    INCEPTION_README,
    INCEPTION_STORED,
    NNI_EXAMPLE,
    matrix,
    naslib_records,
    spec,
)


def param_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def meta_count(cell, stem: int = 128, classes: int = 10) -> int:
    with torch.device("meta"):  # shapes only: fast, no memory, no random draws
        return param_count(NB101Network(cell, classes, stem_channels=stem))


def test_recorded_parameter_counts() -> None:
    torch.manual_seed(0)
    assert param_count(NB101Network(INCEPTION_STORED, 10)) == 2_694_282
    assert param_count(NB101Network(NNI_EXAMPLE, 10)) == 8_555_530
    assert meta_count(INCEPTION_STORED) == 2_694_282


def test_vertex_channel_examples() -> None:
    four = matrix(6, [(0, 1), (0, 2), (0, 3), (0, 4), (1, 5), (2, 5), (3, 5), (4, 5)])
    assert compute_vertex_channels(128, 128, four) == [128, 32, 32, 32, 32, 128]
    three = matrix(5, [(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 4)])
    assert compute_vertex_channels(128, 128, three) == [128, 43, 43, 42, 128]
    assert compute_vertex_channels(128, 256, three) == [128, 86, 85, 85, 256]
    assert compute_vertex_channels(16, 32, matrix(2, [(0, 1)])) == [16, 32]


def test_vertices_off_the_output_take_their_widest_successor() -> None:
    # only 2 and 3 feed the output (64 + 63 = 127); vertex 1 feeds both and takes the wider, 64
    m = matrix(5, [(0, 1), (1, 2), (1, 3), (2, 4), (3, 4)])
    assert compute_vertex_channels(128, 127, m) == [128, 64, 64, 63, 127]
    # a chain: every interior vertex gets the output's full width
    chain = matrix(4, [(0, 1), (1, 2), (2, 3)])
    assert compute_vertex_channels(64, 128, chain) == [64, 128, 128, 128]


def test_truncation_by_one_channel_runs() -> None:
    # vertex 1 (64) feeds vertex 3 (63): the forward truncates the first 63 channels
    cell = spec(5, [(0, 1), (1, 2), (1, 3), (2, 4), (3, 4)], [C3, C1, C1])
    net = NB101Network(cell, 10, stem_channels=127 // 2)
    assert net.layers[0].vertex_channels == [63, 32, 32, 31, 63]
    out = net(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_forward_shapes_and_logits_only() -> None:
    torch.manual_seed(0)
    net = NB101Network(INCEPTION_STORED, 10, stem_channels=16)
    x = torch.randn(2, 3, 32, 32)
    features = net.forward_before_global_avg_pool(x)
    assert features.shape == (2, 64, 8, 8)
    logits = net(x)
    assert isinstance(logits, torch.Tensor) and logits.shape == (2, 10)
    torch.testing.assert_close(logits, net.classifier(features.mean(dim=(2, 3))))


def test_input_to_output_only_cell_is_a_projection() -> None:
    net = NB101Network(spec(2, [(0, 1)], []), 5, stem_channels=8)
    cell = net.layers[0]
    assert list(cell.projections) == ["1"] and len(cell.vertex_ops) == 0
    assert net(torch.randn(1, 3, 8, 8)).shape == (1, 5)


def test_naswot_reinitialisation() -> None:
    torch.manual_seed(0)
    net = NB101Network(NNI_EXAMPLE, 10, stem_channels=16)
    conv = net.stem[0]
    assert conv.bias is None
    expected_std = math.sqrt(2.0 / (3 * 3 * 16))
    assert abs(conv.weight.std().item() - expected_std) / expected_std < 0.15
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.all(m.weight == 1) and torch.all(m.bias == 0) for m in bns)
    assert torch.all(net.classifier.bias == 0)
    assert abs(net.classifier.weight.std().item() - 0.01) < 0.003
    # same seed, same weights: construction + re-init draw in a fixed order
    torch.manual_seed(0)
    again = NB101Network(NNI_EXAMPLE, 10, stem_channels=16)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), again.parameters()))


def test_module_order_is_stem_cells_classifier() -> None:
    net = NB101Network(INCEPTION_README, 10, stem_channels=16)
    names = [name for name, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert names[0] == "stem.0" and names[-1] == "classifier"
    first_cell = [n for n in names if n.startswith("layers.0.")]
    # interior ops in vertex order (maxpool has none), then the input projections in vertex order
    assert first_cell == [
        "layers.0.vertex_ops.0.0",
        "layers.0.vertex_ops.1.0",
        "layers.0.vertex_ops.2.0",
        "layers.0.vertex_ops.3.0",
        "layers.0.projections.1.0",
        "layers.0.projections.2.0",
        "layers.0.projections.3.0",
        "layers.0.projections.5.0",
    ]
    assert isinstance(net.layers[3], nn.MaxPool2d) and isinstance(net.layers[7], nn.MaxPool2d)


# -- NASLib's 500 real NB101 cells ---------------------------------------------------------------------
def test_naslib_cells_parameter_counts_seeded_sample() -> None:
    """NASLib counted parameters on each pruned spec as given; a seeded 50 here, all 500 in the benchmark."""
    records = naslib_records()
    assert len(records) == 500
    rng = np.random.default_rng(101)
    for i in rng.choice(len(records), size=50, replace=False):
        m, ops, params_m = records[int(i)]
        assert abs(meta_count(make_cell(m, ops)) / 1e6 - params_m) <= 1e-6


def test_naslib_cells_hash_into_the_space() -> None:
    cells = [make_cell(m, ops) for m, ops, _ in naslib_records()]
    hashes = [c.module_hash() for c in cells]
    assert all(re.fullmatch(r"[0-9a-f]{32}", h) for h in hashes)
    # the stored form of each cell is found without the full table and hashes the same
    stored = first_found_forms(cells)
    assert [c.module_hash() for c in stored] == hashes
    full = nb101_cache._read(nb101_cache.default_cache_path(), 7)  # never builds in a test
    if full is None:
        pytest.skip("full NB101 cache not present; run benchmarks/nb101_enumeration.py --write-cache")
    for h, form in zip(hashes, stored):
        index = full.index_of_hash(h)
        assert index is not None and full.cell_at(index) == form
