"""The on-disk table of all NB101 cells: built once from our enumeration, then loaded in a second.

Why a cache: enumerating the 423,624 cells takes about a minute of CPU, and every process that
scores NB101 needs the table (index <-> hash <-> cell). The table is a compressed ``.npz`` in the
user cache directory, ``$NASWOT_RAY_CACHE`` (a directory) if set, else ``~/.cache/naswot-ray``:

* ``nb101_cells_v1.npz`` for the full space; ``nb101_cells_v1_max<V>.npz`` for the small test
  spaces limited to ``max_vertices`` < 7 (their indices differ from the full space's);
* arrays, one row per cell, **sorted by hash** (our index = position in hash order):
  ``hash`` (S32, the module hash), ``num_vertices`` (uint8), ``bits`` (uint32, the upper-triangle
  edge bits in the enumeration's column-major order, bit x + y(y-1)/2 for edge x -> y) and
  ``labels`` (int8, shape (n, 5): interior op labels 0/1/2 = conv3x3/conv1x1/maxpool, padded -1);
  the matrix and ops are the benchmark's stored (first-found) form;
* written to a temporary file and ``os.replace``-d into place, under a file lock, so concurrent
  first users neither read a half-written file nor all build it.

Building takes about two minutes of CPU for the full space. With ``progress`` the build shows its own
progress bar (cells hashed, of 423,624) on stderr, so a first run says what it is doing instead of
sitting at 0 % of its scoring bar; ``score-all`` builds it in the driver, with the bar, before any
scorer starts (``NB101Space.prepare``, which the engine calls before any scorer starts).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from naswot_ray.errors import InputError
from naswot_ray.spaces.nb101.enumeration import EnumeratedCells, check_vertex_count, enumerate_cells, expected_size
from naswot_ray.spaces.nb101.graph import MAX_VERTICES, Cell, cell_from_labels

CACHE_ENV = "NASWOT_RAY_CACHE"
CACHE_VERSION = 1
_LABEL_WIDTH = MAX_VERTICES - 2

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "naswot-ray"


def default_cache_path(max_vertices: int = MAX_VERTICES) -> Path:
    suffix = "" if max_vertices == MAX_VERTICES else f"_max{max_vertices}"
    return cache_dir() / f"nb101_cells_v{CACHE_VERSION}{suffix}.npz"


@dataclass(frozen=True)
class NB101Table:
    """All cells with at most ``max_vertices`` vertices, in hash order (row i = index i)."""

    max_vertices: int
    hashes: np.ndarray  # (n,) S32, sorted
    num_vertices: np.ndarray  # (n,) uint8
    bits: np.ndarray  # (n,) uint32
    labels: np.ndarray  # (n, 5) int8, -1 padded

    def __len__(self) -> int:
        return len(self.hashes)

    def hash_at(self, index: int) -> str:
        return self.hashes[index].decode("ascii")

    def cell_at(self, index: int) -> Cell:
        n = int(self.num_vertices[index])
        return cell_from_labels(int(self.bits[index]), n, self.labels[index, : n - 2].tolist())

    def index_of_hash(self, module_hash: str) -> int | None:
        key = module_hash.encode("ascii")
        pos = int(np.searchsorted(self.hashes, key))
        if pos < len(self.hashes) and self.hashes[pos] == key:
            return pos
        return None


def table_from_groups(groups: list[EnumeratedCells], max_vertices: int) -> NB101Table:
    """Sort the enumeration's per-V results into a table (row order = hash order)."""
    hashes: list[str] = []
    num_vertices, bits, labels = [], [], []
    for group in groups:
        count = len(group)
        hashes.extend(group.hashes)
        num_vertices.append(np.full(count, group.num_vertices, dtype=np.uint8))
        bits.append(group.bits.astype(np.uint32))
        padded = np.full((count, _LABEL_WIDTH), -1, dtype=np.int8)
        padded[:, : group.num_vertices - 2] = group.labels
        labels.append(padded)
    hash_array = np.array(hashes, dtype="S32")
    order = np.argsort(hash_array, kind="stable")
    return NB101Table(
        max_vertices=max_vertices,
        hashes=hash_array[order],
        num_vertices=np.concatenate(num_vertices)[order],
        bits=np.concatenate(bits)[order],
        labels=np.concatenate(labels)[order],
    )


def write_table(table: NB101Table, path: Path) -> None:
    """Write ``table`` to ``path`` atomically (temporary file in the same folder, then ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(
                handle,
                version=np.int64(CACHE_VERSION),
                max_vertices=np.int64(table.max_vertices),
                hash=table.hashes,
                num_vertices=table.num_vertices,
                bits=table.bits,
                labels=table.labels,
            )
        os.chmod(tmp_name, 0o644)  # mkstemp creates 0600; the table is shareable, non-secret data
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def _read(path: Path, max_vertices: int) -> NB101Table | None:
    """The table at ``path``, or None when it is missing, from another version, or inconsistent."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != CACHE_VERSION or int(data["max_vertices"]) != max_vertices:
                return None
            table = NB101Table(
                max_vertices=max_vertices,
                hashes=data["hash"],
                num_vertices=data["num_vertices"],
                bits=data["bits"],
                labels=data["labels"],
            )
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    n = expected_size(max_vertices)
    shapes_ok = (
        table.hashes.shape == (n,)
        and table.hashes.dtype == np.dtype("S32")
        and table.num_vertices.shape == (n,)
        and table.bits.shape == (n,)
        and table.labels.shape == (n, _LABEL_WIDTH)
    )
    if not shapes_ok or not bool(np.all(table.hashes[1:] > table.hashes[:-1])):
        return None
    return table


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an advisory lock next to ``path`` (POSIX); elsewhere rely on the atomic replace alone."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_nb101_cache(path: str | Path | None = None, workers: int = 1, max_vertices: int = MAX_VERTICES,
                      on_vertex_count: Callable[[EnumeratedCells], None] | None = None,
                      progress: bool = False) -> Path:
    """Enumerate the cells and (re)write the cache file; returns its path.

    ``on_vertex_count`` is passed to :func:`enumerate_cells` (e.g. ``naswot-ray spaces build`` prints each
    V); ``progress`` shows a bar of cells hashed on stderr.
    """
    from tqdm import tqdm

    check_vertex_count(max_vertices)
    target = Path(path) if path is not None else default_cache_path(max_vertices)
    started = time.perf_counter()
    with tqdm(total=expected_size(max_vertices), desc="building the NB101 cell table", unit="cell",
              disable=not progress, file=sys.stderr, dynamic_ncols=True, unit_scale=True) as bar:
        groups = enumerate_cells(max_vertices, workers=workers, on_vertex_count=on_vertex_count,
                                 on_hashed=bar.update)
    table = table_from_groups(groups, max_vertices)
    write_table(table, target)
    log.info("NB101 cell table (%d cells) written to %s in %.1f s", len(table), target, time.perf_counter() - started)
    return target


_MEMO: dict[tuple[int, Path], NB101Table] = {}
_MEMO_LOCK = threading.Lock()


def load_nb101_table(max_vertices: int = MAX_VERTICES, path: str | Path | None = None, workers: int = 1,
                     *, progress: bool = False) -> NB101Table:
    """The cell table, read from the cache; built there first if missing or unreadable (``progress``: with a
    progress bar on stderr).

    Memoised per (max_vertices, path) within the process, so every space object shares one copy.
    """
    check_vertex_count(max_vertices)
    if workers < 1:
        raise InputError(f"NB101 enumeration workers {workers!r} must be >= 1")
    target = Path(path).expanduser().resolve() if path is not None else default_cache_path(max_vertices).resolve()
    key = (max_vertices, target)
    with _MEMO_LOCK:
        if key not in _MEMO:
            _MEMO[key] = _read_or_build(max_vertices, target, workers, progress)
        return _MEMO[key]


def is_cached(max_vertices: int = MAX_VERTICES, path: str | Path | None = None) -> bool:
    """Whether a valid table is already cached (or loaded in this process): loading it is then quick."""
    target = Path(path).expanduser().resolve() if path is not None else default_cache_path(max_vertices).resolve()
    return (max_vertices, target) in _MEMO or _read(target, max_vertices) is not None


def _read_or_build(max_vertices: int, path: Path, workers: int, progress: bool = False) -> NB101Table:
    table = _read(path, max_vertices)
    if table is not None:
        return table
    with _exclusive(path):
        table = _read(path, max_vertices)  # another process may have built it while we waited
        if table is None:
            log.warning(
                "building the NB101 cell table (%d cells) at %s; first use only%s",
                expected_size(max_vertices),
                path,
                ", about a minute of CPU" if max_vertices == MAX_VERTICES else "",
            )
            build_nb101_cache(path, workers=workers, max_vertices=max_vertices, progress=progress)
            table = _read(path, max_vertices)
    if table is None:
        raise RuntimeError(f"NB101 cell table at {path} could not be read back after building it")
    return table
