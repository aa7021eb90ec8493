"""TE-NAS pruning search: ranking by hand, the supernet's mixed edges, pruned ops dropping out, a whole run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from naswot_ray.errors import InputError
from naswot_ray.search import SearchOptions, get_algorithm
from naswot_ray.search.tenas import (DEFAULTS, Candidate, TenasData, choose_prunes, dense_ranks, evaluate_candidate,
                                     parse_params, round_significant, tenas_prune)
from naswot_ray.search.tenas_supernet import SuperCell, SuperNetwork, full_mask, is_single_path, mask_cell, without
from naswot_ray.spaces import get_space
from naswot_ray.spaces.nb201.cell import parse_cell
from naswot_ray.spaces.nb201.net import build_nb201_network
from naswot_ray.spaces.nb201.ops import NB201_OPS

SKIP, NONE, CONV3 = NB201_OPS.index("skip_connect"), NB201_OPS.index("none"), NB201_OPS.index("nor_conv_3x3")


def test_round_significant_and_dense_ranks_by_hand() -> None:
    assert round_significant(0.012345, 3) == pytest.approx(0.0123)
    assert round_significant(-123456.0, 3) == pytest.approx(-123000.0)
    assert round_significant(0.0, 3) == 0.0
    assert dense_ranks([0.5, 0.2, 0.5, 0.1], descending=True) == [0, 1, 0, 2]
    assert dense_ranks([0.5, 0.2, 0.5, 0.1], descending=False) == [2, 1, 2, 0]


def test_choose_prunes_by_rank_sum_per_edge() -> None:
    candidates = [
        Candidate(0, 1, d_kappa=0.30, d_regions=0.10),   # kappa rank 0, regions rank 2 -> 2
        Candidate(0, 2, d_kappa=0.10, d_regions=-0.05),  # kappa rank 2, regions rank 0 -> 2 (tie: kappa rank 0 wins)
        Candidate(0, 3, d_kappa=0.20, d_regions=0.20),   # 1 + 3 = 4
        Candidate(1, 1, d_kappa=0.20, d_regions=0.00),   # 1 + 1 = 2: best on edge 1
        Candidate(1, 4, d_kappa=-0.50, d_regions=0.00),  # 3 + 1 = 4
    ]
    assert choose_prunes(candidates) == {0: 1, 1: 1}
    # 3 significant digits: 0.30004 and 0.3 tie in kappa, so edge 0 then goes to the lower op index among equals
    tied = [Candidate(0, 3, 0.30004, 0.0), Candidate(0, 2, 0.3, 0.0)]
    assert choose_prunes(tied) == {0: 2}


def test_mixed_edges_average_the_alive_ops() -> None:
    # every edge keeps skip and none: edge = (x + 0) / 2, so node1 = x/2, node2 = x/2 + x/4 = 3x/4,
    # node3 = x/2 + x/4 + 3x/8 = 9x/8
    cell = SuperCell(2, 2)
    mask = tuple(tuple(op in (SKIP, NONE) for op in range(len(NB201_OPS))) for _ in range(6))
    x = torch.randn(1, 2, 4, 4)
    assert torch.allclose(cell(x, mask), 9 * x / 8)


def test_single_path_supernet_equals_the_benchmark_network_with_the_same_weights() -> None:
    arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    ops = parse_cell(arch)
    mask = tuple(tuple(o == NB201_OPS.index(op) for o in range(len(NB201_OPS))) for op in ops)
    assert is_single_path(mask) and mask_cell(mask) == arch
    torch.manual_seed(0)
    supernet = SuperNetwork(3, 1, 10).set_mask(mask).train()
    net = build_nb201_network(arch, 10, C=3, N=1).train()
    with torch.no_grad():
        net.stem.load_state_dict(supernet.stem.state_dict())
        for mine, theirs in zip(net.cells, supernet.cells):
            if isinstance(theirs, SuperCell):
                for k, op in enumerate(ops):
                    mine.edges[k].load_state_dict(theirs.edges[k][NB201_OPS.index(op)].state_dict())
            else:
                mine.load_state_dict(theirs.state_dict())
        net.lastact.load_state_dict(supernet.lastact.state_dict())
        net.classifier.load_state_dict(supernet.classifier.state_dict())
    x = torch.randn(4, 3, 8, 8)
    assert torch.allclose(supernet(x), net(x), atol=1e-6)


def test_pruned_ops_do_not_run_and_get_no_gradient() -> None:
    net = SuperNetwork(1, 1, 2, stem=False, input_channels=1, depth=1).train()
    assert len(net.cells) == 1  # TE-NAS's thin network: one cell, no stem
    mask = without(full_mask(), 0, CONV3)
    net.set_mask(mask)(torch.randn(4, 1, 3, 3)).sum().backward()
    pruned_conv = net.cells[0].edges[0][CONV3].op[1]
    alive_conv = net.cells[0].edges[1][CONV3].op[1]
    assert pruned_conv.weight.grad is None and alive_conv.weight.grad is not None
    with pytest.raises(ValueError, match="mask is 6 x 5 booleans"):
        net.set_mask(((True,),))


def test_ntk_batch_crops_and_pads() -> None:
    data = TenasData(torch.full((5, 3, 8, 8), 2.0), torch.tensor([-1.0, -1.0, -1.0]), 10)
    batch = data.ntk_batch(np.random.default_rng(0), 4)
    assert batch.shape == (4, 3, 8, 8)
    assert set(batch.unique().tolist()) <= {2.0, -1.0} and (batch == 2.0).float().mean() >= (4 / 8) ** 2
    with pytest.raises(InputError, match="larger than the image pool"):
        data.ntk_batch(np.random.default_rng(0), 6)


def test_a_whole_run_on_tiny_inputs_is_deterministic() -> None:
    gen = torch.Generator().manual_seed(0)
    data = TenasData(torch.randn(12, 3, 4, 4, generator=gen), torch.zeros(3), 10)
    settings = dict(DEFAULTS, batch_size=2, repeats=1)
    cell, history, evaluated = tenas_prune(data, settings, 7, device=torch.device("cpu"))
    assert "none" not in cell and evaluated == 24 + 18 + 12 and len(history) == 3 * 6
    assert get_space("nb201").index(cell) >= 0
    assert tenas_prune(data, settings, 7, device=torch.device("cpu"))[0] == cell


def test_reference_init_keeps_the_weights_kaiming_redraws_them() -> None:
    data = TenasData(torch.randn(6, 3, 4, 4, generator=torch.Generator().manual_seed(1)), torch.zeros(3), 10)
    mask = full_mask()
    for init, changed in (("reference", False), ("kaiming", True)):
        torch.manual_seed(0)
        ntk_net, thin_net = SuperNetwork(3, 1, 10).train(), SuperNetwork(1, 1, 10, stem=False, input_channels=1, depth=1)
        before = [p.detach().clone() for p in (*ntk_net.parameters(), *thin_net.parameters())]
        d_kappa, d_regions = evaluate_candidate(mask, without(mask, 0, CONV3), ntk_net=ntk_net, thin_net=thin_net,
                                                data=data, settings=dict(DEFAULTS, batch_size=2, repeats=1, init=init),
                                                rng=np.random.default_rng(0), gen=torch.Generator().manual_seed(0))
        after = [p.detach() for p in (*ntk_net.parameters(), *thin_net.parameters())]
        assert any(not torch.equal(a, b) for a, b in zip(before, after)) == changed
        assert np.isfinite(d_kappa) and -1.0 <= d_regions <= 1.0


def test_registered_with_its_options() -> None:
    search = get_algorithm("tenas")
    assert search.default_runs == 4 and not search.uses_scores and not search.uses_fitness
    params = search.settings(SearchOptions(extra={"batch_size": "72", "keep_none": "1", "dataset": "random"}))
    assert params == [dict(DEFAULTS, batch_size=72, keep_none=True, dataset="random")]
    assert search.label(params[0]) == "B=72, repeats=3, init=reference, from 5 ops"
    with pytest.raises(InputError, match="unknown --param 'width' for search 'tenas'"):
        search.settings(SearchOptions(extra={"width": "3"}))
    with pytest.raises(InputError, match="--n does not apply to search 'tenas'"):
        search.settings(SearchOptions(n=[10]))
    for extra, message in (({"repeats": "x"}, "must be an integer"), ({"repeats": "0"}, "at least 1"),
                           ({"keep_none": "maybe"}, "must be 0/1"), ({"init": "xavier"}, "valid choices: reference, kaiming"), ({"pool": "8", "batch_size": "16"}, "at least the batch")):
        with pytest.raises(InputError, match=message):
            parse_params(extra)


def test_run_refuses_other_spaces() -> None:
    from naswot_ray.search.base import Domain, SearchProblem

    class Other(nn.Module):
        name = "nats_sss"

    problem = SearchProblem(Domain(Other()), oracle=None)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="prunes the NB201 supernet; space 'nats_sss' is not nb201"):
        get_algorithm("tenas").run(problem, dict(DEFAULTS), 0)
