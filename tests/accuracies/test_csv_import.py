"""CSV import with column mappings: tiny files for every rule, and the shared NB201 tables in one call each."""

from __future__ import annotations

from pathlib import Path

import pytest

from naswot_ray.accuracies import CsvOptions, parse_column_mapping
from naswot_ray.accuracies.importer import import_benchmark, read_benchmark
from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space
from naswot_ray.store import Store
from tests.conftest import shared_path

MERGED_COLUMNS = ["cifar10valid_oritest=cifar10-valid:ori-test:200", "cifar10valid_xvalid=cifar10-valid:x-valid:200",
                  "cifar10_oritest=cifar10:ori-test:200", "cifar100_xtest=cifar100:x-test:200",
                  "imagenet16_xvalid=ImageNet16-120:x-valid:200", "imagenet16_xtest=ImageNet16-120:x-test:200"]


def _options(*mappings: str, **kwargs) -> CsvOptions:
    return CsvOptions([parse_column_mapping(m) for m in mappings], **kwargs)


def _csv(tmp_path: Path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_mapping_syntax() -> None:
    mapping = parse_column_mapping(" c10 = cifar10-valid:x-valid:200 ")
    assert (mapping.csv_name, mapping.target.dataset, mapping.target.split, mapping.target.epochs) == \
        ("c10", "cifar10-valid", "x-valid", 200)
    for bad, message in [("c10", "expected CSV_NAME=DATASET:SPLIT:EPOCHS"), ("c=cifar10:x-valid", "malformed"),
                         ("c=cifar11:x-valid:12", "unknown benchmark dataset 'cifar11'"),
                         ("c=cifar10:val:12", "unknown split 'val'; valid choices"),
                         ("c=cifar10:x-valid:0", "epochs must be a positive")]:
        with pytest.raises(InputError, match=message):
            parse_column_mapping(bad)


def test_arch_column_index_column_and_empty_cells(tmp_path: Path) -> None:
    space = get_space("nb201")
    text = "index,arch_str,acc,params_M\n" + "".join(
        f"{i},{space.arch(i)},{'' if i == 2 else 50 + i},{0.1 * (i + 1)}\n" for i in range(4))
    result = read_benchmark("nb201", _csv(tmp_path, text), fmt="csv",
                            csv_options=_options("acc=cifar100:x-valid:12", params_column="params_M", params_scale=1e6))
    frame = result.table.to_pandas()
    assert list(frame["arch_index"]) == [0, 1, 3]  # the empty cell is skipped, and counted
    assert result.columns() == [("cifar100", "x-valid", 12, 3, 1)]
    assert list(frame["accuracy"]) == [50.0, 51.0, 53.0]
    assert list(frame["params"]) == [100000.0, 200000.0, 400000.0]
    assert list(frame["arch"]) == [space.arch(i) for i in (0, 1, 3)]
    index_only = "arch,acc\n7,60.5\n9930,70\n"  # an all-integer 'arch' column is an index (the 12-epoch table's layout)
    frame = read_benchmark("nb201", _csv(tmp_path, index_only, "idx.csv"), fmt="csv",
                           csv_options=_options("acc=cifar10:ori-test:12")).table.to_pandas()
    assert list(frame["arch"]) == [space.arch(7), space.arch(9930)]


def test_bad_csv_files_are_one_line_errors_and_leave_the_store_unchanged(tmp_path: Path) -> None:
    space = get_space("nb201")
    a0, a1 = space.arch(0), space.arch(1)
    store = Store(str(tmp_path / "store"))
    cases = [
        ("nocol.csv", f"arch_str,acc\n{a0},50\n", _options("nope=cifar10:ori-test:200"), "has no column 'nope'"),
        ("text.csv", f"arch_str,acc\n{a0},50\n{a1},fifty\n", _options("acc=cifar10:ori-test:200"),
         "column 'acc' row 3 holds 'fifty'; expected a number"),
        ("dup.csv", f"arch_str,acc\n{a0},50\n{a0},51\n", _options("acc=cifar10:ori-test:200"),
         "rows 2 and 3 are the same architecture"),
        ("order.csv", f"index,arch_str,acc\n1,{a0},50\n", _options("acc=cifar10:ori-test:200"),
         "not in the space's index order"),
        ("badarch.csv", "arch_str,acc\n|nor_conv_9x9~0|,50\n", _options("acc=cifar10:ori-test:200"), "row 2"),
        ("range.csv", f"arch_str,acc\n{a0},150\n", _options("acc=cifar10:ori-test:200"), "outside 0..100"),
        ("frac.csv", f"arch_str,acc\n{a0},0.5\n", _options("acc=cifar10:ori-test:200"), "--accuracy-scale 100"),
        ("noarch.csv", "name,acc\nx,50\n", _options("acc=cifar10:ori-test:200"), "names no architectures"),
        ("empty.csv", "", _options("acc=cifar10:ori-test:200"), "is empty; expected a CSV"),
        ("index.csv", "index,acc\n15625,50\n", _options("acc=cifar10:ori-test:200"), "outside space 'nb201'"),
    ]
    for name, text, options, message in cases:
        path = _csv(tmp_path, text, name)
        with pytest.raises(InputError, match=message) as err:
            import_benchmark(store, "nb201", path, fmt="csv", csv_options=options)
        assert "\n" not in str(err.value) and name in str(err.value)
    with pytest.raises(InputError, match="no accuracy columns"):
        import_benchmark(store, "nb201", tmp_path / "dup.csv", fmt="csv", csv_options=CsvOptions([]))
    assert store.part_files("accuracies") == []


def test_shared_merged_200_epoch_table_in_one_import(tmp_path: Path) -> None:
    path = shared_path("nb201-merged-200ep/nb201_merged_200ep.csv")
    store = Store(str(tmp_path / "store"))
    result = import_benchmark(store, "nb201", path, fmt="csv",
                              csv_options=_options(*MERGED_COLUMNS, params_column="params_M_cifar10", params_scale=1e6))
    assert result.architectures == 15_625 and result.table.num_rows == 6 * 15_625
    # the file has both index and arch_str: importing at all proves its rows are in our index order
    con = store.connect(tables=("accuracies",))
    row = con.execute("SELECT accuracy, params FROM accuracies WHERE arch_index = 0 AND dataset = 'cifar10-valid' "
                      "AND split = 'ori-test'").fetchall()
    assert row == [(81.52, 129306.0)]


def test_shared_12_epoch_minibench_imports_with_epochs_12(tmp_path: Path) -> None:
    path = shared_path("nb201-minibench-12ep/mini-bench-arch-cell-accs.csv")
    mappings = ["cifar10-val=cifar10-valid:x-valid:12", "cifar10-test=cifar10:ori-test:12",
                "cifar100-val=cifar100:x-valid:12", "cifar100-test=cifar100:x-test:12",
                "imagenet-val=ImageNet16-120:x-valid:12", "imagenet-test=ImageNet16-120:x-test:12"]
    result = read_benchmark("nb201", path, fmt="csv", csv_options=_options(*mappings))
    frame = result.table.to_pandas()
    assert result.architectures == 15_625 and set(frame["epochs"]) == {12}
    assert frame[(frame.dataset == "cifar10") & (frame.split == "ori-test")]["accuracy"].max() == pytest.approx(89.16)


@pytest.mark.parametrize("flag, value", [("params_scale", 0.0), ("flops_scale", -1e6), ("accuracy_scale", 0.0),
                                         ("params_scale", float("nan")), ("accuracy_scale", float("inf"))])
def test_scale_factors_must_be_positive_and_finite(flag: str, value: float) -> None:
    """A zero scale stored every value as 0.0 (params) or was applied as x1 while the provenance said x0 (accuracy)."""
    with pytest.raises(InputError, match=f"--{flag.replace('_', '-')} .* is not a positive finite number"):
        _options("acc=cifar10:ori-test:200", **{flag: value})


def test_accuracy_scale_is_applied_as_recorded_in_the_provenance(tmp_path: Path) -> None:
    space = get_space("nb201")
    text = "arch_str,acc\n" + "".join(f"{space.arch(i)},{0.5 + i / 100}\n" for i in range(3))
    result = read_benchmark("nb201", _csv(tmp_path, text), fmt="csv",
                            csv_options=_options("acc=cifar10:ori-test:200", accuracy_scale=100))
    table = result.table.to_pandas()
    assert list(table["accuracy"]) == pytest.approx([50.0, 51.0, 52.0])
    assert set(table["source"]) == {table["source"][0]} and "accuracy x100" in table["source"][0]
