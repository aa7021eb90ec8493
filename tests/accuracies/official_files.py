"""Tiny benchmark files in the official layouts, built with the benchmark packages' own classes.

NAS-Bench-201 and NATS-Bench store per architecture and budget an ``ArchResults`` state dict holding
``ResultsCount`` trials; we build real ones (a few architectures, two seeds, short curves) and save
them exactly as the official files are saved: ``torch.save`` of ``{meta_archs, arch2infos,
evaluated_indexes}`` for NB201, ``nats_bench.pickle_save`` of a directory (``meta.pickle.pbz2`` +
``<index>.pickle.pbz2``) or of one archive dict for NATS-Bench.

Every accuracy is derived from (index, dataset, split, epochs, seed) by :func:`accuracy`, so tests know
the seed mean to expect without storing tables.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

#: eval sets per dataset, as NB201/NATS record them
EVAL_SETS = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("x-valid", "x-test", "ori-test"),
    "ImageNet16-120": ("x-valid", "x-test", "ori-test"),
}
SEEDS = (777, 888)
PARAMS_M = 0.5
FLOPS_M = 70.0
EPOCH_SECONDS = 2.0


def accuracy(index: int, dataset: str, split: str, epochs: int, seed: int) -> float:
    """A deterministic, distinct-looking accuracy in percent for one trial."""
    base = {"cifar10-valid": 80.0, "cifar10": 85.0, "cifar100": 60.0, "ImageNet16-120": 35.0}[dataset]
    return base + (index % 7) + 0.5 * list(EVAL_SETS[dataset] + ("train",)).index(split) + epochs / 100 + (seed - 777) / 1000


def expected_mean(index: int, dataset: str, split: str, epochs: int) -> float:
    return sum(accuracy(index, dataset, split, epochs, s) for s in SEEDS) / len(SEEDS)


def arch_results(module, index: int, arch: str, epochs: int, datasets=tuple(EVAL_SETS)):
    """An ``ArchResults`` (of ``module``: nas_201_api or nats_bench) with two seeds per dataset."""
    results = module.ArchResults(index, arch)
    for dataset in datasets:
        for seed in SEEDS:
            final = accuracy(index, dataset, "train", epochs, seed)
            train_acc = {e: final - (epochs - 1 - e) * 0.1 for e in range(epochs)}
            losses = {e: 1.0 / (e + 1) for e in range(epochs)}
            trial = module.ResultsCount(dataset, None, train_acc, losses, PARAMS_M, FLOPS_M,
                                        {"arch_str": arch, "channel": 16, "num_cells": 5, "class_num": 10},
                                        seed, epochs, [0.01])
            trial.update_train_info(train_acc, None, losses, {e: EPOCH_SECONDS for e in range(epochs)})
            accs, times = {}, {}
            for split in EVAL_SETS[dataset]:
                value = accuracy(index, dataset, split, epochs, seed)
                for e in range(epochs):
                    accs[f"{split}@{e}"] = value - (epochs - 1 - e) * 0.1
                    times[f"{split}@{e}"] = 0.5
            trial.update_eval(accs, {k: 0.5 for k in accs}, times)
            results.update(dataset, seed, trial)
    return results


def write_nb201_pth(path: Path, meta_archs: list[str], indices: list[int]) -> Path:
    """An official-layout NAS-Bench-201 .pth: 'less' (12 epochs) and 'full' (200 epochs) per architecture."""
    import nas_201_api
    import torch

    arch2infos = {i: {"less": arch_results(nas_201_api, i, meta_archs[i], 12).state_dict(),
                      "full": arch_results(nas_201_api, i, meta_archs[i], 200).state_dict()} for i in indices}
    torch.save({"meta_archs": list(meta_archs), "arch2infos": arch2infos, "evaluated_indexes": list(indices)}, path)
    return path


def nats_records(meta_archs: list[str], indices: list[int], budgets: tuple[int, ...]) -> dict[int, dict]:
    import nats_bench

    return {i: {f"{hp:02d}" if hp < 100 else str(hp): arch_results(nats_bench, i, meta_archs[i], hp).state_dict()
                for hp in budgets} for i in indices}


def write_nats_directory(directory: Path, meta_archs: list[str], indices: list[int], budgets: tuple[int, ...]) -> Path:
    """The fast-mode layout: meta.pickle.pbz2 + one <index:06d>.pickle.pbz2 per architecture."""
    import nats_bench

    directory.mkdir(parents=True, exist_ok=True)
    nats_bench.pickle_save({"meta_archs": list(meta_archs)}, str(directory / "meta.pickle"))
    for index, record in nats_records(meta_archs, indices, budgets).items():
        nats_bench.pickle_save(record, str(directory / f"{index:06d}.pickle"))
    return directory


def write_nats_archive_file(path_stem: Path, meta_archs: list[str], indices: list[int], budgets: tuple[int, ...]) -> Path:
    """The one-file layout: ``<stem>.pickle.pbz2`` holding {meta_archs, arch2infos, evaluated_indexes}."""
    import nats_bench

    payload = {"meta_archs": list(meta_archs), "arch2infos": nats_records(meta_archs, indices, budgets),
               "evaluated_indexes": list(indices)}
    nats_bench.pickle_save(payload, str(path_stem) + ".pickle")
    return Path(str(path_stem) + ".pickle.pbz2")


def tar_directory(directory: Path, archive: Path) -> Path:
    with tarfile.open(archive, "w") as tar:
        tar.add(directory, arcname=directory.name)
    return archive
