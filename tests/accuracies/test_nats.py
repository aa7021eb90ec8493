"""NATS-Bench importers (TSS and SSS) on tiny files in the three official layouts: directory, .tar, one file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from naswot_ray.accuracies.importer import import_benchmark, read_benchmark
from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space
from naswot_ray.store import Store
from tests.accuracies.official_files import (expected_mean, tar_directory, write_nats_archive_file,
                                             write_nats_directory)

pytest.importorskip("nats_bench", reason="the nats_bench package (extra 'benchmarks') is not installed")


def _meta(space_name: str) -> list[str]:
    space = get_space(space_name)
    return [space.arch(i) for i in range(space.size)]


@pytest.fixture(scope="module")
def tss_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nats") / "NATS-tss-v1_0-3ffb9-simple"
    return write_nats_directory(root, _meta("nb201"), [1, 9930], (12, 200))


def test_tss_directory(tss_dir: Path) -> None:
    result = read_benchmark("nats_tss", tss_dir)
    frame = result.table.to_pandas()
    assert result.space == "nb201" and sorted(frame["arch_index"].unique()) == [1, 9930]
    assert set(frame["epochs"]) == {12, 200}
    row = frame[(frame.arch_index == 1) & (frame.dataset == "ImageNet16-120") & (frame.split == "x-valid")
                & (frame.epochs == 12)].iloc[0]
    assert row["accuracy"] == pytest.approx(expected_mean(1, "ImageNet16-120", "x-valid", 12))
    assert row["source"].startswith("NATS-tss-v1_0-3ffb9-simple/ sha256:")


def test_tss_tar_and_single_file_give_the_same_rows(tmp_path: Path, tss_dir: Path) -> None:
    archive = tar_directory(tss_dir, tmp_path / "NATS-tss-v1_0-3ffb9-simple.tar")
    single = write_nats_archive_file(tmp_path / "NATS-tss-v1_0-3ffb9-full", _meta("nb201"), [1, 9930], (12, 200))
    reference = read_benchmark("nats_tss", tss_dir).table.to_pandas()
    for source in (archive, single):
        frame = read_benchmark("nats_tss", source).table.to_pandas()
        keys = ["arch_index", "dataset", "split", "epochs"]
        left = frame.sort_values(keys).reset_index(drop=True)
        right = reference.sort_values(keys).reset_index(drop=True)
        assert left[keys + ["accuracy", "params"]].equals(right[keys + ["accuracy", "params"]])
        assert frame["source"].iloc[0].startswith(source.name + " sha256:")


def test_sss_directory_budgets(tmp_path: Path) -> None:
    root = write_nats_directory(tmp_path / "NATS-sss-v1_0-50262-simple", _meta("nats_sss"), [0, 32767], (1, 12, 90))
    store = Store(str(tmp_path / "store"))
    result = import_benchmark(store, "nats_sss", root)
    frame = store.read("accuracies").to_pandas()
    assert result.space == "nats_sss" and set(frame["epochs"]) == {1, 12, 90}
    assert set(frame["arch"]) == {"8:8:8:8:8", "64:64:64:64:64"}
    row = frame[(frame.arch_index == 32767) & (frame.dataset == "cifar10") & (frame.split == "ori-test")
                & (frame.epochs == 90)].iloc[0]
    assert row["accuracy"] == pytest.approx(expected_mean(32767, "cifar10", "ori-test", 90))


def test_bad_nats_sources_are_one_line_errors_and_leave_the_store_unchanged(tmp_path: Path, tss_dir: Path) -> None:
    store = Store(str(tmp_path / "store"))
    empty = tmp_path / "empty"
    empty.mkdir()
    corrupt_dir = tmp_path / "corrupt"
    shutil.copytree(tss_dir, corrupt_dir)
    (corrupt_dir / "009930.pickle.pbz2").write_bytes(b"garbage")
    no_archs = tmp_path / "no-archs"
    no_archs.mkdir()
    shutil.copy(tss_dir / "meta.pickle.pbz2", no_archs / "meta.pickle.pbz2")
    outside = tmp_path / "outside"
    shutil.copytree(tss_dir, outside)
    shutil.copy(outside / "000001.pickle.pbz2", outside / "020000.pickle.pbz2")
    garbage_file = tmp_path / "garbage.pickle.pbz2"
    garbage_file.write_bytes(b"not bz2")
    cases = [
        ("nats_tss", empty, "has no meta.pickle.pbz2"),
        ("nats_tss", corrupt_dir, "009930.pickle.pbz2 cannot be read"),
        ("nats_tss", no_archs, "has no <index>.pickle.pbz2 files"),
        ("nats_tss", outside, "020000.pickle.pbz2 is architecture 20000, outside space 'nb201'"),
        ("nats_tss", garbage_file, "cannot be read by the nats_bench API"),
        ("nats_sss", tss_dir, "meta_archs lists 15625 architectures but space 'nats_sss' has 32768"),
        ("nats_tss", tmp_path / "nowhere", "not found"),
    ]
    for kind, source, message in cases:
        with pytest.raises(InputError, match=message) as err:
            import_benchmark(store, kind, source)
        assert "\n" not in str(err.value) and source.name in str(err.value)
        assert "expected" in str(err.value)
    assert store.part_files("accuracies") == []
