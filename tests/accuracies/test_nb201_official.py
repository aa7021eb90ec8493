"""The official NAS-Bench-201 .pth importer, on a tiny file in the official layout (3 architectures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from naswot_ray.accuracies.importer import import_benchmark, read_benchmark
from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space
from naswot_ray.store import Store
from tests.accuracies.official_files import EPOCH_SECONDS, FLOPS_M, PARAMS_M, expected_mean, write_nb201_pth

pytest.importorskip("nas_201_api", reason="the nas-bench-201 package (extra 'benchmarks') is not installed")

INDICES = [0, 5, 9930]


@pytest.fixture(scope="module")
def meta_archs() -> list[str]:
    space = get_space("nb201")
    return [space.arch(i) for i in range(space.size)]


@pytest.fixture(scope="module")
def pth(tmp_path_factory: pytest.TempPathFactory, meta_archs: list[str]) -> Path:
    return write_nb201_pth(tmp_path_factory.mktemp("nb201") / "NAS-Bench-201-v1_1-096897.pth", meta_archs, INDICES)


def test_every_budget_dataset_and_split_is_imported(pth: Path, meta_archs: list[str]) -> None:
    result = read_benchmark("nb201", pth)
    frame = result.table.to_pandas()
    assert sorted(frame["arch_index"].unique()) == INDICES
    # 13 (dataset, split) pairs incl. train, for both budgets
    assert len(frame) == len(INDICES) * 2 * 13
    assert set(frame["epochs"]) == {12, 200}
    row = frame[(frame.arch_index == 9930) & (frame.dataset == "cifar10-valid") & (frame.split == "ori-test")
                & (frame.epochs == 200)].iloc[0]
    assert row["accuracy"] == pytest.approx(expected_mean(9930, "cifar10-valid", "ori-test", 200))
    assert row["arch"] == meta_archs[9930]
    assert row["params"] == pytest.approx(PARAMS_M * 1e6) and row["flops"] == pytest.approx(FLOPS_M * 1e6)
    assert row["train_seconds"] == pytest.approx(200 * EPOCH_SECONDS)
    assert row["source"].startswith("NAS-Bench-201-v1_1-096897.pth sha256:")
    train = frame[(frame.arch_index == 5) & (frame.split == "train") & (frame.dataset == "cifar100") & (frame.epochs == 12)]
    assert train["accuracy"].iloc[0] == pytest.approx(expected_mean(5, "cifar100", "train", 12))


def test_import_writes_one_part_and_reads_back(tmp_path: Path, pth: Path) -> None:
    store = Store(str(tmp_path / "store"))
    result = import_benchmark(store, "nb201", pth)
    assert result.written is not None and len(store.part_files("accuracies")) == 1
    stored = store.read("accuracies", "split = 'x-test' AND dataset = 'ImageNet16-120' AND epochs = 200")
    assert stored.num_rows == len(INDICES)


def _write(path: Path, payload: object) -> Path:
    import torch

    torch.save(payload, path)
    return path


def test_wrong_layouts_are_one_line_errors_and_leave_the_store_unchanged(tmp_path: Path, meta_archs: list[str]) -> None:
    store = Store(str(tmp_path / "store"))
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"this is not a torch file")
    cases = {
        corrupt: "not a readable torch file",
        _write(tmp_path / "list.pth", [1, 2, 3]): "holds list; expected a NAS-Bench-201 .pth",
        _write(tmp_path / "keys.pth", {"archs": []}): "holds archs; expected",
        _write(tmp_path / "short.pth", {"meta_archs": meta_archs[:10], "arch2infos": {}, "evaluated_indexes": []}):
            "lists 10 architectures but space 'nb201' has 15625",
        _write(tmp_path / "order.pth", {"meta_archs": meta_archs[1:] + meta_archs[:1], "arch2infos": {0: {}},
                                        "evaluated_indexes": []}): "meta_archs\\[0\\] is",
        _write(tmp_path / "records.pth", {"meta_archs": meta_archs, "arch2infos": {3: {"full": {"bogus": 1}}},
                                          "evaluated_indexes": [3]}): "arch2infos\\[3\\]\\[.full.\\] is not an ArchResults state",
        _write(tmp_path / "trials.pth", {"meta_archs": meta_archs, "evaluated_indexes": [3], "arch2infos": {
            3: {"full": {"arch_index": 3, "arch_str": meta_archs[3], "all_results": {},
                         "dataset_seed": {"cifar10": [777]}, "clear_net_done": False}}}}):
            "architecture 3 \\(200 epochs\\) cannot be read \\(KeyError",
        tmp_path / "missing.pth": "not found",
    }
    for path, message in cases.items():
        with pytest.raises(InputError, match=message) as err:
            import_benchmark(store, "nb201", path)
        text = str(err.value)
        assert "\n" not in text and path.name in text
    assert store.part_files("accuracies") == []


def test_pickled_objects_need_trust(tmp_path: Path, meta_archs: list[str]) -> None:
    import torch

    path = tmp_path / "objects.pth"
    torch.save({"meta_archs": meta_archs, "arch2infos": {0: {"full": Path("x")}}, "evaluated_indexes": []}, path)
    with pytest.raises(InputError, match="--trust-pickle"):
        read_benchmark("nb201", path)
    with pytest.raises(InputError, match="is not an ArchResults state"):
        read_benchmark("nb201", path, trust_pickle=True)
