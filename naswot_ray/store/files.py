"""Where a store lives and how a part file becomes visible: whole, or not at all.

Readers list only ``part-*.parquet`` names, so a part is visible exactly when a file of that name
exists, and every writer makes that name appear in one step after the bytes are complete:

- **Local or network filesystem**: write ``.tmp-<name>``, fsync, then ``os.replace`` to the final
  name (an atomic rename on POSIX filesystems, NFS included).
- **Object store** (``s3://``, ``gs://``): there is no rename. The part is serialised in memory first,
  uploaded under the hidden name ``.tmp-<name>``, its size checked against the bytes sent, and only
  then copied server-side to the final name (``CopyObject``: the new object appears with all its bytes
  or not at all) and the hidden upload deleted. An upload interrupted at any point (a killed process,
  a dropped connection, an exception in the middle: pyarrow's S3 stream completes a half-written upload
  when it is closed or garbage-collected) can only ever leave a hidden ``.tmp-`` object behind, which
  no reader lists and ``store compact`` deletes after a day.
- **Staged parts** (``staged=True``: a scorer's rows that only count once the sampler accepts them)
  are written the same way under the hidden name ``.staged-<name>``; :func:`commit` makes them visible
  with one rename (local) or one server-side copy (object store).
"""

from __future__ import annotations

import errno
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from naswot_ray.errors import EnvironmentProblem, InputError

#: hidden name prefix of a written part that is not yet committed (readers only list ``part-*``)
STAGED_PREFIX = ".staged-"
#: hidden name prefix of a part being written (or an upload that never finished)
TMP_PREFIX = ".tmp-"
#: staged parts and unfinished uploads older than this are leftovers of crashed writers (scorers write
#: and commit within minutes; a day leaves a wide margin for a slow commit)
LEFTOVER_AGE_SECONDS = 24 * 3600.0
#: rows per Parquet row group: small enough that min/max statistics let a filtered read skip most
#: of a large compacted part, large enough to keep the footer small
ROW_GROUP_ROWS = 64 * 1024


def open_filesystem(root: str, filesystem: pafs.FileSystem | None = None) -> tuple[pafs.FileSystem, str, bool]:
    """(filesystem, base path, is_local) for a store root: a path, ``file://`` URI or any pyarrow URI.

    A local root that exists but is not a directory is bad input (one line, exit 2).
    """
    if filesystem is not None:
        base = root.split("://", 1)[1].split("?", 1)[0] if "://" in root else root
        return filesystem, base.rstrip("/"), isinstance(filesystem, pafs.LocalFileSystem)
    if "://" in root and not root.startswith("file://"):
        try:
            fs, base = pafs.FileSystem.from_uri(root)
        except Exception as exc:
            raise InputError(f"cannot open store {root!r}: {str(exc).splitlines()[0]}") from None
        return fs, base.rstrip("/"), False
    path = Path(root[len("file://"):] if root.startswith("file://") else root).expanduser()
    if path.exists() and not path.is_dir():
        raise InputError(f"store path {root!r} is a file, not a store directory; give a directory (new or existing)")
    return pafs.LocalFileSystem(), str(path.resolve()).rstrip("/"), True


def part_name(tag: str, seq: int) -> str:
    """A fresh part name: sortable by time, unique across processes and hosts."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    return f"part-{stamp}-{(tag or 'w')[:12]}-{os.getpid()}-{seq:05d}-{uuid.uuid4().hex[:6]}.parquet"


def publish(fs: pafs.FileSystem, is_local: bool, directory: str, name: str, arrow: pa.Table) -> str:
    """Write ``arrow`` as ``directory/name``, visible whole or not at all (module docstring). Returns the path."""
    final = f"{directory}/{name}"
    tmp = f"{directory}/{TMP_PREFIX}{name}"
    if is_local:
        try:
            pq.write_table(arrow, tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
            _fsync_dir(directory)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return final
    data = serialise(arrow)
    hidden = final if name.startswith(STAGED_PREFIX) else tmp
    upload(fs, hidden, data)
    if hidden != final:
        fs.move(hidden, final)  # server-side copy: the final object appears with every byte
    return final


def serialise(arrow: pa.Table) -> pa.Buffer:
    """The Parquet bytes of ``arrow`` (in memory, so an upload never starts from a half-built file)."""
    sink = pa.BufferOutputStream()
    pq.write_table(arrow, sink, compression="zstd", row_group_size=ROW_GROUP_ROWS)
    return sink.getvalue()


def upload(fs: pafs.FileSystem, path: str, data: pa.Buffer | bytes) -> None:
    """Upload ``data`` to ``path`` and check the stored size (a short object is deleted, then an error)."""
    with fs.open_output_stream(path) as out:
        out.write(data)
    size = fs.get_file_info(path).size
    if size != len(data):
        try:
            fs.delete_file(path)
        finally:
            raise OSError(f"upload of {path} stored {size} of {len(data)} bytes")


def commit(fs: pafs.FileSystem, is_local: bool, staged: str) -> str:
    """Make a staged part visible under its final name; returns that name."""
    directory, name = staged.rsplit("/", 1)
    if not name.startswith(STAGED_PREFIX):
        raise ValueError(f"{staged!r} is not a staged part")
    final = f"{directory}/{name[len(STAGED_PREFIX):]}"
    if is_local:
        os.replace(staged, final)
        _fsync_dir(directory)
    else:
        fs.move(staged, final)
    return final


def write_problem(exc: BaseException, root: str, what: str) -> Exception | None:
    """The one-line error for a failed write, or None when the failure may be transient (retry it).

    A read-only store (permissions, a read-only mount, an object store denying writes) is the
    environment's to fix (exit 1); a store path below a file is bad input (exit 2).
    """
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, (NotADirectoryError, FileExistsError)) or getattr(exc, "errno", None) == errno.ENOTDIR:
        return InputError(f"store path {root!r} is not a directory (a file is in the way): cannot write {what}")
    denied = isinstance(exc, PermissionError) or getattr(exc, "errno", None) in (errno.EROFS, errno.EACCES, errno.EPERM)
    if denied or "ACCESS_DENIED" in text or "AccessDenied" in text or "Read-only file system" in text:
        return EnvironmentProblem(f"store {root!r} is read-only here: cannot write {what} ({text}); "
                                  "use a writable store")
    if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return EnvironmentProblem(f"store {root!r} is full: cannot write {what} ({text})")
    return None


def list_dir(fs: pafs.FileSystem, directory: str) -> list[pafs.FileInfo]:
    """The entries directly in ``directory`` ([] when it does not exist)."""
    if fs.get_file_info(directory).type != pafs.FileType.Directory:
        return []
    return fs.get_file_info(pafs.FileSelector(directory, recursive=False, allow_not_found=True))


def is_part(info: pafs.FileInfo) -> bool:
    return info.type == pafs.FileType.File and info.base_name.startswith("part-") and info.base_name.endswith(".parquet")


def is_leftover(info: pafs.FileInfo) -> bool:
    """A staged part never committed, or an upload/write that never finished."""
    return info.type == pafs.FileType.File and info.base_name.startswith((STAGED_PREFIX, TMP_PREFIX))


def _fsync_dir(directory: str) -> None:
    """Persist a rename (the directory entry) so a power cut cannot undo a part that readers saw."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
