"""Importing the official NAS-Bench-201 file (``NAS-Bench-201-v1_0-e61699.pth`` / ``-v1_1-096897.pth``).

The file is a ``torch.save``-d dict ``{meta_archs, arch2infos, evaluated_indexes}``: ``meta_archs`` the
15,625 cell strings in index order, ``arch2infos[i]`` ``{"less": ..., "full": ...}`` the state of the
``ArchResults`` of the 12-epoch and the 200-epoch budgets. We read it through the ``nas-bench-201``
package (``pip install naswot-ray[benchmarks]``): its API object checks the arch list, and its
``ArchResults.create_from_state_dict`` turns each record into the object whose ``get_metrics`` gives
the seed-mean accuracies (:mod:`.archresults`).

Why records are converted one at a time instead of ``NASBench201API(path)``: that loads every record
into objects at once (tens of GB for v1_1); one at a time keeps memory at the size of the file's data.

**Security.** A ``.pth`` is a pickle. It is loaded only from the path the user names, and with
``torch.load(weights_only=True)``, which refuses anything but plain data; ``trust_pickle=True``
(``--trust-pickle``) allows arbitrary objects and must only be used for files from a trusted source.
"""

from __future__ import annotations

import pickle
from pathlib import Path

from naswot_ray.accuracies.archresults import walk_or_fail
from naswot_ray.accuracies.schema import AccuracyRows
from naswot_ray.accuracies.sources import existing_path, file_source
from naswot_ray.errors import InputError
from naswot_ray.spaces import SearchSpace

EXPECTED = ("a NAS-Bench-201 .pth file (a torch-saved dict with keys meta_archs, arch2infos, evaluated_indexes; "
            "arch2infos[i] = {'less': ..., 'full': ...})")
#: record key -> training epochs (the package maps 'less' to hp '12' and 'full' to hp '200')
BUDGETS: dict[str, int] = {"less": 12, "full": 200}


def require_package(module: str, pip_name: str):
    """Import an optional benchmark package or raise a one-line InputError saying how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(f"the {pip_name!r} package is needed to read this file: "
                         f"pip install {pip_name} (or pip install 'naswot-ray[benchmarks]')") from None


def load_torch_dict(file: Path, *, trust_pickle: bool, expected: str) -> dict:
    """``torch.load`` a user-named file as plain data (or any pickle when trusted); failures are one line."""
    import torch

    try:
        data = torch.load(file, map_location="cpu", weights_only=not trust_pickle)
    except pickle.UnpicklingError as err:
        if "weights only" in str(err).lower() or "weights_only" in str(err):
            raise InputError(f"{str(file)!r} holds Python objects beyond plain data; if you trust this file, rerun "
                             f"with --trust-pickle; expected {expected}") from None
        raise InputError(f"{str(file)!r} is not a readable torch file ({str(err).splitlines()[0]}); "
                         f"expected {expected}") from None
    except Exception as err:  # torch raises RuntimeError/EOFError/zipfile errors for corrupt files
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"{str(file)!r} is not a readable torch file ({reason}); expected {expected}") from None
    return data


def check_meta_archs(meta_archs: object, space: SearchSpace, origin: str, expected: str) -> list[str]:
    """The file's arch list must be the space's, in the space's index order (so indices join)."""
    if not isinstance(meta_archs, (list, tuple)) or not all(isinstance(a, str) for a in meta_archs):
        raise InputError(f"{origin}: meta_archs is not a list of architecture strings; expected {expected}")
    if len(meta_archs) != space.size:
        raise InputError(f"{origin}: meta_archs lists {len(meta_archs)} architectures but space {space.name!r} has "
                         f"{space.size}; expected {expected}")
    for index, arch in enumerate(meta_archs):
        if arch != space.arch(index):
            raise InputError(f"{origin}: meta_archs[{index}] is {arch!r} but index {index} of space {space.name!r} is "
                             f"{space.arch(index)!r}; expected the official index order")
    return list(meta_archs)


def import_nb201_official(path: str | Path, space: SearchSpace, *, trust_pickle: bool = False) -> tuple[AccuracyRows, list[str]]:
    """Rows for every evaluated architecture, both budgets, every dataset and split; plus warnings."""
    api_module = require_package("nas_201_api", "nas-bench-201")
    file = existing_path(path, EXPECTED)
    if file.is_dir():
        raise InputError(f"{str(path)!r} is a directory; expected {EXPECTED}")
    origin = f"NAS-Bench-201 file {str(path)!r}"
    data = load_torch_dict(file, trust_pickle=trust_pickle, expected=EXPECTED)
    if not isinstance(data, dict) or not all(k in data for k in ("meta_archs", "arch2infos", "evaluated_indexes")):
        found = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise InputError(f"{origin} holds {found}; expected {EXPECTED}")
    meta = check_meta_archs(data["meta_archs"], space, origin, EXPECTED)
    try:
        api = api_module.NASBench201API({"meta_archs": meta, "arch2infos": {}, "evaluated_indexes": []}, verbose=False)
    except (AssertionError, ValueError, KeyError) as err:
        raise InputError(f"{origin}: the nas-bench-201 API rejects its meta_archs ({err}); expected {EXPECTED}") from None
    records = data["arch2infos"]
    if not isinstance(records, dict) or not records:
        raise InputError(f"{origin}: arch2infos is empty or not a dict; expected {EXPECTED}")
    rows = AccuracyRows(space.name, file_source(file), origin)
    warnings: set[str] = set()
    for index in sorted(records, key=lambda k: (not isinstance(k, int), k if isinstance(k, int) else 0)):
        if not isinstance(index, int) or not 0 <= index < len(api):
            raise InputError(f"{origin}: arch2infos has key {index!r}; expected architecture indices 0..{len(api) - 1}")
        record = records[index]
        if not isinstance(record, dict) or not any(key in record for key in BUDGETS):
            raise InputError(f"{origin}: arch2infos[{index}] has no 'less'/'full' results; expected {EXPECTED}")
        for key, epochs in BUDGETS.items():
            if key not in record:
                continue
            state = record[key]
            if not isinstance(state, dict) or not {"all_results", "dataset_seed"} <= set(state):
                raise InputError(f"{origin}: arch2infos[{index}][{key!r}] is not an ArchResults state (no "
                                 f"all_results/dataset_seed); expected {EXPECTED}")
            try:
                results = api_module.ArchResults.create_from_state_dict(state)
            except Exception as err:  # a malformed state dict fails inside the package with any error type
                raise InputError(f"{origin}: arch2infos[{index}][{key!r}] is not an ArchResults state "
                                 f"({type(err).__name__}); expected {EXPECTED}") from None
            walk_or_fail(rows, index=index, arch=api.meta_archs[index], results=results, epochs=epochs,
                         warnings=warnings, origin=origin, expected=EXPECTED)
    return rows, sorted(warnings)


__all__ = ["import_nb201_official", "require_package", "load_torch_dict", "check_meta_archs", "EXPECTED"]
