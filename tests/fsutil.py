"""Making a folder read-only for a test, the way a user meets it (permissions or a read-only mount).

As a normal user, removing the write bits is enough. Root ignores permission bits, so there the
folder is bind-mounted read-only onto itself (writes then fail with EROFS, as on a read-only share);
where neither works (root without the right to mount) the test is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    path = Path(path)
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
        for p, mode in modes.items():
            p.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    if shutil.which("mount") is None:
        pytest.skip("running as root without `mount`: cannot make a folder read-only")
    done = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"running as root and cannot bind-mount a read-only folder: {done.stderr.strip()}")
    try:
        remount = subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], capture_output=True, text=True)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")
        yield
    finally:
        subprocess.run(["umount", str(path)], capture_output=True, text=True, check=True)
