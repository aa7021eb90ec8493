"""Naming where accuracies came from: a file's name plus its sha256, checked to exist first.

Why sha256 and not a path: the same benchmark file sits at different paths on every machine, and two
releases of a benchmark share a name (NB201 v1_0 and v1_1 differ in which runs they hold), so only the
content hash tells a reader of the store which numbers they are looking at.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from naswot_ray.errors import InputError

_CHUNK = 1 << 20


def existing_path(path: str | Path, expected: str) -> Path:
    """``path`` as a Path, or a one-line InputError naming it and what was expected there."""
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise InputError(f"{str(path)!r} not found; expected {expected}")
    return resolved


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(block)
    except OSError as err:
        raise InputError(f"{str(path)!r} cannot be read ({err.strerror})") from None
    return digest.hexdigest()


def file_source(path: Path, note: str = "") -> str:
    """``<name> sha256:<hex>`` (plus ``; <note>`` for import options that change the values)."""
    label = f"{path.name} sha256:{sha256_of(path)}"
    return f"{label}; {note}" if note else label


def directory_source(directory: Path, files: Iterable[Path], note: str = "") -> str:
    """A directory named by the sha256 of its files' (relative name, sha256) list, in name order."""
    digest = hashlib.sha256()
    for file in sorted(files, key=lambda p: p.name):
        digest.update(f"{file.relative_to(directory)}\x00{sha256_of(file)}\n".encode())
    label = f"{directory.name}/ sha256:{digest.hexdigest()}"
    return f"{label}; {note}" if note else label


__all__ = ["existing_path", "sha256_of", "file_source", "directory_source"]
