"""NB101 importers (API-export JSON and CSV) on the V <= 4 part of the space (91 cells) in a temporary cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from naswot_ray.accuracies import CsvOptions, parse_column_mapping
from naswot_ray.accuracies.importer import import_benchmark, read_benchmark
from naswot_ray.errors import InputError
from naswot_ray.spaces.nb101.space import NB101Space
from naswot_ray.store import Store

CELLS = (3, 50)


@pytest.fixture()
def space(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> NB101Space:
    monkeypatch.setenv("NASWOT_RAY_CACHE", str(tmp_path_factory.getbasetemp() / "nb101-cache"))
    monkeypatch.setenv("NASWOT_RAY_NB101_MAX_VERTICES", "4")
    return NB101Space()


def _export(space: NB101Space) -> dict:
    """{hash: [fixed_stats, computed_stats]} as json.dump of the NB101 API's get_metrics_from_hash."""
    payload = {}
    for i, index in enumerate(CELLS):
        cell = space.cell(space.arch(index))
        fixed = {"module_adjacency": [list(r) for r in cell.matrix], "module_operations": list(cell.ops),
                 "trainable_parameters": 1000 + index}
        repeats = [{"final_test_accuracy": 0.90 + 0.01 * r + 0.001 * i, "final_validation_accuracy": 0.89,
                    "final_train_accuracy": 1.0, "final_training_time": 100.0 + r} for r in range(3)]
        payload[cell.module_hash()] = [fixed, {"108": repeats, "36": repeats[:1]}]
    return payload


def test_json_export_max_and_mean(tmp_path: Path, space: NB101Space) -> None:
    path = tmp_path / "nb101_export.json"
    path.write_text(json.dumps(_export(space)))
    frame = read_benchmark("nb101", path, space=space).table.to_pandas()
    test108 = frame[(frame.split == "test") & (frame.epochs == 108)].sort_values("arch_index")
    assert list(test108["arch_index"]) == list(CELLS)
    assert list(test108["arch"]) == [space.hash_of(space.arch(i)) for i in CELLS]
    assert test108["accuracy"].iloc[0] == pytest.approx(92.0)  # max of 90, 91, 92 %
    assert test108["train_seconds"].iloc[0] == pytest.approx(101.0)
    assert test108["params"].iloc[1] == 1000 + CELLS[1]
    assert "nb101 repeats=max" in test108["source"].iloc[0]
    assert set(frame["split"]) == {"train", "valid", "test"} and set(frame["epochs"]) == {36, 108}
    mean = read_benchmark("nb101", path, space=space, nb101_repeats="mean").table.to_pandas()
    row = mean[(mean.split == "test") & (mean.epochs == 108) & (mean.arch_index == CELLS[0])]
    assert row["accuracy"].iloc[0] == pytest.approx(91.0)


def test_csv_with_adjacency_and_ops_columns(tmp_path: Path, space: NB101Space) -> None:
    lines = ["adjacency,ops,test_acc"]
    for index in CELLS:
        cell = space.cell(space.arch(index))
        flat = "".join(str(v) for row in cell.matrix for v in row)
        ops = json.dumps(list(cell.ops)).replace('"', '""')
        lines.append(f'{flat},"{ops}",0.9{index % 10}')
    path = tmp_path / "nb101.csv"
    path.write_text("\n".join(lines) + "\n")
    options = CsvOptions([parse_column_mapping("test_acc=cifar10:test:108")])
    with pytest.raises(InputError, match="fractions\\?"):
        read_benchmark("nb101", path, fmt="csv", csv_options=options, space=space)
    options.accuracy_scale = 100.0
    frame = read_benchmark("nb101", path, fmt="csv", csv_options=options, space=space).table.to_pandas()
    assert sorted(frame["arch_index"]) == list(CELLS)
    assert sorted(frame["accuracy"]) == pytest.approx(sorted(100 * (0.9 + (i % 10) / 100) for i in CELLS))


def test_bad_nb101_files_are_one_line_errors(tmp_path: Path, space: NB101Space) -> None:
    store = Store(str(tmp_path / "store"))
    export = _export(space)
    first, second = list(export)
    swapped = {first: export[second], second: export[first]}
    no_test = json.loads(json.dumps(export))
    for repeat in no_test[first][1]["108"]:
        del repeat["final_test_accuracy"]
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2")
    cases = [
        ("swapped.json", swapped, "has the graph of hash"),
        ("list.json", [1, 2], "holds a JSON list; expected"),
        ("notpair.json", {first: {"fixed": 1}}, "is not a \\[fixed_stats, computed_stats\\] pair"),
        ("notest.json", no_test, "has no final_test_accuracy"),
    ]
    for name, payload, message in cases:
        path = tmp_path / name
        path.write_text(json.dumps(payload))
        with pytest.raises(InputError, match=message) as err:
            import_benchmark(store, "nb101", path, space=space)
        assert "\n" not in str(err.value) and name in str(err.value)
    with pytest.raises(InputError, match="not readable JSON"):
        import_benchmark(store, "nb101", broken, space=space)
    with pytest.raises(InputError, match="unknown repeats aggregation 'median'"):
        import_benchmark(store, "nb101", broken, space=space, nb101_repeats="median")
    assert store.part_files("accuracies") == []
