"""Importing NDS sweep files (facebookresearch/nds ``data.zip``: ``DARTS.json``, ``ResNet.json``, ...).

A file is a JSON list of records or ``{"top": [...], "mid": [...]}`` (records = top + mid); each record
has ``net`` (the architecture), ``test_ep_top1`` (per-epoch top-1 *error*, %), ``params`` and ``flops``
(raw counts) and ``optim.max_ep``. The accuracy NASWOT correlates is the last epoch's:
``100 - test_ep_top1[-1]``, split ``test`` after ``len(test_ep_top1)`` epochs.

Architectures are keyed as the NDS spaces key them: ``arch_index`` = record position (NASWOT's uid),
``arch`` = ``json.dumps(net, sort_keys=True)``. Reading goes through the space's own file loader
(``with_options(data_file=...)``), so a file whose records do not fit the space is refused here exactly
as ``score-all --nds-data`` would refuse it. The whole file is checked before rows are returned.
"""

from __future__ import annotations

import math
from pathlib import Path

from naswot_ray.accuracies.schema import AccuracyColumn, AccuracyRows
from naswot_ray.accuracies.sources import existing_path, file_source
from naswot_ray.errors import InputError
from naswot_ray.spaces import SearchSpace
from naswot_ray.spaces.nds.data import EXPECTED_LAYOUT, arch_key, read_nds_records

EXPECTED = EXPECTED_LAYOUT + ' with "test_ep_top1" (per-epoch top-1 error, %)'


def nds_dataset(space: SearchSpace) -> str:
    """ImageNet for the ``_in`` spaces, CIFAR-10 for the rest (the NDS sweeps' training sets)."""
    return "imagenet" if space.name.endswith("_in") else "cifar10"


def import_nds(path: str | Path, space: SearchSpace) -> tuple[AccuracyRows, list[str]]:
    """One ``test`` row per record; plus warnings (none so far: every problem is an error)."""
    file = existing_path(path, EXPECTED)
    records, _ = read_nds_records(file)
    space.with_options(data_file=str(file))  # the space's own check that every record belongs to it
    origin = f"NDS file {str(path)!r}"
    rows = AccuracyRows(space.name, file_source(file), origin)
    dataset = nds_dataset(space)
    for position, record in enumerate(records):
        errors = record.get("test_ep_top1")
        if not isinstance(errors, list) or not errors or not _is_number(errors[-1]):
            raise InputError(f"{origin}: record {position} has no numeric test_ep_top1 list; expected {EXPECTED}")
        rows.add(arch_index=position, arch=arch_key(record["net"]),
                 column=AccuracyColumn(dataset, "test", len(errors)), accuracy=100.0 - float(errors[-1]),
                 params=_number_or_none(record.get("params")), flops=_number_or_none(record.get("flops")))
    return rows, []


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def _number_or_none(value: object) -> float | None:
    return float(value) if _is_number(value) else None


__all__ = ["import_nds", "nds_dataset", "EXPECTED"]
