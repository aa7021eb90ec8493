"""NDS sweep-file importer: both file layouts, the last-epoch accuracy, and one-line errors."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from naswot_ray.accuracies.importer import import_benchmark, read_benchmark
from naswot_ray.errors import InputError
from naswot_ray.spaces.nds.data import arch_key
from naswot_ray.store import Store
from tests.spaces.nds.records import AMOEBA_NET, AMOEBA_PARAMS, RESNET_NET, record, write_json


def _amoeba_variant(width: int) -> dict:
    net = copy.deepcopy(AMOEBA_NET)
    net["width"] = width
    return net


def test_list_layout(tmp_path: Path) -> None:
    records = [record(AMOEBA_NET, AMOEBA_PARAMS, 123), record(_amoeba_variant(16))]
    records[1]["test_ep_top1"] = [70.0, 40.0, 12.5, 9.75]
    path = write_json(tmp_path / "Amoeba.json", records)
    frame = read_benchmark("nds_amoeba", path).table.to_pandas().sort_values("arch_index")
    assert list(frame["arch_index"]) == [0, 1]
    assert list(frame["accuracy"]) == [80.0, 90.25]  # 100 - last test_ep_top1
    assert list(frame["epochs"]) == [3, 4]
    assert set(frame["dataset"]) == {"cifar10"} and set(frame["split"]) == {"test"}
    assert frame["arch"].iloc[0] == arch_key(AMOEBA_NET)
    assert frame["params"].iloc[0] == AMOEBA_PARAMS and frame["flops"].iloc[0] == 123
    assert frame["params"].isna().iloc[1]


def test_top_mid_layout_keeps_nasWOT_order(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "store"))
    top = record(RESNET_NET)
    other = copy.deepcopy(RESNET_NET)
    other["ws"] = [16, 32, 32, 48]
    mid = record(other)
    mid["test_ep_top1"] = [10.0]
    path = write_json(tmp_path / "ResNet.json", {"top": [top], "mid": [mid]})
    import_benchmark(store, "nds_resnet", path)
    stored = store.read("accuracies").to_pandas().sort_values("arch_index")
    assert list(stored["arch"]) == [arch_key(RESNET_NET), arch_key(other)]  # records = top + mid
    assert list(stored["accuracy"]) == [80.0, 90.0]
    assert set(stored["space"]) == {"nds_resnet"}


def test_bad_nds_files_are_one_line_errors_and_leave_the_store_unchanged(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "store"))
    no_curve = record(AMOEBA_NET)
    del no_curve["test_ep_top1"]
    text_curve = record(AMOEBA_NET)
    text_curve["test_ep_top1"] = ["bad"]
    broken = tmp_path / "Broken.json"
    broken.write_text("{not json")
    cases = [
        (write_json(tmp_path / "NoCurve.json", [no_curve]), "record 0 has no numeric test_ep_top1"),
        (write_json(tmp_path / "TextCurve.json", [text_curve]), "record 0 has no numeric test_ep_top1"),
        (write_json(tmp_path / "Dict.json", {"records": []}), "keys records; expected"),
        (broken, "not valid JSON"),
        (write_json(tmp_path / "ResNet.json", [record(RESNET_NET)]), "does not fit space 'nds_amoeba'"),
    ]
    for path, message in cases:
        with pytest.raises(InputError, match=message) as err:
            import_benchmark(store, "nds_amoeba", path)
        assert "\n" not in str(err.value) and path.name in str(err.value)
    with pytest.raises(InputError, match="use --format official"):
        read_benchmark("nds_amoeba", cases[0][0], fmt="csv")
    with pytest.raises(InputError, match="unknown benchmark 'nds_nothing'"):
        read_benchmark("nds_nothing", cases[0][0])
    assert store.part_files("accuracies") == []
