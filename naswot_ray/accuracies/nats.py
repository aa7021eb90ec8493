"""Importing NATS-Bench (TSS = the NB201 cells, SSS = the 32,768 channel configurations).

NATS-Bench ships its results in three layouts, all read through the ``nats_bench`` package
(``pip install naswot-ray[benchmarks]``):

* a directory (``NATS-tss-v1_0-3ffb9-simple/``): ``meta.pickle.pbz2`` with the arch list, plus one
  ``<index>.pickle.pbz2`` per architecture holding ``{hp: ArchResults state}`` -- the API's
  ``fast_mode``; we import the architectures whose files are present;
* the same directory packed as a ``.tar`` (the official download), unpacked to a temporary directory;
* one archive file (``NATS-tss-v1_0-3ffb9-full.pickle.pbz2``) with ``{meta_archs, arch2infos,
  evaluated_indexes}`` -- the API's normal mode.

Budgets ("hp") are the number of training epochs: TSS 12 and 200, SSS 01, 12 and 90.

**Security.** These files are bz2-compressed pickles, which can run code when loaded. They are loaded
only from the path the user names; import only files from a source you trust.
"""

from __future__ import annotations

import re
import tarfile
import tempfile
from pathlib import Path

from naswot_ray.accuracies.archresults import walk_or_fail
from naswot_ray.accuracies.nb201_official import check_meta_archs, require_package
from naswot_ray.accuracies.schema import AccuracyRows
from naswot_ray.accuracies.sources import directory_source, existing_path, file_source
from naswot_ray.errors import InputError
from naswot_ray.spaces import SearchSpace

META = "meta.pickle.pbz2"
_ARCH_FILE = re.compile(r"^(\d+)\.pickle\.pbz2$")
KINDS = {"tss": "topology", "sss": "size"}


def expected_layout(kind: str) -> str:
    return (f"a NATS-Bench {kind} directory ({META} + <index>.pickle.pbz2 files), its .tar archive, "
            "or a .pickle.pbz2 file with keys meta_archs, arch2infos, evaluated_indexes")


def import_nats(path: str | Path, space: SearchSpace, kind: str) -> tuple[AccuracyRows, list[str]]:
    """Rows for every architecture present, every budget, dataset and split; plus warnings."""
    if kind not in KINDS:
        raise InputError(f"unknown NATS-Bench search space {kind!r}; valid choices: {', '.join(KINDS)}")
    nats_bench = require_package("nats_bench", "nats_bench")
    expected = expected_layout(kind)
    source = existing_path(path, expected)
    if source.is_dir():
        return _import_directory(nats_bench, source, source, space, kind, expected, str(path))
    if tarfile.is_tarfile(source):
        with tempfile.TemporaryDirectory(prefix="naswot-nats-") as tmp:
            root = _unpack(source, Path(tmp), expected, str(path))
            rows, warnings = _import_directory(nats_bench, root, source, space, kind, expected, str(path))
        return rows, warnings
    return _import_archive_file(nats_bench, source, space, kind, expected, str(path))


def _unpack(archive: Path, target: Path, expected: str, shown: str) -> Path:
    """Extract a .tar safely (no absolute paths, links or device files) and find the directory with the meta file."""
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
    except (tarfile.TarError, OSError) as err:
        raise InputError(f"{shown!r} cannot be unpacked ({err}); expected {expected}") from None
    metas = sorted(target.rglob(META))
    if len(metas) != 1:
        raise InputError(f"{shown!r} holds {len(metas)} {META} files; expected {expected}")
    return metas[0].parent


def _load(nats_bench, file: Path, shown: str, expected: str):
    try:
        return nats_bench.pickle_load(str(file))
    except Exception as err:  # bz2/pickle raise OSError, EOFError, UnpicklingError, AttributeError...
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"{shown!r}: {file.name} cannot be read ({reason}); expected {expected}") from None


def _import_directory(nats_bench, root: Path, named: Path, space: SearchSpace, kind: str, expected: str,
                      shown: str) -> tuple[AccuracyRows, list[str]]:
    meta_file = root / META
    if not meta_file.is_file():
        raise InputError(f"{shown!r} has no {META}; expected {expected}")
    origin = f"NATS-Bench {kind} {shown!r}"
    meta = _load(nats_bench, meta_file, shown, expected)
    if not isinstance(meta, dict) or "meta_archs" not in meta:
        raise InputError(f"{origin}: {META} has no meta_archs; expected {expected}")
    check_meta_archs(meta["meta_archs"], space, origin, expected)
    files = {int(m.group(1)): root / m.group(0) for m in map(_ARCH_FILE.match, (p.name for p in root.iterdir()))
             if m is not None}
    if not files:
        raise InputError(f"{origin} has no <index>.pickle.pbz2 files; expected {expected}")
    outside = [index for index in files if index >= (space.size or 0)]
    if outside:
        raise InputError(f"{origin}: {files[outside[0]].name} is architecture {outside[0]}, outside space "
                         f"{space.name!r} (0..{(space.size or 0) - 1}); expected {expected}")
    try:
        api = nats_bench.create(str(root), kind, fast_mode=True, verbose=False)
    except Exception as err:  # the package validates with ValueError/AssertionError/KeyError
        raise InputError(f"{origin}: the nats_bench API rejects it ({str(err).splitlines()[0]}); expected {expected}") from None
    source = file_source(named) if named.is_file() else directory_source(root, [meta_file, *files.values()])
    rows = AccuracyRows(space.name, source, origin)
    warnings: set[str] = set()
    for index in sorted(files):
        try:
            api.reload(str(root), index)
        except Exception as err:  # corrupt per-arch file: unpickling or ArchResults errors
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise InputError(f"{origin}: {files[index].name} cannot be read ({reason}); expected {expected}") from None
        for hp, results in api.arch2infos_dict.pop(index).items():  # pop: memory stays flat over the space
            walk_or_fail(rows, index=index, arch=api.meta_archs[index], results=results, epochs=_epochs(hp, origin),
                         warnings=warnings, origin=origin, expected=expected)
    return rows, sorted(warnings)


def _import_archive_file(nats_bench, file: Path, space: SearchSpace, kind: str, expected: str,
                         shown: str) -> tuple[AccuracyRows, list[str]]:
    origin = f"NATS-Bench {kind} file {shown!r}"
    try:  # the API loads the pickle itself (no second in-memory copy) and checks the top-level keys
        api = nats_bench.create(str(file), kind, fast_mode=False, verbose=False)
    except Exception as err:  # bz2/pickle errors for corrupt files, ValueError/KeyError for wrong layouts
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"{origin} cannot be read by the nats_bench API ({type(err).__name__}: {reason}); "
                         f"expected {expected}") from None
    check_meta_archs(api.meta_archs, space, origin, expected)
    if not api.arch2infos_dict:
        raise InputError(f"{origin}: arch2infos is empty; expected {expected}")
    rows = AccuracyRows(space.name, file_source(file), origin)
    warnings: set[str] = set()
    for index in sorted(api.arch2infos_dict):
        if not isinstance(index, int) or not 0 <= index < (space.size or 0):
            raise InputError(f"{origin}: arch2infos has key {index!r}, not an index of space {space.name!r}; "
                             f"expected {expected}")
        for hp, results in api.arch2infos_dict[index].items():
            walk_or_fail(rows, index=index, arch=api.meta_archs[index], results=results, epochs=_epochs(hp, origin),
                         warnings=warnings, origin=origin, expected=expected)
    return rows, sorted(warnings)


def _epochs(hp: object, origin: str) -> int:
    try:
        epochs = int(str(hp))
    except ValueError:
        raise InputError(f"{origin}: training budget {hp!r} is not a number of epochs (expected e.g. '12', '200')") from None
    if epochs <= 0:
        raise InputError(f"{origin}: training budget {hp!r} is not a positive number of epochs")
    return epochs


__all__ = ["import_nats", "expected_layout", "KINDS"]
