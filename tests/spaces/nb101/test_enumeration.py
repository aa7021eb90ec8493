"""NB101 enumeration (spaces-spec.md §3.4) and the cell cache, on the V <= 5 part (2,532 cells)."""

from __future__ import annotations

import itertools
import os
from multiprocessing.pool import ThreadPool
from pathlib import Path

import numpy as np
import pytest

from naswot_ray.errors import InputError
from naswot_ray.spaces.nb101 import cache as nb101_cache, enumeration as nb101_enumeration
from naswot_ray.spaces.nb101.cache import build_nb101_cache, default_cache_path, load_nb101_table
from naswot_ray.spaces.nb101.enumeration import (
    enumerate_cells,
    enumerate_reference,
    enumerate_vertex_count,
    expected_size,
    first_found_forms,
    full_dag_bits,
)
from naswot_ray.spaces.nb101.graph import Cell, cell_from_labels, make_cell
from tests.spaces.nb101.cells import INCEPTION_HASH, INCEPTION_README, INCEPTION_STORED, NNI_EXAMPLE


@pytest.fixture(scope="module")
def small_groups():
    return enumerate_cells(5)


def test_counts_per_vertex_count(small_groups) -> None:
    assert [(g.num_vertices, len(g)) for g in small_groups] == [(2, 1), (3, 6), (4, 84), (5, 2_441)]
    assert expected_size(5) == 2_532
    assert expected_size() == 423_624


def test_fast_enumeration_equals_the_literal_algorithm(small_groups) -> None:
    fast = [
        (h, g.num_vertices, int(b), tuple(int(x) for x in labels))
        for g in small_groups
        for h, b, labels in zip(g.hashes, g.bits, g.labels)
    ]
    assert fast == enumerate_reference(5)


def test_labeled_graph_counts_match_spec() -> None:
    # cumulative labeled graphs enumerated: 1, 7, 97, 3,364, 128,509 (spaces-spec §3.4 table)
    cumulative = np.cumsum([len(full_dag_bits(n)) * 3 ** (n - 2) for n in range(2, 7)])
    assert cumulative.tolist() == [1, 7, 97, 3_364, 128_509]


def test_enumerated_records_hash_to_their_key(small_groups) -> None:
    for g in small_groups:
        for h, b, labels in list(zip(g.hashes, g.bits, g.labels))[:200]:
            assert cell_from_labels(int(b), g.num_vertices, labels.tolist()).module_hash() == h


def test_pooled_hashing_merges_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # a thread pool has the process pool's imap API, so this checks the ordered merge cheaply;
    # the spawn-started process pool itself runs in benchmarks/nb101_enumeration.py
    monkeypatch.setattr(nb101_enumeration, "_MIN_CELLS_FOR_POOL", 0)
    monkeypatch.setattr(nb101_enumeration, "_HASH_BLOCK", 50)
    serial = enumerate_vertex_count(5)
    with ThreadPool(2) as pool:
        pooled = enumerate_vertex_count(5, pool)
    assert pooled.hashes == serial.hashes
    assert np.array_equal(pooled.bits, serial.bits) and np.array_equal(pooled.labels, serial.labels)


def test_first_found_form_of_inception_like_cell() -> None:
    stored, nni_stored = first_found_forms([INCEPTION_README, NNI_EXAMPLE])
    assert stored == INCEPTION_STORED  # exactly what NASBench.ipynb prints for that query
    assert stored.module_hash() == INCEPTION_HASH
    assert nni_stored.module_hash() == NNI_EXAMPLE.module_hash()
    assert first_found_forms([INCEPTION_STORED]) == [INCEPTION_STORED]


def _relabel(cell: Cell, rng: np.random.Generator) -> Cell | None:
    """The same cell with its interior vertices renumbered in another topological order, if any."""
    n = cell.num_vertices
    others = []
    for interior in itertools.permutations(range(1, n - 1)):
        order = [0, *interior, n - 1]
        m = [[cell.matrix[a][b] for b in order] for a in order]
        if all(not m[a][b] for a in range(n) for b in range(a + 1)):
            other = make_cell(m, [cell.ops[v] for v in order])
            if other != cell:  # skips automorphisms as well as the identity
                others.append(other)
    return others[int(rng.integers(len(others)))] if others else None


def test_first_found_forms_match_enumeration(small_groups) -> None:
    rng = np.random.default_rng(0)
    g = small_groups[-1]
    stored, relabelled, hashes = [], [], []
    for i in rng.permutation(len(g)):
        cell = cell_from_labels(int(g.bits[i]), 5, g.labels[i].tolist())
        other = _relabel(cell, rng)
        if other is not None:
            stored.append(cell)
            relabelled.append(other)
            hashes.append(g.hashes[i])
        if len(stored) == 25:
            break
    assert all(a != b for a, b in zip(stored, relabelled))
    assert [c.module_hash() for c in relabelled] == hashes
    assert first_found_forms(relabelled) == stored


def test_bad_arguments_raise_input_errors() -> None:
    with pytest.raises(InputError, match="max_vertices 8"):
        enumerate_cells(8)
    with pytest.raises(InputError, match="workers 0"):
        enumerate_cells(3, workers=0)


# -- cache -----------------------------------------------------------------------------------------
def test_cache_round_trip(tmp_path: Path, small_groups) -> None:
    path = build_nb101_cache(tmp_path / "cells.npz", max_vertices=5)
    assert path.exists() and not list(tmp_path.glob("*.tmp"))
    table = load_nb101_table(5, path=path)
    assert len(table) == 2_532
    hashes = [table.hash_at(i) for i in range(len(table))]
    assert hashes == sorted(h for g in small_groups for h in g.hashes)
    for i in range(0, len(table), 7):
        assert table.cell_at(i).module_hash() == hashes[i]
        assert table.index_of_hash(hashes[i]) == i
    assert table.index_of_hash(INCEPTION_HASH) is None  # a 7-vertex cell


def test_cache_directory_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASWOT_RAY_CACHE", str(tmp_path))
    assert default_cache_path() == tmp_path / "nb101_cells_v1.npz"
    assert default_cache_path(4) == tmp_path / "nb101_cells_v1_max4.npz"
    table = load_nb101_table(4)  # builds on first use
    assert len(table) == 91 and default_cache_path(4).exists()
    assert load_nb101_table(4) is table  # memoised in-process


def test_unreadable_cache_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a zip file")
    table = load_nb101_table(3, path=path)
    assert len(table) == 7
    assert nb101_cache._read(path, 3) is not None
    assert nb101_cache._read(path, 4) is None  # a table for another size is never used
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_a_build_with_progress_shows_its_own_bar_of_cells(tmp_path: Path, capsys) -> None:
    """The first use of NB101 builds the table for minutes; with progress it says so on stderr, cell by cell."""
    path = tmp_path / "cells.npz"
    assert not nb101_cache.is_cached(5, path)
    hashed: list[int] = []
    nb101_enumeration.enumerate_cells(4, on_hashed=hashed.append)
    assert sum(hashed) == 91  # every cell of V <= 4 reported once
    table = load_nb101_table(5, path=path, progress=True)
    err = capsys.readouterr().err
    assert "building the NB101 cell table" in err and "2.53k/2.53k" in err
    assert len(table) == 2_532 and nb101_cache.is_cached(5, path)
    build_nb101_cache(tmp_path / "quiet.npz", max_vertices=4)
    assert capsys.readouterr().err == ""  # no bar unless asked (scorer processes build quietly)
